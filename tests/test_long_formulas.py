"""A large network's long formulas (a faux row's sum of 161 products) are read and computed by
shortcuts; each is held here to the plain version it stands for, over seeded formulas."""

from __future__ import annotations

import random
import re
import sys

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
