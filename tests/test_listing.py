"""How much of a large sheet ``verify`` lists: every cell up to ``LISTED``, beyond it only the
cells that need attention (and how many right ones it left out), every cell with ``--all``."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from sheetgen.cli import main
from sheetgen.report.render import LISTED


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


TABLE_ROW = re.compile(r"^[A-Z]+\d+ {2}")


def table_rows(out: str) -> list[str]:
    return [line for line in out.splitlines() if TABLE_ROW.match(line)]


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A right training sheet of a little more than ``LISTED`` cells."""
    path = tmp_path_factory.mktemp("listing") / "t.xlsx"
    assert main(["build", "training", "--steps", "60", "-o", str(path), "--quiet"]) == 0
    return path


def test_a_large_right_sheet_says_how_many_right_cells_it_left_out(
    capsys: pytest.CaptureFixture[str], large: Path
) -> None:
    code, out, _ = run(capsys, "verify", str(large))
    assert code == 0
    total = int(re.search(r"OK: all (\d+) cells", out).group(1))  # type: ignore[union-attr]
    assert total > LISTED
    assert table_rows(out) == []
    assert f"{total} right cells are not listed, as the sheet has more than {LISTED} cells" in out
    assert out.splitlines()[-1].startswith(f"OK: all {total} cells")
    code, out, _ = run(capsys, "verify", str(large), "--all")
    assert code == 0
    assert len(table_rows(out)) == total
    assert "not listed" not in out


def test_a_large_sheet_lists_its_wrong_cells_and_only_those(
    capsys: pytest.CaptureFixture[str], large: Path, tmp_path: Path
) -> None:
    wb = openpyxl.load_workbook(large)
    ws = wb.active
    assert ws is not None
    formulas = [c for row in ws.iter_rows() for c in row if str(c.value).startswith("=")]
    slip = formulas[len(formulas) // 2]
    slip.value = f"=({str(slip.value)[1:]})*1.01"
    wrong = tmp_path / "wrong.xlsx"
    wb.save(wrong)
    code, out, _ = run(capsys, "verify", str(wrong))
    assert code == 1
    listed = table_rows(out)
    assert listed and any(line.startswith(f"{slip.coordinate} ") for line in listed)
    assert all(not line.endswith("  ok") for line in listed)
    assert "right cells are not listed" in out
    assert out.splitlines()[-1].startswith("FAILED:")
    # --only-wrong lists the same cells, with no word on those it left out (as ever)
    _, only, _ = run(capsys, "verify", str(wrong), "--only-wrong")
    assert table_rows(only) == listed
    assert "not listed" not in only


def test_a_small_sheet_still_lists_every_cell(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "n.xlsx"
    assert main(["build", "-o", str(path)]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "verify", str(path))
    assert code == 0
    assert len(table_rows(out)) == 52 and "not listed" not in out


def test_all_and_only_wrong_together_are_refused(
    capsys: pytest.CaptureFixture[str], large: Path
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["verify", str(large), "--all", "--only-wrong"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_help_names_the_limit_the_table_keeps(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    assert f"more than {LISTED} cells" in " ".join(capsys.readouterr().out.split())
