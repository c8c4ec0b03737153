"""The feedback workbook: the learner's own file, with every wrong cell marked and explained.

It renders a ``Report`` (nothing is checked again): a root cause gets a red fill, a cell wrong
only because of another an orange one, a blank still to do a blue one, and each a comment
saying what it holds, why it is wrong and what it should be. The learner's file is only read;
the copy is written atomically beside nothing it would overwrite unasked.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from .errors import UsageError
from .fileio import write_atomically
from .package import save_workbook
from .safety import configured_limits, open_workbook
from .verify import CellResult, Report

FILLS = {
    "root": PatternFill("solid", fgColor="00F8CBAD"),  # red: fix this
    "inherited": PatternFill("solid", fgColor="00FFE699"),  # orange: follows from another cell
    "todo": PatternFill("solid", fgColor="00DDEBF7"),  # blue: still to do
}


def annotate(report: Report, out: Path | str, *, force: bool = False) -> Path:
    """Write a copy of ``report.path`` to ``out`` with the report's verdicts on its cells."""
    source, target = Path(report.path), Path(out)
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise UsageError("The feedback copy must not overwrite the learner's workbook.")
    wb = open_workbook(source, configured_limits())
    ws = wb[report.sheet]
    for c in report.cells:
        if c.ok:
            continue
        cell = ws[c.cell]
        cell.fill = FILLS[kind(c)]
        cell.comment = Comment(comment(c), "sheetgen", width=360, height=150)
    return write_atomically(target, lambda tmp: save_workbook(wb, tmp), force=force)


def kind(c: CellResult) -> str:
    """Which fill a non-ok cell gets: ``root``, ``inherited`` or ``todo``."""
    if c.status == "todo":
        return "todo"
    return "inherited" if c.causes else "root"


def comment(c: CellResult) -> str:
    """The comment text: the verdict, what the cell holds, and the explanation."""
    lines = [f"sheetgen: {c.message}" if c.message else f"sheetgen: {c.status}"]
    if c.holds:
        lines.append(f"You wrote: {c.holds}")
    if c.explanation:
        lines.append(c.explanation)
    return "\n".join(lines)
