"""Values of every single cell of each workbook as ``formulas.ExcelModel`` computes them.

Run as a separate process (``python excelmodel_values.py A.xlsx B.xlsx``) so that nothing of
sheetgen (its lazy function table, its direct calls) is loaded: this is the engine's own
answer, printed as JSON ``{path: {"SHEET!B2": value}}``; errors as ``{"error": "#DIV/0!"}``.
"""

import json
import os
import sys

os.environ.setdefault("TQDM_DISABLE", "1")

import formulas
import numpy as np
import schedula as sh
from formulas.tokens.operand import XlError


def plain(value: object) -> object:
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else None
    if isinstance(value, XlError):
        return {"error": str(value)}
    if value is sh.EMPTY or value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return str(value)


def values(path: str) -> dict[str, object]:
    solution = formulas.ExcelModel().loads(path).finish().calculate()
    out = {}
    for key, ranges in solution.items():
        sheet_cell = str(key).split("]", 1)[-1].replace("'", "")
        if ":" in sheet_cell:
            continue
        out[sheet_cell.upper()] = plain(getattr(ranges, "value", ranges))
    return out


if __name__ == "__main__":
    print(json.dumps({p: values(p) for p in sys.argv[1:]}))
