"""``sheetgen build -h`` says where a sheet goes without ``-o``: named from its whole spec, not
the article's ``output/single_neuron.xlsx`` whatever the layout."""

from __future__ import annotations

import pytest

from sheetgen.cli import main


def test_the_default_output_is_named_from_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["build", "-h"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "named from the layout and its options" in text
    assert "default output/single_neuron.xlsx" not in text
