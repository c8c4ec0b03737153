"""A learner's formula that is right wherever the sheet's maths is defined is right.

``verify`` re-evaluates a learner's own formulas under other parameters to catch numbers typed
into a formula (``fragile``). Those parameters must stay where the layout is defined: a
softmax's targets a distribution, a beta in [0, 1), epsilon positive. Outside, a textbook form
equal to the sheet's on every sheet a learner may hold differs from it, and a right sheet was
called wrong: ``-Σ t·LN(p)`` for the stable ``m + LN(s) - Σ t·net`` (equal only when the targets
sum to 1), ``v^0.5`` for ``SQRT(v)`` (a mean square gone negative under a beta of -1.7).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from sheetgen import build, verify_workbook
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import Layout


def _cross_entropy(outputs: tuple[str, ...], targets: tuple[str, ...]) -> Callable[[Layout], str]:
    def formula(lay: Layout) -> str:
        at = lay.by_quantity
        terms = "+".join(
            f"{at[t].at}*LN({at[p].at})" for p, t in zip(outputs, targets, strict=True)
        )
        return f"=-({terms})"

    return formula


def _power_half(quantity: str) -> Callable[[Layout], str]:
    def formula(lay: Layout) -> str:
        text = lay.by_quantity[quantity].formula
        assert text is not None and "SQRT(" in text
        head, _, rest = text.partition("SQRT(")
        inside, _, tail = rest.partition(")")
        return f"{head}{inside}^0.5{tail}"

    return formula


CASES = {
    "softmax loss as -sum t ln p (network)": (
        "network:layers=2-3-3,loss=cross-entropy,faux=none",
        "loss",
        _cross_entropy(
            ("n2_1.output", "n2_2.output", "n2_3.output"), ("target1", "target2", "target3")
        ),
    ),
    "softmax loss as -sum t ln p (data set)": (
        "training:layers=2-2-2,examples=4,loss=cross-entropy,steps=2",
        "step1.example1.loss",
        _cross_entropy(
            ("step1.example1.n2_1.output", "step1.example1.n2_2.output"),
            ("step1.example1.target1", "step1.example1.target2"),
        ),
    ),
    "rmsprop's root as ^0.5": (
        "training:steps=3,optimizer=rmsprop",
        "step3.new.weight",
        _power_half("step3.new.weight"),
    ),
    "adam's root as ^0.5": (
        "training:layers=2-2-1,steps=3,optimizer=adam",
        "step3.new.w1_1_1",
        _power_half("step3.new.w1_1_1"),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_right_form_of_the_formula_is_right(tmp_path: Path, case: str) -> None:
    spec, quantity, formula = CASES[case]
    lay = resolve_layout(spec)
    wb = openpyxl.load_workbook(build(tmp_path / "a.xlsx", spec))
    cell = lay.by_quantity[quantity].at
    wb[lay.sheet][cell] = formula(lay)
    wb.save(tmp_path / "b.xlsx")
    report = verify_workbook(tmp_path / "b.xlsx")
    assert report.ok, [(c.cell, c.status, c.message) for c in report.cells if not c.ok][:3]
    assert {c.cell: c.status for c in report.cells}[cell] == "ok"
