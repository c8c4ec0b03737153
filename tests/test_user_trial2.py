"""What a learner, a teacher and a teacher's script trip over, found by using an installed
wheel as they do (the README's commands, files other applications saved, the web page, a
class's grading): each test the smallest reproducer of one problem."""

from __future__ import annotations

import pytest

from sheetgen.errors import TemplateError
from sheetgen.layouts.families import resolve_layout


@pytest.mark.parametrize("spec", ["nosuch", "nosuch:a=1", "Network:layers=3-2-1"])
def test_an_unknown_layout_names_the_families_a_user_can_give(spec: str) -> None:
    """`verify --layout nosuch` said "(known: single_neuron)": the neuron, network and
    training families, which a user can give too, were not named."""
    with pytest.raises(TemplateError) as caught:
        resolve_layout(spec)
    said = str(caught.value)
    assert "single_neuron" in said and "sheetgen templates" in said, said
    for name in ("neuron:", "network:", "training:"):
        assert name in said, said
    assert said.count("\n") == 0


def test_a_layer_list_written_with_commas_in_a_spec_says_how_to_write_it() -> None:
    """`--layout network:layers=3,2,1` (the form `build --layers` takes) said only "Layout
    option '2' should look like key=value"."""
    with pytest.raises(TemplateError, match=r"layers=3-2-1"):
        resolve_layout("network:layers=3,2,1")
