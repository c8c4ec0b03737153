"""The plain-arithmetic fast path computes what the formulas engine computes, or declines."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetgen.evaluate import _compile_text, _from_engine
from sheetgen.fastpath import translate

FORMULAS = [
    "=-A1^2",  # Excel: negation binds tighter than ^, so this is (-A1)^2
    "=A1^A2^2",  # and ^ is left-associative
    "=1-A1^2",
    "=(A1+A2)*A3/A1-A2",
    "=A1*A2+A3*A1+A2",
    "=TANH(A1)",
    "=1/(1+EXP(-A1))",
    "=A1-2*A2/3+0.5",
    "=(A1-A2)/TINY",
]


def engine(text: str, values: list[float]) -> object:
    compiled = _compile_text(text)
    assert compiled.function is not None
    return _from_engine(compiled.function(*values))


finite = st.floats(min_value=-3, max_value=3, allow_nan=False).filter(lambda x: abs(x) > 1e-3)


@pytest.mark.parametrize("text", FORMULAS)
@settings(deadline=None, max_examples=60)
@given(a=finite, b=finite, c=finite)
def test_fast_path_equals_the_engine(text: str, a: float, b: float, c: float) -> None:
    compiled = _compile_text(text)
    fast = translate(text, compiled.inputs)
    assert fast is not None
    values = [a, b, c][: len(compiled.inputs)]
    try:
        mine: float | None = fast(values)
    except (ArithmeticError, ValueError):
        mine = None  # the evaluator then asks the engine, which names the Excel error
    theirs = engine(text, values)
    if mine is None or not math.isfinite(mine):
        return
    assert isinstance(theirs, float)
    assert mine == pytest.approx(theirs, rel=1e-14, abs=1e-300)


@pytest.mark.parametrize(
    "text", ['="a"&A1', "=SUM(A1:A2)", "=IF(A1>0,1,0)", "=A1%", "=MAX(A1,A2)", "=A1 A2"]
)
def test_anything_else_is_left_to_the_engine(text: str) -> None:
    assert translate(text, ("A1", "A2")) is None
