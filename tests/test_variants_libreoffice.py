"""Every neuron variant recalculated by LibreOffice gives the reference's numbers.

Built files carry cached values (ours), so LibreOffice must be made to recalculate on load:
``tests.support.libreoffice.recalculate_many`` does, with a private profile, in one LibreOffice
run for all 48 variants (a start-up costs about 5 s here). Its saved copies are read back with
``data_only=True``. LibreOffice writes 15 significant digits, so a cell must match to 1e-13
relative plus the verifier's absolute rounding allowance (which, for faux gradients, scales
with 1/Tiny).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import openpyxl
import pytest

from sheetgen.check.verify import tolerance, verify_workbook
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.layouts.neuron import Options
from sheetgen.writer.build import build

from .support.libreoffice import recalculate_many

pytestmark = pytest.mark.libreoffice

VARIANTS = [
    Options(*v)
    for v in itertools.product(
        ("tanh", "sigmoid", "relu", "linear"),
        ("half-squared", "squared"),
        ("forward", "central"),
        (1, 2, 5),
    )
]
IDS = [f"{o.activation}-{o.loss}-{o.difference}-{o.inputs}" for o in VARIANTS]
REL = 1e-13


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory: pytest.TempPathFactory) -> dict[Options, Path]:
    src = tmp_path_factory.mktemp("built")
    out = tmp_path_factory.mktemp("recalculated")
    built = {o: build(src / f"{i}.xlsx", o.spec) for i, o in zip(IDS, VARIANTS, strict=True)}
    recalculate_many(list(built.values()), out, timeout=900)
    return {o: out / p.name for o, p in built.items()}


@pytest.mark.parametrize("options", VARIANTS, ids=IDS)
def test_libreoffice_computes_the_reference(
    recalculated: dict[Options, Path], options: Options
) -> None:
    layout = resolve_layout(options.spec)
    ref = model_for(layout.settings)(dict(layout.defaults), layout.settings)
    ws = openpyxl.load_workbook(recalculated[options], data_only=True)[layout.sheet]
    wrong = []
    for cell in layout.checked:
        assert cell.quantity is not None
        found, expected = ws[cell.at].value, ref.values[cell.quantity]
        allowed = REL * abs(expected) + tolerance(cell.quantity, 0.0, ref)
        if not isinstance(found, int | float) or abs(found - expected) > allowed:
            wrong.append((cell.at, cell.quantity, found, expected))
    assert not wrong
    assert len(layout.checked) > 50


@pytest.mark.parametrize("options", VARIANTS[::5], ids=IDS[::5])
def test_libreoffice_keeps_the_sheet_verifiable(
    recalculated: dict[Options, Path], options: Options
) -> None:
    """A learner who saves the file from LibreOffice keeps formulas, Tiny and the recorded
    variant, so `verify` still needs no flags."""
    report = verify_workbook(recalculated[options])
    assert report.layout == options.spec
    assert report.ok
