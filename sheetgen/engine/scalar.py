"""The engine's arithmetic on two plain numbers, without its array machinery.

Every ``+``, ``-``, ``*``, ``/`` and ``^`` the ``formulas`` engine evaluates goes through its
``wrap_ufunc`` wrapper: argument parsers, an error check and an ``np.vectorize`` call (35-50 µs
per operation), though for two numbers the wrapper's own inner function is plain Python
arithmetic on ``float(x)`` and ``float(y)`` and a check that the result is finite. A network's
faux row adds dozens of products per cell, so that wrapper was most of verifying one.

:func:`fast` pairs each of those operators with the same Python arithmetic, taken only when
both arguments are a Python ``float`` or ``int`` (never a bool, string, error, empty cell or
range) and the result is a finite float; every other case (a division by zero, an overflow,
a negative number to a fractional power) is handed to the engine's own function, so the
numbers and the errors are the engine's. ``tests/test_fast_engine.py`` holds the two equal.
The result is a Python float where the engine returns a 0-d array holding the same float:
every engine function takes a cell's plain float already, and the evaluator unwraps both.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

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
    from formulas.functions.operators import OPERATORS

    out: dict[int, tuple[Callable[..., Any], Callable[..., Any]]] = {}
    for symbol, arithmetic in _ARITHMETIC.items():
        engine = OPERATORS[symbol]
        out[id(engine)] = (engine, _shortcut(engine, arithmetic))
    return out


def _shortcut(
    engine: Callable[..., Any], arithmetic: Callable[[float, float], float]
) -> Callable[..., Any]:
    def call(x: Any, y: Any) -> Any:
        tx, ty = type(x), type(y)
        if (tx is float or tx is int) and (ty is float or ty is int):
            try:
                result = arithmetic(float(x), float(y))
            except (ArithmeticError, ValueError):  # x/0, an overflowing power: the engine's
                return engine(x, y)
            if type(result) is float and result - result == 0.0:  # finite (not inf, not nan)
                return result
        return engine(x, y)

    return call


def fast(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` itself, or its plain-number shortcut when it is one of the engine's
    arithmetic operators."""
    found = _table().get(id(function))
    return found[1] if found is not None and found[0] is function else function
