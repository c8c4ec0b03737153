"""Our workbook in a real spreadsheet application: LibreOffice recalculates, edits and renders it.

Three LibreOffice launches in all (each takes seconds): one recalculation, one editing session
that makes all three kinds of learner edits at once, one rendering. Each verdict is then
asserted cell by cell, so batching the edits loses no precision.

The golden workbook LibreOffice saved (``tests/golden/single_neuron.libreoffice.xlsx``,
refreshed by ``scripts/refresh_artifacts.py``) is checked without LibreOffice, in
``test_golden_libreoffice_file_agrees_with_our_engine`` below.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import openpyxl
import pytest

from sheetgen import build, verify_workbook
from sheetgen.check.verify import tolerance
from sheetgen.engine.evaluate import Evaluator
from sheetgen.layouts.families import model_for
from sheetgen.layouts.layout import CellSpec, Layout

from .conftest import resolve
from .support import libreoffice as lo
from .test_sheet import sweep_reference

Params = Mapping[str, float]

GOLDEN = Path(__file__).parent / "golden" / "single_neuron.libreoffice.xlsx"
REL = 1e-14
"""LibreOffice stores 15 significant digits: its numbers match ours to about 1e-15 relative."""


def cached(path: Path, layout: Layout, cells: list[CellSpec]) -> dict[str, object]:
    """The values ``path`` caches for ``cells``, by quantity."""
    ws = openpyxl.load_workbook(path, data_only=True)[layout.sheet]
    return {c.quantity or "": ws[c.at].value for c in cells}


def computed(path: Path, layout: Layout) -> dict[str, object]:
    """What our engine computes for every checked cell of ``path``, by quantity."""
    ev = Evaluator(openpyxl.load_workbook(path))
    values = ev.evaluate((layout.sheet, c.at) for c in layout.checked)
    return {c.quantity or "": values[(layout.sheet, c.at)] for c in layout.checked}


def assert_matches_reference(values: Mapping[str, object], expected: Mapping[str, float]) -> None:
    """LibreOffice computes with the C library's tanh, as the reference does, in the same
    order of operations: only its 15-digit storage separates the two."""
    differ = {
        q: (values[q], want)
        for q, want in expected.items()
        if not isinstance(values[q], int | float)
        or not math.isclose(values[q], want, rel_tol=REL, abs_tol=1e-300)  # type: ignore[arg-type]
    }
    assert not differ, f"quantity: (LibreOffice, reference) {differ}"


def assert_verifier_would_accept(
    lo_values: Mapping[str, object], ours: Mapping[str, object], layout: Layout, params: Params
) -> None:
    """LibreOffice's numbers and our engine's are within the verifier's tolerance of each other.

    Not closer: the formulas engine's tanh is numpy's, one ulp off the C library's now and
    then, and a faux gradient magnifies that by 1/Tiny (the verifier's docstring explains).
    """
    ref = model_for(layout.settings)(params, layout.settings)
    differ = {
        q: (lo_values[q], mine)
        for q, mine in ours.items()
        if not isinstance(mine, int | float)
        or not isinstance(lo_values[q], int | float)
        or abs(lo_values[q] - mine) > tolerance(q, mine, ref)  # type: ignore[operator]
    }
    assert not differ, f"quantity: (LibreOffice, our engine) {differ}"


# --------------------------------------------------------------------------- no LibreOffice needed


def test_golden_libreoffice_file_agrees_with_our_engine(layout: Layout) -> None:
    """The workbook as LibreOffice saved it: its numbers are ours, and verify passes it."""
    ws = openpyxl.load_workbook(GOLDEN)[layout.sheet]
    stale = [c.at for c in layout if c.formula and ws[c.at].value != c.formula]
    assert not stale, f"the template changed: run scripts/refresh_artifacts.py ({stale})"
    assert_libreoffice_file_is_right(GOLDEN, layout)


def assert_libreoffice_file_is_right(path: Path, layout: Layout) -> None:
    """A workbook LibreOffice computed and saved from our built one, at the default inputs."""
    params = dict(layout.defaults)
    reference = model_for(layout.settings)(params, layout.settings).values
    lo_values = cached(path, layout, list(layout.checked))
    assert_matches_reference(lo_values, {q: reference[q] for q in lo_values})
    chart = [c for c in layout if c.decoration and c.kind != "text" and c.kind != "input"]
    sweep = sweep_reference(layout, rows=len(chart) // 5)
    assert_matches_reference(cached(path, layout, chart), {q: v for q, (v, _) in sweep.items()})
    assert_verifier_would_accept(lo_values, computed(path, layout), layout, params)
    report = verify_workbook(path)
    assert report.ok, [c.message for c in report.wrong]


# --------------------------------------------------------------------------- LibreOffice


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("apps") / "single_neuron.xlsx")


@pytest.mark.libreoffice
def test_libreoffice_computes_what_we_compute_and_its_file_verifies(
    built: Path, layout: Layout
) -> None:
    saved = built.with_name("libreoffice.xlsx")
    lo.recalculate(built, saved)
    assert_libreoffice_file_is_right(saved, layout)
    # The numbers we cached when building are the ones LibreOffice shows.
    assert_verifier_would_accept(
        cached(saved, layout, list(layout.checked)),
        cached(built, layout, list(layout.checked)),
        layout,
        dict(layout.defaults),
    )


@pytest.mark.libreoffice
def test_a_learners_edits_in_libreoffice_get_the_right_verdicts(
    built: Path, layout: Layout
) -> None:
    """Change an input, break a formula and type a number over another, all in LibreOffice."""
    at = {q: c.at for q, c in layout.by_quantity.items()}
    edited = built.with_name("edited.xlsx")
    lo.edit(
        built,
        edited,
        {
            at["weight"]: -0.3,  # an input: every cell must follow it
            at["tiny"]: 1e-6,
            at["local.net"]: resolve(layout, "=1-{output}^3"),  # a wrong local gradient
            at["nudge.weight.gradient"]: -0.0081,  # a number typed over a formula
        },
        sheet=layout.sheet,
    )
    report = verify_workbook(edited)
    assert report.parameters["weight"] == -0.3 and report.parameters["tiny"] == 1e-6
    verdicts = {c.quantity: c.status for c in report.cells if not c.ok}
    downstream = ("global.net", "global.input", "global.weight", "global.bias")
    assert verdicts == {
        "local.net": "wrong",
        **dict.fromkeys(downstream, "wrong"),
        "nudge.weight.gradient": "typed",
    }
    # Every other cell is right for the new weight: LibreOffice kept the formulas live.
    assert sum(c.ok for c in report.cells) == len(layout.checked) - len(verdicts)
    # LibreOffice's numbers for the broken sheet are still the ones our engine computes.
    params = {**layout.defaults, **{q: v for q, v in report.parameters.items()}}
    lo_values = cached(edited, layout, list(layout.checked))
    assert_verifier_would_accept(lo_values, computed(edited, layout), layout, params)  # type: ignore[arg-type]


@pytest.mark.libreoffice
def test_the_sheet_renders_to_pdf_and_png(built: Path, tmp_path: Path) -> None:
    pdf = lo.render(built, tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF-")
    if lo.find_pdftoppm() is None:
        pytest.skip("pdftoppm not installed (poppler-utils): PDF checked, PNG not")
    png = lo.pdf_to_png(pdf, tmp_path / "sheet.png")
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000  # a page with content


def test_the_readme_picture_is_there_and_small() -> None:
    picture = Path(__file__).parent.parent / "docs" / "sheet.png"
    assert picture.read_bytes().startswith(b"\x89PNG")
    assert picture.stat().st_size < 300_000
