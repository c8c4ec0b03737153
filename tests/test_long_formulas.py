"""A large network's long formulas (a faux row's sum of 161 products) are read and computed by
shortcuts; each is held here to the plain version it stands for, over seeded formulas."""

from __future__ import annotations

import random
import re
import sys
from typing import Any

import pytest

from sheetgen import a1


def slow_shape(formula: str) -> tuple[str, dict[str, str]]:
    """``a1.shape`` one reference at a time, written apart: the placeholders ``A1``, ``A2``...
    given to the cells (``$`` and case aside) in order of their first appearance."""
    if any(c in formula for c in "!:\"'["):
        return formula, {}
    cells: dict[str, str] = {}
    out = []
    at = 0
    for found in re.finditer(r"(?<![\w.!$:'\"])\$?([A-Za-z]{1,3})\$?(\d+)(?![\w(!:])", formula):
        ref = (found[1] + found[2]).upper()
        out += [formula[at : found.start()], cells.setdefault(ref, f"A{len(cells) + 1}")]
        at = found.end()
    return "".join([*out, formula[at:]]), cells


def random_formula(rng: random.Random) -> str:
    """A formula such as a learner or the builder writes, and some no one would."""
    pool = [
        rng.choice(["B", "c", "AQ", "xfd", "Zz", "AAAA"])
        + str(rng.choice([1, 5, 9, 10, 67, 1048576, 99999999]))
        for _ in range(rng.randint(1, 12))
    ]
    words = [
        "+",
        "-",
        "*",
        "/",
        "^",
        "(",
        ")",
        ",",
        " ",
        "TANH(",
        "LOG10(",
        "Tiny",
        "1E-5",
        "2",
        "x.B2",
        "B2C",
        "_A1",
        "é",
        "٣",
        "A1(",
        "$",
        "@",
    ]
    parts = ["="]
    for _ in range(rng.randint(0, 1000 if rng.random() < 0.05 else 40)):
        if rng.random() < 0.6:
            ref = rng.choice(pool) if rng.random() < 0.5 else f"D{rng.randint(1, 2000)}"
            if rng.random() < 0.2:
                ref = "$" + ref
            if rng.random() < 0.2:
                ref = re.sub(r"(\d)", r"$\1", ref, count=1)
            parts.append(ref)
        else:
            parts.append(rng.choice(words))
        if rng.random() < 0.7:
            parts.append(rng.choice(["+", "*", "-", "/"]))
    if rng.random() < 0.05:
        parts.append(rng.choice(["!", ":", '"', "'", "["]))
    return "".join(parts)


def test_a_formulas_shape_is_what_naming_each_cell_in_turn_gives() -> None:
    rng = random.Random(22)
    formulas = [random_formula(rng) for _ in range(3000)]
    for count in (255, 256, 257, 600):  # past the placeholders made once, with repeats
        refs = [rng.choice(["$b", "B", "b$"]) + str(rng.randint(1, count)) for _ in range(count)]
        formulas.append("=" + "+".join(f"{c}*C{r}" for r, c in enumerate(refs, 1)))
    many = 0
    for formula in formulas:
        shape, cells = a1.shape(formula)
        assert (shape, cells) == slow_shape(formula), formula
        assert list(cells.items()) == list(slow_shape(formula)[1].items())
        assert all(sys.intern(ref) is ref for ref in cells)
        many += len(cells) > 256
    assert many == 4


@pytest.mark.parametrize("formula", ["", "=", "=1+2", "=TANH(Tiny)", "=B2", "=$b$2*B2"])
def test_a_short_formulas_shape(formula: str) -> None:
    assert a1.shape(formula) == slow_shape(formula)


def random_arithmetic(rng: random.Random) -> str:
    """A formula of cells, numbers, ``+``, ``-``, ``*``, negation and parentheses; now and
    then another operator or a function (which are replayed step by step)."""

    def term(depth: int) -> str:
        pick = rng.random()
        if depth > 3 or pick < 0.45:
            if rng.random() < 0.2:
                return rng.choice(["2", "0.5", "1E-5", "1E+300", "0"])
            return f"{rng.choice('BC')}{rng.randint(1, 9)}"
        if pick < 0.55:
            return f"-{term(depth + 1)}"
        if pick < 0.65:
            return f"({term(depth + 1)})"
        op = rng.choice(["+", "-", "*"] * 30 + ["/", "^", "&", ">"])
        return f"{term(depth + 1)}{op}{term(depth + 1)}"

    if rng.random() < 0.04:
        return "=" + "+".join(f"B{k}*C{k}" for k in range(1, rng.randint(2, 162)))
    text = f"={term(1)}{rng.choice('+-*')}{term(1)}"
    return text if rng.random() < 0.9 else f"{text}+TANH(B1)"


ARGUMENTS = [0.5, -2.0, 0.0, -0.0, 3.0, 1e-300, 1e300, -1e308, 1.7e308, float("inf"), float("nan")]


def test_arithmetic_written_as_python_gives_what_the_replay_gives() -> None:
    """Each formula of plain arithmetic is computed by one generated function where its
    result is finite; held to the step-by-step replay, bit for bit, on seeded numbers
    (overflows among them: there the replay takes over)."""
    from sheetgen.engine.compiled import compile_formula
    from sheetgen.engine.replay import Straight

    rng = random.Random(23)
    direct = 0
    for _ in range(200):
        text = random_arithmetic(rng)
        function = compile_formula(text).function
        if not isinstance(function, Straight):
            continue
        step_by_step = Straight(
            function.pipe,
            list(function.template),
            function.slots,
            function.steps,
            function.output,
            function.filters,
            function._none,
        )  # no symbols: every call replayed
        assert step_by_step._direct is None
        direct += function._direct is not None
        for _ in range(20):
            args = [
                rng.choice(ARGUMENTS) if rng.random() < 0.3 else rng.uniform(-3, 3)
                for _ in range(function.arity)
            ]
            fast, slow = _outcome(function, args), _outcome(step_by_step, args)
            assert fast == slow, (text, args)
    assert direct > 100


def _outcome(function: Any, args: list[float]) -> tuple[str, str]:
    import numpy as np

    try:
        with np.errstate(all="ignore"):
            result = function(*args)
    except Exception as exc:
        return ("raises", type(exc).__name__)
    return (type(result).__name__, result.hex() if type(result) is float else repr(result))
