"""Cached values of built files: the reference's numbers, which the formulas compute.

Every family's built workbook caches a value beside every formula; each is the reference
model's number to the last bit and agrees with what our engine computes from the formulas
within verify's tolerance, and ``verify`` finds nothing stale. An exercise caches nothing for
its blanks nor for the cells that read them. A cell the model cannot vouch for (no quantity,
or a formula changed after building) gets the engine's value instead.
"""

from __future__ import annotations

import re
import tomllib
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sheetgen import build, build_exercise, verify_workbook
from sheetgen.check.verify import tolerance
from sheetgen.engine.evaluate import Evaluator, Ref, Value, formula_text
from sheetgen.errors import UsageError
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.layouts.layout import Layout, parse_layout, templates_dir
from sheetgen.maths.models import Reference
from sheetgen.workbook.book import CellError
from sheetgen.writer.build import build_workbook, parameters
from sheetgen.writer.cached_values import save_with_cached_values, write_cached_values

FAMILIES = [
    "single_neuron",
    "neuron:activation=tanh,loss=squared,difference=forward,inputs=3,distance=yes",
    "neuron:activation=sigmoid,loss=half-squared,difference=central,inputs=2,distance=yes",
    "network:layers=2-3-1,activation=tanh,loss=half-squared",
    "network:layers=3-2-2,activation=sigmoid,loss=squared",
    "training:steps=50,learning_rate=0.1,activation=tanh,loss=half-squared",
    "training:layers=2-2-1,steps=30,learning_rate=0.1,activation=tanh,loss=half-squared",
    "training:layers=2-2-1,examples=4,batch=3,steps=10,activation=tanh,loss=half-squared",
]


def formula_cells(path: Path) -> tuple[openpyxl.Workbook, list[Ref]]:
    wb = openpyxl.load_workbook(path)
    refs = [
        (ws.title, c.coordinate)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if formula_text(c.value)
    ]
    return wb, refs


def cached(path: Path) -> dict[Ref, object]:
    wb = openpyxl.load_workbook(path, data_only=True)
    return {
        (ws.title, c.coordinate): c.value
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
    }


def allowed(quantity: str, ref: Reference) -> float:
    """verify's tolerance; a chart's secant also carries its faux slope's rounding, times how
    far the weight moved (decorations are never verified, so verify has no rule for them)."""
    want = ref.values[quantity]
    slack = tolerance(quantity, want, ref)
    if quantity.startswith("sweep.") and quantity.endswith(".secant"):
        faux = "nudge.weight.gradient"
        moved = ref.values[quantity.replace(".secant", ".weight")] - ref.values["weight"]
        slack += tolerance(faux, ref.values[faux], ref) * abs(moved)
    return slack


def assert_cache_is_reference_and_engine(
    path: Path, lay: Layout, params: dict[str, float], skip: Iterable[str] = ()
) -> None:
    wb, refs = formula_cells(path)
    engine = Evaluator(wb).evaluate(refs)
    saved = cached(path)
    ref = model_for(lay.settings)(params, lay.settings)
    at = {c.at: c for c in lay}
    assert refs, "a built sheet has formulas"
    for sheet, cell in refs:
        if cell in skip:
            assert saved[(sheet, cell)] is None, f"{cell} reads a blank: nothing to cache"
            continue
        quantity = at[cell].quantity or ""
        got, computed = saved[(sheet, cell)], engine[(sheet, cell)]
        assert isinstance(got, float), (cell, got)
        assert got == ref.values[quantity], f"{cell} caches the reference's number, in full"
        assert isinstance(computed, float)
        assert abs(got - computed) <= allowed(quantity, ref), (cell, quantity, got, computed)


@pytest.mark.parametrize("spec", FAMILIES)
def test_every_family_caches_what_its_formulas_compute(spec: str, tmp_path: Path) -> None:
    lay = resolve_layout(spec)
    path = build(tmp_path / "built.xlsx", lay)
    assert_cache_is_reference_and_engine(path, lay, parameters(lay))
    report = verify_workbook(path, variants=0)
    assert report.ok and not report.warnings, report.warnings


def test_the_cache_follows_the_parameters_built_with(tmp_path: Path) -> None:
    lay = resolve_layout("single_neuron")
    overrides: dict[str, Any] = {"weight": -0.3, "input": 0.9, "tiny": 1e-6}
    path = build(tmp_path / "p.xlsx", lay, **overrides)
    assert_cache_is_reference_and_engine(path, lay, parameters(lay, overrides))
    assert not verify_workbook(path, variants=0).warnings


