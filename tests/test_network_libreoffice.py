"""LibreOffice recalculates the network and training sheets to the reference's numbers.

openpyxl writes formulas without cached values, so LibreOffice computes every cell when it
loads the file; converting to .xlsx stores those results, which openpyxl reads back with
``data_only=True``. Each cell must match the reference model within the verifier's own
tolerance (``sheetgen.check.verify.tolerance``): 1e-12 relative plus a few ulps of the magnitudes
involved, multiplied along a training run by the accumulated growth of rounding errors
(``sheetgen.layouts.training.training_model``), about the step number for these runs. LibreOffice
stores 15 significant digits, well inside that.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from sheetgen import build
from sheetgen.check.verify import tolerance
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.layouts.layout import Layout

from .support.libreoffice import recalculate_many

pytestmark = pytest.mark.libreoffice

CASES = {
    "net231": ("network:layers=2-3-1", {}),
    "net3442": ("network:layers=3-4-4-2,activation=sigmoid", {}),
    "train200": ("training:steps=200,learning_rate=0.1", {}),
    # A learner's edits, typed into the file: LibreOffice must re-run the whole training.
    "train_edited": ("training:steps=60", {"learning_rate": 1.7, "weight": -1.2, "bias": 0.3}),
    "nettrain221": ("training:layers=2-2-1,steps=30,learning_rate=0.1", {}),
    # A network's training with a learner's edits: the rate, an input, a target, a weight.
    "nettrain_edited": (
        "training:layers=2-3-2,steps=25,activation=sigmoid",
        {"learning_rate": 0.8, "x2": -1.1, "target2": 0.2, "w2_1_3": 1.4, "b1_2": -0.5},
    ),
}


@pytest.fixture(scope="module")
def recalculated() -> Iterator[dict[str, tuple[Layout, dict[str, float], Path]]]:
    """Every case built, edited, and recalculated by one LibreOffice run."""
    with tempfile.TemporaryDirectory(prefix="lo-") as tmp:
        src, out = Path(tmp, "src"), Path(tmp, "out")
        out.mkdir()
        cases = {}
        for key, (spec, edits) in CASES.items():
            lay = resolve_layout(spec)
            path = build(src / f"{key}.xlsx", lay)
            wb = openpyxl.load_workbook(path)
            for quantity, value in edits.items():
                wb[lay.sheet][lay.by_quantity[quantity].at] = value
            wb.save(path)
            cases[key] = (lay, dict(lay.defaults) | edits, out / f"{key}.xlsx")
        recalculate_many([src / f"{key}.xlsx" for key in CASES], out)
        yield cases


@pytest.mark.parametrize("key", list(CASES))
def test_libreoffice_computes_the_reference_numbers(
    recalculated: dict[str, tuple[Layout, dict[str, float], Path]], key: str
) -> None:
    lay, params, path = recalculated[key]
    ref = model_for(lay.settings)(params, lay.settings)
    ws = openpyxl.load_workbook(path, data_only=True)[lay.sheet]
    mismatches = []
    for spec in lay.checked:
        assert spec.quantity is not None
        want, got = ref.values[spec.quantity], ws[spec.at].value
        if not isinstance(got, int | float) or abs(got - want) > tolerance(
            spec.quantity, want, ref
        ):
            mismatches.append(f"{spec.at} {spec.quantity}: LibreOffice {got!r}, reference {want!r}")
    assert not mismatches, mismatches[:5]
    assert len(lay.checked) > 100
