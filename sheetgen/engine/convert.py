"""Calling the ``formulas`` engine's functions: values handed over as the engine takes them (an
empty cell, an error), what they return as a cell shows it (an array formula's element by its
place in its range, a non-finite number as #NUM!, an empty result as 0), and the engine kept
quiet meanwhile."""

from __future__ import annotations

import logging
import math
from types import TracebackType

from ..workbook.book import CellError, Value

__all__ = ["element", "engine_quiet", "from_engine", "to_engine"]


# The engine's dispatcher logs (with a traceback) every error a formula returns as a value,
# #DIV/0! included, and numpy warns of the overflows the engine turns into #NUM!; the report
# shows those per cell. Both are silenced during sheetgen's own calls only: a host that turns
# warnings into errors must not change a verdict, and its logging is as it was afterwards.
_DISPATCH_LOG = logging.getLogger("schedula.utils.sol")


class engine_quiet:
    """Within: the engine's dispatcher does not log and numpy does not warn (see above).

    A class, not a generator-based context manager: entered on every evaluation, where
    ``contextlib``'s machinery cost three times numpy's own ``errstate``."""

    __slots__ = ("_errstate", "_was")

    def __enter__(self) -> None:
        import numpy as np

        self._was = _DISPATCH_LOG.disabled
        _DISPATCH_LOG.disabled = True
        self._errstate = np.errstate(all="ignore")
        self._errstate.__enter__()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            self._errstate.__exit__(kind, error, trace)
        finally:
            _DISPATCH_LOG.disabled = self._was


def element(result: object, row: int, col: int) -> Value:
    """The value an array formula's ``result`` puts ``row`` rows and ``col`` columns from the
    top-left cell of its range, as Excel fills it: a single row or column repeats across the
    range, and a cell beyond the result shows #N/A."""
    import numpy as np

    if not isinstance(result, np.ndarray):
        return from_engine(result)
    array = result.reshape(1, -1) if result.ndim < 2 else result
    if array.ndim != 2 or array.size == 0:
        return CellError("#N/A") if array.size == 0 else from_engine(result)
    rows, cols = array.shape
    r, c = (0 if rows == 1 else row), (0 if cols == 1 else col)
    if r >= rows or c >= cols:
        return CellError("#N/A")
    return from_engine(array[r, c])


def to_engine(value: Value, empty: object) -> object:
    import formulas

    if value is None:
        return empty
    if isinstance(value, CellError):
        return formulas.tokens.operand.XlError(value.code)
    return value


def from_engine(result: object) -> Value:
    if type(result) is float:  # most results: a finite number, as it is
        return result if result - result == 0.0 else CellError("#NUM!")
    if isinstance(result, float):  # numpy's (TANH, EXP, SQRT): as Python's, the same number
        value = float(result)
        return value if value - value == 0.0 else CellError("#NUM!")
    import numpy as np
    import schedula as sh
    from formulas.tokens.operand import XlError

    if isinstance(result, np.ndarray):
        result = result.ravel()[0] if result.size else None
    if type(result) is float:  # most results: a finite number, as it is
        return result if math.isfinite(result) else CellError("#NUM!")
    if isinstance(result, XlError):
        return CellError(str(result))
    if result is sh.EMPTY or result is None:
        return 0.0  # a formula that reads an empty cell shows 0, as in Excel
    if isinstance(result, bool | np.bool_):
        return bool(result)
    if isinstance(result, int | float | np.integer | np.floating):
        value = float(result)
        return value if math.isfinite(value) else CellError("#NUM!")
    return str(result)