def reading(wb: openpyxl.Workbook, sheet: str, blanks: set[str], cells: list[str]) -> set[str]:
    """The cells whose formulas read a blank, directly or not, by the engine's dependencies."""
    ev = Evaluator(wb)
    out: set[str] = set()
    changed = True
    while changed:
        changed = False
        for cell in cells:
            if cell not in out and any(
                d[1] in blanks | out for d in ev.dependencies((sheet, cell))
            ):
                out.add(cell)
                changed = True
    return out


@pytest.mark.parametrize(
    ("spec", "blanks"),
    [
        ("single_neuron", None),
        ("single_neuron", "2"),
        ("single_neuron", "E3"),
        ("single_neuron", "nudge.weight.loss"),
        ("network:layers=2-2-1,activation=tanh,loss=half-squared", None),
    ],
)
def test_an_exercise_caches_nothing_that_depends_on_a_blank(
    spec: str, blanks: str | None, tmp_path: Path
) -> None:
    lay = resolve_layout(spec)
    path = build_exercise(tmp_path / "ex.xlsx", lay, blanks=blanks, seed=3)
    wb, refs = formula_cells(path)
    empty = {c.at for c in lay.checked if wb[lay.sheet][c.at].value is None}
    assert empty, "the exercise has blanks"
    readers = reading(wb, lay.sheet, empty, [cell for _, cell in refs])
    saved = cached(path)
    assert all(saved[(lay.sheet, at)] is None for at in empty)
    params = {c.quantity or "": float(wb[lay.sheet][c.at].value) for c in lay if c.kind == "input"}
    assert_cache_is_reference_and_engine(path, lay, params, skip=readers)
    assert verify_workbook(path, variants=0).warnings == ()


def test_a_cell_the_model_cannot_vouch_for_gets_the_engines_value(tmp_path: Path) -> None:
    """No quantity in the model, or a formula changed after building: the engine's number, for
    that cell and the cells that read it; the others keep the reference's."""
    data = tomllib.loads((templates_dir() / "single_neuron.toml").read_text(encoding="utf-8"))
    data["cells"].append({"at": "M2", "quantity": "twice.net", "formula": "={net}*2"})
    lay = parse_layout(data)
    params = parameters(lay)
    wb = build_workbook(lay, params)
    net = lay.by_quantity["net"].at
    wb[lay.sheet][net] = "=B2*C2"  # the bias forgotten, after the layout was built
    path = tmp_path / "changed.xlsx"
    save_with_cached_values(wb, path, lay, params)
    saved = cached(path)
    wb2, refs = formula_cells(path)
    engine: dict[Ref, Value] = Evaluator(wb2).evaluate(refs)
    ref = model_for(lay.settings)(params, lay.settings)
    quantity_at = {c.at: c.quantity or "" for c in lay}
    moved = reading(wb2, lay.sheet, {net}, [cell for _, cell in refs]) | {net}
    assert lay.by_quantity["twice.net"].at in moved
    for sheet, cell in refs:
        if cell in moved:
            assert saved[(sheet, cell)] == engine[(sheet, cell)], cell
        else:
            assert saved[(sheet, cell)] == ref.values[quantity_at[cell]], cell


def test_cells_on_a_circular_path_never_take_the_references_number(tmp_path: Path) -> None:
    data = tomllib.loads((templates_dir() / "single_neuron.toml").read_text(encoding="utf-8"))
    for cell in data["cells"]:
        if cell.get("quantity") == "net":
            cell["formula"] = "={output}+0"  # net reads output, which reads net
    lay = parse_layout(data)
    params = parameters(lay)
    path = tmp_path / "circular.xlsx"
    save_with_cached_values(build_workbook(lay, params), path, lay, params)
    saved = cached(path)
    ref = model_for(lay.settings)(params, lay.settings)
    for quantity in ("net", "output", "error", "loss"):
        got = saved[(lay.sheet, lay.by_quantity[quantity].at)]
        assert got != ref.values[quantity], quantity
    assert saved[(lay.sheet, lay.by_quantity["nudge.output.target"].at)] == ref.values["target"]


