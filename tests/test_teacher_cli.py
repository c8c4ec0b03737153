"""The teacher's commands as a person meets them: mistakes refused in one sentence before any
work, output that reads right for one or many, and ASCII terminals that keep every letter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sheetgen import build
from sheetgen.cli import main
from sheetgen.report.terminal import ascii_fallback

from .test_ods import ods, table


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args",
    [
        ("grade",),
        ("build", "--steps", "0"),
        ("verify",),
        ("grade", "x", "--format", "pdf"),
        ("verify", "--bogus", "x.xlsx"),  # unknown arguments name the command's help too
        ("build", "--bogus"),
        ("build", "one", "two"),
        ("reference", "--bogus"),
        ("grade", "x", "--bogus"),
        ("autograder", "--bogus"),
        ("serve", "--bogus"),
        ("templates", "--bogus"),
    ],
)
def test_argument_errors_are_one_sentence_with_a_help_hint(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "usage:" not in err
    assert err.rstrip().endswith(f"Run 'sheetgen {args[0]} -h' for help.")


def test_annotate_refuses_an_opendocument_by_its_content_before_the_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    renamed = ods(tmp_path / "neuron.xlsx", table("Neuron", ""))  # an .ods named .xlsx
    code, out, err = _run(
        capsys, "verify", str(renamed), "--annotate", str(tmp_path / "feedback.xlsx")
    )
    assert code == 2 and out == "" and "OpenDocument" in err
    assert not (tmp_path / "feedback.xlsx").exists()


def _unwritable(tmp_path: Path) -> Path:
    """A folder nobody may write to, root included."""
    if os.geteuid() == 0:
        return Path("/proc/sys")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_annotate_into_an_unwritable_folder_is_refused_before_the_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = build(tmp_path / "n.xlsx")
    folder = _unwritable(tmp_path)
    code, out, err = _run(capsys, "verify", str(path), "--annotate", str(folder / "f.xlsx"))
    assert code == 2 and out == "" and "Cannot write" in err


@pytest.mark.parametrize("locked", ["hand-outs", "keys"])
def test_a_roster_build_into_an_unwritable_folder_is_refused_before_any_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, locked: str
) -> None:
    folder = _unwritable(tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n1,Ann\n")
    out = (folder if locked == "hand-outs" else tmp_path) / "h"
    keys = (folder if locked == "keys" else tmp_path) / "k"
    args = ["--roster", str(roster), "--keys", str(keys), "-o", str(out)]
    code, _, err = _run(capsys, "build", "--exercise", *args)
    assert code == 2 and f"Cannot write {folder}" in err, err
    assert not (tmp_path / "h").exists() and not (tmp_path / "k").exists()


@pytest.mark.parametrize("inside", ["", "sub/"])
def test_a_path_through_a_regular_file_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, inside: str
) -> None:
    path = build(tmp_path / "n.xlsx")
    (tmp_path / "afile").write_text("a file")
    code, out, err = _run(
        capsys, "verify", str(path), "--annotate", f"{tmp_path}/afile/{inside}o.xlsx"
    )
    assert code == 2 and out == "" and f"{tmp_path / 'afile'} is a file, not a folder." in err
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n1,Ann\n")
    keys = f"{tmp_path}/afile/{inside}keys"
    code, out, err = _run(
        capsys,
        "build",
        "--exercise",
        "--roster",
        str(roster),
        "--keys",
        keys,
        "-o",
        str(tmp_path / "h"),
    )
    assert code == 2 and f"{tmp_path / 'afile'} is a file, not a folder." in err
    assert "permission" not in err and not (tmp_path / "h").exists()


def test_only_wrong_prints_no_empty_table_and_one_is_singular(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = build(tmp_path / "n.xlsx")
    code, out, _ = _run(capsys, "verify", str(path), "--only-wrong")
    assert code == 0 and "verdict" not in out and "----" not in out
    assert out == (
        f"{path}: layout single_neuron, sheet 'Neuron'\n"
        f"OK: all 52 cells of {path} compute the right numbers.\n"
    )  # the verdict, no blank lines where the table would be
    code, out, _ = _run(capsys, "grade", str(path), "--no-progress", "--workers", "1")
    assert code == 0 and "\n1 workbook: 1 all right" in out and "(s)" not in out


def test_an_ascii_terminal_gets_transliterated_names_and_arrows(tmp_path: Path) -> None:
    assert ascii_fallback(UnicodeEncodeError("ascii", "x → y²", 2, 3, "")) == ("->", 3)
    assert ascii_fallback(UnicodeEncodeError("ascii", "y²", 1, 2, "")) == ("^2", 2)
    folder = tmp_path / "Björn Þórsson"
    folder.mkdir()
    build(folder / "neuron.xlsx")
    (tmp_path / "other").mkdir()
    build(tmp_path / "other" / "neuron.xlsx", input=0.2)
    done = subprocess.run(
        [sys.executable, "-m", "sheetgen", "grade", str(tmp_path), "--no-progress"],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"Bjorn Thorsson" in done.stdout and b"?" not in done.stdout
