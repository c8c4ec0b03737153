"""How a report shows a value: one convention for numbers, errors, text and empty cells.

Every sentence ``sheetgen`` prints about a cell goes through here, so a number reads the same in
a verdict, an explanation and a rendered report (only the number of digits differs).
"""

from __future__ import annotations

import math

from ..workbook.book import CellError, Value

__all__ = ["described", "number", "value"]


def number(x: float, digits: int = 10) -> str:
    """Enough digits to see the difference, few enough to read (``inf`` and ``nan`` as is, a
    negative zero, which a spreadsheet shows as 0, as ``0``)."""
    if not math.isfinite(x):
        return str(x)
    return format(x + 0.0, _SPECS.get(digits) or f".{digits}g")


_SPECS = {digits: f".{digits}g" for digits in range(1, 18)}
"""The format of each number of digits, made once: a report shows tens of thousands."""


def value(v: Value, *, digits: int = 10, empty: str = "empty") -> str:
    """A value as a report shows it: ``empty``, ``#DIV/0!``, ``TRUE``, ``'text'``, a number."""
    if v is None:
        return empty
    if isinstance(v, CellError):
        return v.code
    if isinstance(v, bool):
        return str(v).upper()
    if isinstance(v, str):
        return repr(v)
    return number(v, digits)


def described(v: Value) -> str:
    """A value in words, for a sentence: ``nothing``, ``the error #N/A``, ``the text 'x'``."""
    if v is None:
        return "nothing"
    if isinstance(v, CellError):
        return f"the error {v.code}"
    if isinstance(v, bool):
        return f"the boolean {str(v).upper()}"
    if isinstance(v, str):
        return f"the text {v!r}"
    return number(v)
