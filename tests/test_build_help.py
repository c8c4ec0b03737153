"""What a teacher reads before opening a sheet: ``sheetgen build -h`` says where a sheet goes
without ``-o`` (named from its whole spec), and a training sheet's loss chart counts its steps
in whole numbers."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from sheetgen import build
from sheetgen.cli import main
from sheetgen.errors import UsageError
from sheetgen.maths.network import parse_layers


def test_the_default_output_is_named_from_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["build", "-h"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "named from the layout and its options" in text
    assert "default output/single_neuron.xlsx" not in text


@pytest.mark.parametrize(
    "spec",
    [
        "training:steps=3",
        "training:layers=2-2-1,steps=3",
        "training:layers=2-2-1,examples=4,steps=3",
    ],
)
def test_a_loss_charts_steps_are_whole_numbers(tmp_path: Path, spec: str) -> None:
    """Step 1, 2, 3 along the loss chart's x axis, not 1.00, 2.00, 3.00."""
    with zipfile.ZipFile(build(tmp_path / "t.xlsx", spec)) as z:
        xml = z.read("xl/charts/chart1.xml").decode()
    x_axis = xml[xml.index("<c:valAx>") : xml.index("</c:valAx>")]
    assert '<c:numFmt formatCode="0"' in x_axis, x_axis[:400]


@pytest.mark.parametrize(
    ("layers", "said"),
    [
        ("2000-1", "each neuron after the inputs would read 2000 values"),
        ("3-250-1", "each neuron after layer 1 would read 250 values"),
        ("10" + "-190" * 11 + "-1", "2091 neurons, at most 2000"),
    ],
)
def test_layers_too_big_for_a_sheet_say_which_limit(layers: str, said: str) -> None:
    with pytest.raises(UsageError, match=said):
        parse_layers(layers)
