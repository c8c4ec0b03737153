"""The engine's arithmetic on plain numbers, without its array machinery.

Every ``+``, ``-``, ``*``, ``/`` and ``^`` the ``formulas`` engine evaluates goes through its
``wrap_ufunc`` wrapper: argument parsers, an error check and an ``np.vectorize`` call (35-50 µs
per operation), though for two numbers the wrapper's own inner function is plain Python
arithmetic on ``float(x)`` and ``float(y)`` and a check that the result is finite. A network's
faux row adds dozens of products per cell, so that wrapper was most of verifying one.

:func:`fast` pairs each of those operators with the same Python arithmetic, taken only when
both arguments are a float (Python's or numpy's) or an int (never a bool, string, error, empty
cell or range) and the result is a finite float; every other case (a division by zero, an overflow,
a negative number to a fractional power) is handed to the engine's own function, so the
numbers and the errors are the engine's. Negation, TANH, EXP and SQRT of one number are paired
the same way. ``tests/test_scalar_engine.py`` holds each shortcut to the engine.
The result is the number itself where the engine returns a 0-d array holding it: every engine
function takes a cell's plain float already, and the evaluator unwraps both.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

from ..workbook.book import text_number

_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "^": operator.pow,
}


@functools.cache
def _table() -> dict[int, tuple[Callable[..., Any], Callable[..., Any]]]:
    """The engine's operator functions by identity, each with its plain-number shortcut."""
    import numpy as np
    from formulas.functions import get_functions
    from formulas.functions.operators import OPERATORS

    from .function_table import prepare

    prepare()  # the engine's function modules, as compiling a formula loads them
    # Arguments taken as plain numbers: Python's float and int (never bool), and numpy's
    # float64, which a TANH or EXP shortcut returns.
    numbers = frozenset({float, int, np.float64})
    out: dict[int, tuple[Callable[..., Any], Callable[..., Any]]] = {}
    wrong = _wrong_operands()
    read = _text_reader()
    for symbol, arithmetic in _ARITHMETIC.items():
        engine = OPERATORS[symbol]
        out[id(engine)] = (engine, _shortcut(engine, arithmetic, numbers, wrong, read))
    # One argument: the engine's inner function on float(x) is Python's negation, numpy's
    # tanh and exp. EXP is taken only where it cannot overflow (|x| < 700, see
    # writer.cached_values.SAFE_MAGNITUDE): numpy would warn where the engine says #NUM!.
    functions = get_functions()
    unary: dict[Any, Callable[[float], Any]] = {
        OPERATORS["U-"]: operator.neg,
        functions["TANH"]: np.tanh,
        functions["EXP"]: lambda x: np.exp(x) if -700.0 < x < 700.0 else None,
        # SQRT of a number not below 0 (the engine's #NUM! below): Adam's and RMSProp's root.
        functions["SQRT"]: lambda x: np.sqrt(x) if x >= 0.0 else None,
    }
    for engine, maths in unary.items():
        out[id(engine)] = (engine, _unary_shortcut(engine, maths, numbers))
    return out


def _unary_shortcut(
    engine: Callable[..., Any], maths: Callable[[float], Any], numbers: frozenset[type]
) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if len(args) == 1 and type(args[0]) in numbers:
            result = maths(float(args[0]))
            if result is not None and result - result == 0.0:  # finite
                return result  # numpy's float64 for TANH and EXP, as the engine's holds
        return engine(*args)

    return call


def _shortcut(
    engine: Callable[..., Any],
    arithmetic: Callable[[float, float], float],
    numbers: frozenset[type],
    wrong: Callable[[Any, Any], Any],
    read: Callable[[Any], Any],
) -> Callable[..., Any]:
    def call(x: Any, y: Any) -> Any:
        if type(x) in numbers and type(y) in numbers:
            try:
                result = arithmetic(float(x), float(y))
            except (ArithmeticError, ValueError):  # x/0, an overflowing power: the engine's
                return engine(x, y)
            if type(result) is float and result - result == 0.0:  # finite (not inf, not nan)
                return result
            return engine(x, y)
        error = wrong(x, y)
        if error is TEXT_NUMBER:  # text Excel reads as a number ('40%'), float() does not
            return call(read(x), read(y))
        return engine(x, y) if error is None else error

    return call


TEXT_NUMBER = object()
"""What ``_wrong_operands`` answers where an operand is text that ``float`` refuses and
Excel's arithmetic reads as a number: the operation is done again on the numbers read."""


def _percent(v: Any) -> bool:
    """Whether ``v`` is text Excel reads as a number and ``float`` does not: the only such
    :func:`~sheetgen.workbook.book.text_number` reads end in a percent sign (tested first: a
    broken sheet hands the arithmetic millions of labels)."""
    return type(v) is str and v.rstrip().endswith("%") and text_number(v) is not None


def _text_reader() -> Callable[[Any], Any]:
    """What Excel's arithmetic reads a text operand as (``'40%`` -> 0.4: see
    :func:`~sheetgen.workbook.book.text_number`; the engine's own reading, Python's ``float``,
    refuses a percent sign); anything else, or text that is no number, as it is."""
    from formulas.functions import Array

    def read(v: Any) -> Any:
        text = v[()] if type(v) is Array and v.shape == () else v
        if type(text) is not str:
            return v
        number = text_number(text)
        return v if number is None else number

    return read


def _wrong_operands() -> Callable[[Any, Any], Any]:
    """What the engine's arithmetic gives two operands when it does no arithmetic: the first
    error among them, else ``#VALUE!`` where ``float`` refuses one (a text that is no number),
    :data:`TEXT_NUMBER` where that text is a number to Excel; None for anything else, which the
    engine itself answers.

    That is the engine's inner function (the first error, then ``float`` of each operand in
    turn, a ``ValueError`` being ``#VALUE!``) with its 0-d array around the result, without its
    ``np.vectorize`` call: a sheet whose every row moved hands it hundreds of thousands of such
    pairs. Only a plain error, text or number, or a 0-d array holding one (an earlier step's
    result) is taken; a range, an empty cell or anything else goes to the engine.
    """
    import numpy as np
    from formulas.functions import Array
    from formulas.tokens.operand import Error, XlError

    value = Error.errors["#VALUE!"]
    plain = frozenset({float, int, bool, np.float64, str, XlError})

    def wrong(x: Any, y: Any) -> Any:
        if type(x) is Array and x.shape == ():
            x = x[()]
        if type(y) is Array and y.shape == ():
            y = y[()]
        if type(x) not in plain or type(y) not in plain:
            return None
        if type(x) is XlError:
            error = x
        elif type(y) is XlError:
            error = y
        else:
            try:
                float(x), float(y)
            except ValueError:
                if _percent(x) or _percent(y):
                    return TEXT_NUMBER
                error = value
            except Exception:  # an int too large for a float: the engine's own failure
                return None
            else:
                return None  # numbers after all ("1.5"): the engine's arithmetic
        return np.asarray(error, object).view(Array)

    return wrong


def fast(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` itself, or its plain-number shortcut when it is one of the engine's
    arithmetic operators."""
    found = _table().get(id(function))
    return found[1] if found is not None and found[0] is function else function
