"""What a new user trips over, found by using sheetgen as its users do (an installed wheel,
the README's commands, then further): each test the smallest reproducer of one problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from sheetgen import build, verify_workbook
from sheetgen.cli import main
from sheetgen.layouts.families import resolve_layout


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
