"""Training sheets built from data files that should read alike (line ends, encodings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl

from sheetgen.cli import main


def trained_cells(folder: Path, *names: str) -> list[list[Any]]:
    """Each ``folder/NAME.csv`` built into a two-step training sheet (the command must
    succeed), and every cell value of each sheet, in order."""
    cells = []
    for name in names:
        argv = ["build", "training", "--data", str(folder / f"{name}.csv"), "--steps", "2"]
        assert main([*argv, "-o", str(folder / f"{name}.xlsx")]) == 0
        sheet = openpyxl.load_workbook(folder / f"{name}.xlsx").active
        cells.append([c.value for row in sheet for c in row])
    return cells