@pytest.mark.parametrize(
    ("spec", "overrides", "error"),
    [
        ("single_neuron", {"input": 1e200, "weight": 1e200}, "net"),  # x*w overflows
        # tanh(inf) is 1 in Python, #NUM! in the sheet, and so is the chart's loss
        ("neuron:activation=sigmoid,loss=half-squared,difference=forward,inputs=1,distance=yes",
         {"input": 1.0, "weight": -1000.0}, "output"),  # the sheet's EXP(1000) overflows
    ],
)  # fmt: skip
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the engine's numpy
def test_where_the_sheet_overflows_the_cache_is_what_the_formulas_give(
    spec: str, overrides: dict[str, Any], error: str, tmp_path: Path
) -> None:
    """Python's maths stays finite where a spreadsheet's overflows to #NUM! (tanh(inf) = 1,
    the reference's sigmoid never takes exp of a large number): ``build`` refuses such
    parameters in one sentence, and a sheet written with them all the same caches what the
    engine computes from the formulas, so verify finds nothing stale."""
    lay = resolve_layout(spec)
    with pytest.raises(UsageError, match="overflow"):
        build(tmp_path / "refused.xlsx", lay, **overrides)
    params = {**lay.defaults, **overrides}
    path = tmp_path / "huge.xlsx"
    save_with_cached_values(build_workbook(lay, params), path, lay, params)
    wb, refs = formula_cells(path)
    engine = Evaluator(wb).evaluate(refs)
    saved = cached(path)
    assert str(engine[(lay.sheet, lay.by_quantity[error].at)]) == "#NUM!"
    for ref in refs:
        computed = engine[ref]
        assert saved[ref] == (computed if isinstance(computed, float) else str(computed)), ref
    assert not verify_workbook(path, variants=0).warnings


def _prefixed(xml: bytes) -> bytes:
    """The sheet part with the main namespace bound to the prefix ``x:`` instead of the default."""
    body = re.sub(rb"<(/?)(?![?!])([A-Za-z]+)", rb"<\1x:\2", xml)
    return body.replace(b'xmlns="http://schemas', b'xmlns:x="http://schemas', 1)


@pytest.mark.parametrize("prefix", [False, True])
def test_cached_values_are_written_into_the_cells_xml(tmp_path: Path, prefix: bool) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "S"
    ws["A1"] = 'a"<&b'
    for at, formula in [("B1", '=A1&"<x>"'), ("C1", "=1/0"), ("D1", "=1<2"), ("E1", "=2.5")]:
        ws[at] = formula
    ws["F1"] = "=E1"  # given no value: left uncached
    ws["G1"] = "=A1"
    path = tmp_path / "cached.xlsx"
    wb.save(path)
    if prefix:
        with zipfile.ZipFile(path) as z:
            parts = {n: z.read(n) for n in z.namelist()}
        parts["xl/worksheets/sheet1.xml"] = _prefixed(parts["xl/worksheets/sheet1.xml"])
        with zipfile.ZipFile(path, "w") as z:
            for name, data in parts.items():
                z.writestr(name, data)
    values: dict[str, Value] = {
        "A1": 3.0,  # not a formula cell (an inline string): left as it is
        "B1": 'a"<&b<x>',
        "C1": CellError("#DIV/0!"),
        "D1": True,
        "E1": 2.5,
        "G1": 'a"<&b',
    }
    write_cached_values(path, {"S": values})
    cached = openpyxl.load_workbook(path, data_only=True)["S"]
    assert [cached[at].value for at in ("A1", "B1", "C1", "D1", "E1", "F1", "G1")] == [
        'a"<&b',
        'a"<&b<x>',
        "#DIV/0!",
        True,
        2.5,
        None,
        'a"<&b',
    ]
    formulas = openpyxl.load_workbook(path)["S"]
    assert [formulas[at].value for at in ("B1", "C1", "D1", "E1", "F1")] == [
        '=A1&"<x>"',
        "=1/0",
        "=1<2",
        "=2.5",
        "=E1",
    ]
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    assert sheet.count(b"<x:v>" if prefix else b"<v>") == 5


