"""The plain-number shortcut of the engine's arithmetic gives the engine's own answers."""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import pytest

from sheetgen.engine.scalar import fast

SYMBOLS = ["+", "-", "*", "/", "^"]
EDGES: list[Any] = [0.0, -0.0, 1, 2, -3, 0.5, -2.5, 1e308, -1e308, 5e-324, 1e-300, 710.0, True]


def _engine(symbol: str) -> Any:
    from formulas.functions.operators import OPERATORS

    return OPERATORS[symbol]


def _plain(result: Any) -> Any:
    """A result as a comparable Python value: the engine's 0-d array unwrapped."""
    import numpy as np

    if isinstance(result, np.ndarray):
        result = result.tolist()
    return result


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return type(a) is type(b) and repr(a) == repr(b)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_shortcut_agrees_with_the_engine(symbol: str) -> None:
    import numpy as np

    engine = _engine(symbol)
    shortcut = fast(engine)
    assert shortcut is not engine
    rng = random.Random(22)
    randoms = [rng.uniform(-1e3, 1e3) for _ in range(30)] + [rng.uniform(-2, 2) for _ in range(30)]
    values = EDGES + randoms
    with np.errstate(all="ignore"):
        for x, y in itertools.product(values, repeat=2):
            want, got = _plain(engine(x, y)), _plain(shortcut(x, y))
            assert _same(got, want), (symbol, x, y, got, want)


@pytest.mark.parametrize("name", ["U-", "TANH", "EXP", "SQRT"])
def test_one_argument_shortcuts_agree_with_the_engine(name: str) -> None:
    import numpy as np
    from formulas.functions import get_functions
    from formulas.functions.operators import OPERATORS

    fast(OPERATORS["+"])  # loads the table (and the engine's function modules)
    engine = OPERATORS[name] if name == "U-" else get_functions()[name]
    shortcut = fast(engine)
    assert shortcut is not engine
    rng = random.Random(7)
    values = [*EDGES, -700.5, 699.9, 709.0, 750.0, math.inf, -math.inf, math.nan]
    values += [rng.uniform(-30, 30) for _ in range(200)]
    with np.errstate(all="ignore"):
        for x in values:
            want, got = _plain(engine(x)), _plain(shortcut(x))
            if isinstance(want, float) and isinstance(got, float):
                assert _same(got, want), (name, x, got, want)
            else:
                assert repr(got) == repr(want), (name, x, got, want)


def test_other_functions_are_left_alone() -> None:
    from formulas.functions import get_functions
    from formulas.functions.operators import OPERATORS

    for function in (OPERATORS["&"], OPERATORS["<"], get_functions()["SINH"]):
        assert fast(function) is function


def _operands() -> list[Any]:
    """Operands a wrong sheet hands the arithmetic: errors, texts (numbers or not), numbers,
    an earlier step's 0-d result, and what the shortcut must leave alone (an empty cell, a
    range, an int too large for a float)."""
    import numpy as np
    import schedula as sh
    from formulas.functions import Array
    from formulas.tokens.operand import Error

    errors = [Error.errors[code] for code in ("#VALUE!", "#DIV/0!", "#NUM!", "#REF!", "#N/A")]
    texts = ["Weight 1", "", " 1.5 ", "1e3", "nan", "inf", "1_000", "TRUE", "x1"]
    numbers: list[Any] = [0.0, -2.5, 3, True, False, np.float64(1.5)]
    arrays = [np.asarray(v, object).view(Array) for v in (*errors[:3], "In 1", 2.0)]
    others = [sh.EMPTY, None, 10**400, np.asarray([[errors[0]]], object).view(Array)]
    return [*errors, *texts, *numbers, *arrays, *others]


def _same_result(got: Any, want: Any) -> bool:
    """The same object as the engine's: type, shape, element type and each element (an error
    the very object the engine returns)."""
    import numpy as np

    if type(got) is not type(want):
        return False
    if not isinstance(want, np.ndarray):
        return _same(got, want)
    if got.shape != want.shape or got.dtype != want.dtype:
        return False
    return all(
        g is w or (type(g) is type(w) and _same(g, w))
        for g, w in zip(got.ravel().tolist(), want.ravel().tolist(), strict=True)
    )


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_errors_and_texts_get_the_engines_answer(symbol: str) -> None:
    import numpy as np

    engine = _engine(symbol)
    shortcut = fast(engine)
    operands = _operands()
    with np.errstate(all="ignore"):
        for x, y in itertools.product(operands, repeat=2):
            try:
                want = engine(x, y)
            except Exception as exc:  # the engine's own failure: the shortcut's too
                with pytest.raises(type(exc)):
                    shortcut(x, y)
                continue
            got = shortcut(x, y)
            if type(got) is float:  # two numbers: the number itself (see the test above)
                assert _same(got, _plain(want)), (symbol, x, y, got, want)
            else:
                assert _same_result(got, want), (symbol, x, y, got, want)


def test_a_numpy_number_is_shown_as_the_same_python_number() -> None:
    """What TANH, EXP and SQRT return (numpy's float64) becomes the cell's value as the
    general conversion makes it: the same number as Python's float, #NUM! when not finite,
    as a 0-d array of it becomes; never numpy's type."""
    import numpy as np

    from sheetgen.engine.convert import from_engine
    from sheetgen.workbook.book import CellError

    for x in [0.5, -0.0, 1e308, 5e-324, math.inf, -math.inf, math.nan]:
        for given in (np.float64(x), np.asarray(x), np.asarray([x])):
            got = from_engine(given)
            if math.isfinite(x):
                assert type(got) is float and math.copysign(1, got) == math.copysign(1, x)
                assert got == x
            else:
                assert got == CellError("#NUM!")
    assert from_engine(np.float64(2.0)) == from_engine(np.asarray(2.0)) == 2.0
