"""The HTML class report, opened in headless Chromium as a teacher's browser would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from html import unescape
from pathlib import Path

import openpyxl
import pytest

from sheetgen import build_exercise
from sheetgen.cli import main
from sheetgen.teacher.grade import ClassReport, grade_class

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# (blank -> the learner's formula); the key for the default blanks of the article's exercise
ANSWERS = {
    "B3": "=C2",
    "C3": "=B2",
    "D3": "=1",
    "E3": "=1-F2^2",
    "F3": "=H2",
    "B4": "=B3*E4",
    "C4": "=C3*E4",
    "D4": "=D3*E4",
    "E4": "=E3*F4",
    "F4": "=F3",
}


def make_class(folder: Path, n: int = 24) -> None:
    """A class with a pattern of mistakes: E3 forgets the square, C4 adds, some stop early."""
    folder.mkdir(exist_ok=True)
    for i in range(n):
        path = build_exercise(folder / f"learner{i:02d}.xlsx", seed=i)
        answers = dict(ANSWERS)
        if i % 3 == 0:
            answers["E3"] = "=1-F2"
        if i % 5 == 0:
            answers["C4"] = "=C3+E4"
        if i % 7 == 0:
            answers = {k: v for k, v in answers.items() if k.endswith("3")}
        wb = openpyxl.load_workbook(path)
        for at, formula in answers.items():
            wb.active[at] = formula
        wb.save(path)
    (folder / "broken.xlsx").write_text("not a workbook")


def class_numbers(result: ClassReport) -> tuple[Counter[str], int]:
    wrong: Counter[str] = Counter()
    readable = 0
    for g in result.graded:
        if g.report is None:
            continue
        readable += 1
        wrong.update(c.cell for c in g.report.cells if c.status not in ("ok", "todo", "waiting"))
    return wrong, readable


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    return subprocess.run(
        [CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ClassReport]:
    base = tmp_path_factory.mktemp("class")
    make_class(base / "returned")
    out = base / "report.html"
    assert main(["grade", str(base / "returned"), "-o", str(out), "--no-progress"]) == 1
    return out, grade_class([base / "returned"], workers=1)


def test_the_report_is_one_self_contained_file(report: tuple[Path, ClassReport]) -> None:
    out, result = report
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 2
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)  # nothing fetched
    assert "<link" not in page and "@import" not in page
    for g in result.graded:
        assert f"<h3>{g.learner}" in page  # one section per learner
    assert "=1-F2" in page  # the most common wrong formula, in plain sight


@pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("SHEETGEN_REQUIRE_CHROMIUM") != "1",
    reason="no chromium (apt-get install chromium)",
)
def test_chromium_shows_the_heat_map_with_the_class_numbers(
    report: tuple[Path, ClassReport], tmp_path: Path
) -> None:
    assert CHROMIUM is not None, "SHEETGEN_REQUIRE_CHROMIUM=1 but no chromium"
    out, result = report
    url = out.resolve().as_uri()
    dom = chromium(["--dump-dom", url], tmp_path / "profile1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Uncaught" not in dom.stderr and "SyntaxError" not in dom.stderr
    wrong, readable = class_numbers(result)
    titles = dict(re.findall(r'<g id="heat-([A-Z]+[0-9]+)">\s*<title>([^<]*)</title>', dom.stdout))
    assert len(titles) == 52  # every checked cell of the article's sheet
    m = re.search(r'data-heat-cells="(\d+)"', dom.stdout)
    assert m is not None and int(m.group(1)) == 52  # the page's own script ran without error
    for cell, title in titles.items():
        found = re.search(r": (\d+) of (\d+) learners wrong", unescape(title))
        assert found is not None, title
        assert (int(found.group(1)), int(found.group(2))) == (wrong[cell], readable), cell
    assert wrong["E3"] >= 8 and wrong["C2"] == 0  # the mistakes the class was given

    shot = tmp_path / "report.png"
    done = chromium(
        ["--hide-scrollbars", "--window-size=1200,1800", f"--screenshot={shot}", url],
        tmp_path / "profile2",
    )
    assert done.returncode == 0 and shot.stat().st_size > 20_000, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_learner_who_moved_the_table_is_counted_at_the_same_cells(tmp_path: Path) -> None:
    from sheetgen.teacher.class_report import heat_counts

    from .test_learner_edits import moved_copy, shifted

    folder = tmp_path / "class"
    folder.mkdir()
    for i, name in enumerate(("stayed", "moved")):
        path = build_exercise(folder / f"{name}.xlsx", seed=i)
        wb = openpyxl.load_workbook(path)
        for at, formula in (ANSWERS | {"E3": "=1-F2", "D4": None}).items():
            wb.active[at] = formula
        wb.save(path)
    moved_copy(folder / "moved.xlsx", folder / "moved.xlsx", 2, 1)
    result = grade_class([folder], workers=1, variants=0)
    moved = next(g.report for g in result.graded if g.report and "moved" in g.path)
    assert shifted("E3", 2, 1) in {c.cell for c in moved.roots}  # the learner's own address
    wrong, todo, n = heat_counts(result)
    assert n == 2 and wrong["E3"] == 2 and todo == {"D4": 2}, (wrong, todo)
    assert not set(wrong) - {"E3", "B4", "C4", "E4"}, wrong
    common = result.summary()["common_roots"]
    assert common[0]["cell"] == "E3" and common[0]["learners"] == 2, common
    assert "Most common root causes (learners): E3 (2)" in result.to_text()