def _decisions_by_rounds(
    lay: Layout, found: dict[str, object], number: set[str]
) -> tuple[set[str], set[str]]:
    """``reference_values``' rule worked out the slow way, by rounds until nothing changes:
    a formula whose cell holds the layout's formula is decided once every such formula it
    reads is; it stands if the model has its number and all it reads stands (a parameter or
    constant as the layout puts it, or a standing formula); it reads a blank if it reads a
    layout formula the sheet leaves empty, or a decided cell that does."""
    reads = {
        c.at: set(re.findall(r"(?<![A-Z])[A-Z]{1,3}[0-9]+(?![0-9(])", c.formula or ""))
        for c in lay
        if c.kind == "formula" and found.get(c.at) == c.formula
    }
    params = parameters(lay)
    stands = {
        c.at
        for c in lay
        if (c.kind == "input" and found.get(c.at) == params[c.quantity or ""])
        or (c.kind == "constant" and found.get(c.at) == c.value)
    }
    blank = {c.at for c in lay if c.kind == "formula" and c.at not in found}
    decided: set[str] = set()
    blank_read: set[str] = set()
    changed = True
    while changed:
        changed = False
        for at, cells in reads.items():
            if at not in decided and all(r in decided for r in cells if r in reads):
                decided.add(at)
                if at in number and cells <= stands:
                    stands.add(at)
                if cells & (blank | blank_read):
                    blank_read.add(at)
                changed = True
    return stands & number, blank_read


@pytest.mark.parametrize("order", ["as built", "shuffled", "reversed"])
@pytest.mark.parametrize("seed", range(3))
def test_which_numbers_stand_follows_the_rule_in_any_order(order: str, seed: int) -> None:
    import dataclasses
    import random

    from sheetgen.writer.cached_values import reference_values

    rng = random.Random(seed)
    lay = resolve_layout("training:layers=2-2-1,examples=4,batch=2,steps=6")
    params = parameters(lay)
    formulas = [c for c in lay if c.kind == "formula"]
    a, b = rng.sample(formulas, 2)  # a circle: a reads b, b reads a
    other = {a.at: b.at, b.at: a.at}
    cells = [
        dataclasses.replace(c, formula=f"={other[c.at]}+0*({(c.formula or '')[1:]})")
        if c.at in other
        else c
        for c in lay.cells
    ]
    if order == "shuffled":
        rng.shuffle(cells)
    elif order == "reversed":
        cells.reverse()
    lay = dataclasses.replace(lay, cells=tuple(cells))
    found: dict[str, object] = {}
    for c in lay:
        content = {"text": c.text, "input": params.get(c.quantity or ""), "constant": c.value}
        found[c.at] = content.get(c.kind, c.formula)
    for c in rng.sample(formulas, 3):  # blanks
        del found[c.at]
    edited = rng.choice([c for c in formulas if c.at in found and c.at not in other])
    found[edited.at] = "=1+1"  # not the layout's: it stands for nothing
    ref = model_for(lay.settings)(params, lay.settings)
    number = {c.at for c in lay if c.kind == "formula" and c.quantity in ref.values}
    known, blank_read = reference_values(found, lay, params)
    stands, reads_blank = _decisions_by_rounds(lay, found, number)
    assert set(known) == stands
    assert blank_read == reads_blank
    assert a.at not in known and b.at not in known
    assert all(known[c.at] == ref.values[c.quantity or ""] for c in lay if c.at in known)


@pytest.mark.parametrize("where", ["first", "last"])
def test_a_large_number_any_formula_reads_leaves_every_cell_to_the_engine(where: str) -> None:
    """A number past ``SAFE_MAGNITUDE`` read by one formula, wherever it is in the layout
    (read last, after every other formula was decided), and no reference number stands."""
    import dataclasses

    from sheetgen.layouts.layout import CellSpec
    from sheetgen.writer.cached_values import SAFE_MAGNITUDE, reference_values

    lay = resolve_layout("network:layers=2-3-1")
    params = parameters(lay)
    reader = CellSpec(at="M1", kind="formula", formula="=Z1*0", source="=Z1*0")
    cells = (reader, *lay.cells) if where == "first" else (*lay.cells, reader)
    odd = dataclasses.replace(lay, cells=cells)
    found: dict[str, object] = {}
    for c in odd:
        content = {"text": c.text, "input": params.get(c.quantity or ""), "constant": c.value}
        found[c.at] = content.get(c.kind, c.formula)
    found["Z1"] = SAFE_MAGNITUDE
    known, _ = reference_values(found, odd, params)
    assert len(known) == sum(c.kind == "formula" for c in lay)  # at the limit: all stand
    found["Z1"] = SAFE_MAGNITUDE * 1.01
    assert reference_values(found, odd, params) == ({}, set())
