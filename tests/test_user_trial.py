"""What a new user trips over, found by using sheetgen as its users do (an installed wheel,
the README's commands, then further): each test the smallest reproducer of one problem."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from sheetgen import build, verify_workbook
from sheetgen.cli import main
from sheetgen.layouts.families import resolve_layout
from sheetgen.teacher.roster import read_roster


def _notes(spec: str) -> int:
    return sum(1 for c in resolve_layout(spec) if c.note)


def test_a_data_sets_notes_do_not_grow_with_its_examples() -> None:
    """One explained example is enough: a note on every cell of a 1,000-example data table
    and batch made 32,000 notes, which LibreOffice saves as a 30 MB drawing that `verify`
    then refused as a possible zip bomb."""
    assert _notes("training:layers=2-2-1,examples=1000,steps=2") == _notes(
        "training:layers=2-2-1,examples=2,steps=2"
    )


@pytest.mark.libreoffice
def test_a_thousand_examples_saved_by_libreoffice_verify(tmp_path: Path) -> None:
    from .support.libreoffice import recalculate

    built = build(tmp_path / "big.xlsx", "training:layers=2-2-1,examples=1000,batch=5,steps=1")
    saved = tmp_path / "saved.xlsx"
    recalculate(built, saved)
    assert verify_workbook(saved, variants=0).ok


def test_settings_unchecked_from_step_1_are_not_told_to_use_fewer_than_1_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An epsilon so large that RMSProp's steps are rounding noise from the first step on was
    refused with "use fewer than 1 steps": advice no one can follow."""
    argv = ["build", "training", "--data", "xor", "--optimizer", "rmsprop", "--epsilon", "1e300"]
    assert main([*argv, "--steps", "20", "-o", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "step 1" in err and "fewer than 1" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t.xlsx").exists()


XOR_CSV = "x1,x2,target\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"


@pytest.mark.parametrize(
    "raw",
    [
        # Excel's "Unicode Text (*.txt)": UTF-16 little-endian with a BOM, tab-separated.
        "\ufeff" + XOR_CSV.replace(",", "\t"),
        "\ufeff" + XOR_CSV,
    ],
    ids=["unicode-text-tabs", "utf16-commas"],
)
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_a_utf16_data_file_trains_as_its_utf8_twin(tmp_path: Path, raw: str, codec: str) -> None:
    """A UTF-16 file was read as Windows-1252: "column 'ÿþx\\x001\\x00': '\\x000\\x00' is not a
    number"."""
    (tmp_path / "u16.csv").write_bytes(raw.encode(codec))
    (tmp_path / "u8.csv").write_text(XOR_CSV, encoding="utf-8")
    for name in ("u16", "u8"):
        argv = ["build", "training", "--data", str(tmp_path / f"{name}.csv"), "--steps", "2"]
        assert main([*argv, "-o", str(tmp_path / f"{name}.xlsx")]) == 0
    data = [
        [c.value for row in openpyxl.load_workbook(tmp_path / f"{n}.xlsx").active for c in row]
        for n in ("u16", "u8")
    ]
    assert data[0] == data[1]


def test_a_utf16_roster_is_read(tmp_path: Path) -> None:
    roster = tmp_path / "class.csv"
    roster.write_bytes("id\tname\ns001\tBjörn Þórsson\n".encode("utf-16"))
    assert [(r.id, r.name) for r in read_roster(roster)] == [("s001", "Björn Þórsson")]

