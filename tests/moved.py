"""A built workbook with its whole table moved, as a spreadsheet application moves it: the
tests of what a moved sheet costs and how its verdicts are held start from the same copy."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl


def moved_down(path: Path) -> Path:
    """A copy of ``path`` (beside it) with its whole table one row lower, formulas and the name
    Tiny following it, as a row inserted above the table in a spreadsheet application."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    ws.move_range(ws.dimensions, rows=1, translate=True)
    tiny = wb.defined_names["Tiny"]
    tiny.attr_text = re.sub(r"\$(\d+)$", lambda m: f"${int(m.group(1)) + 1}", tiny.attr_text)
    out = path.with_name(f"{path.stem}_moved.xlsx")
    wb.save(out)
    return out
