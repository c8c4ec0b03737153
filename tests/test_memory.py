"""Verifying a sheet takes memory in proportion to its file, not to its formulas' fan-in.

A network's formulas each read dozens of cells, and a cell's name appears in hundreds of them.
Held once per formula (names, compiled inputs), with every nudged pass of the reference kept at
once, a 20-20-1 network's 97 KB file takes 36 MB to verify (tracemalloc's peak) and a 40-40-1
network's 326 KB one 111 MB; with names shared and each pass dropped once read, 16 MB and 69 MB.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from sheetgen import build, verify_workbook
from sheetgen.layouts.layout import Layout

from .generated import generated_afresh
from .moved import moved_down
from .test_tolerance import FAMILIES

if TYPE_CHECKING:
    from sheetgen.maths.models import Reference

_T = TypeVar("_T")


def traced(call: Callable[[], _T]) -> tuple[_T, int, int]:
    """``call()``, with the bytes it left held and its peak, each above what was live before
    it (tracemalloc, started for the call where it was not already running)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = call()
        held, peak = (m - before for m in tracemalloc.get_traced_memory())
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return result, held, peak


def test_verifying_a_network_stays_within_a_multiple_of_its_file(tmp_path: Path) -> None:
    # Imports and the engine's function tables load on first use: not the sheet's memory.
    verify_workbook(build(tmp_path / "warm.xlsx", "network:layers=2-3-1"))
    path = Path(build(tmp_path / "net.xlsx", "network:layers=20-20-1"))
    size = path.stat().st_size
    report, _, peak = traced(lambda: verify_workbook(path))
    assert report.ok and len(report.cells) > 6000
    # 16 MB now (170 times the file), 36 MB before the names were shared.
    assert peak < 250 * size, f"verifying {size:,} bytes peaked at {peak:,} bytes"


def test_per_cell_classes_keep_their_fields_in_slots() -> None:
    # One of each per cell of a sheet (a large network has 100,000): a __dict__ each would be
    # a hash table per cell in the layout, the book and the verdicts.
    from sheetgen.check.results import CellResult
    from sheetgen.engine.compiled import Compiled, Form
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.workbook.book import Cell

    spec = resolve_layout("network:layers=2-2-1").cells[-1]
    verdict = CellResult("A1", "q", "q", "ok", 1.0, 1.0, "=B1")
    for made in (spec, verdict, Cell(1.0, "=B1"), Compiled((), Form(None))):
        assert not hasattr(made, "__dict__"), type(made).__name__


def test_a_layout_cell_is_four_slots_and_a_shared_tail() -> None:
    """A layout holds a cell per cell of its sheet (a 10,000-step run's 140,000): its fields
    but the address, quantity and formula are one tail that the cells alike share, so that a
    cell is 64 bytes (pymalloc rounds a fifth slot's 72 up to 80). tracemalloc counts what was
    asked for: 64, and 8 for the list's slot."""
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.layouts.layout import CellSpec

    n = 10_000
    made, held, _ = traced(
        lambda: [CellSpec("B7", "formula", "q", formula="=A7") for _ in range(n)]
    )
    assert held / n <= 64 + 8 + 1, held / n
    assert len({id(c._rest) for c in made}) == 1
    # Generated rows' cells share their column's tail, note and all.
    layout = resolve_layout("training:steps=40")
    assert len({id(c._rest) for c in layout.cells if c.kind == "formula"}) < 40
    assert all(c.checked == (c.kind in ("constant", "formula")) for c in layout.cells)


def test_a_relocated_layout_copies_every_field_but_the_moved_ones() -> None:
    from dataclasses import fields

    from sheetgen.layouts.families import resolve_layout
    from sheetgen.layouts.layout import relocated

    layout = resolve_layout("network:layers=2-2-1")
    where = {c.at: f"{c.at[0]}{int(c.at[1:]) + 3}" for c in layout.cells}
    moved = relocated(layout, where)
    for old, new in zip(layout.cells, moved.cells, strict=True):
        for f in fields(old):
            if f.name == "at":
                assert new.at == where[old.at]
            elif f.name == "formula" and old.formula is not None:
                assert new.formula is not None and new.formula != old.formula
            elif f.name == "source":  # the moved formula says it as the built one did
                assert new.source == old.source
                assert moved.source(new) == layout.source(old)
            else:
                assert getattr(new, f.name) == getattr(old, f.name), f.name


def _one_row_down(layout: Layout, below: int = 0) -> dict[str, str]:
    """Where each cell of ``layout`` is with a row inserted above row ``below + 1``."""
    from sheetgen import a1

    where = {}
    for c in layout.cells:
        row, col = a1.split(c.at)
        where[c.at] = a1.name(row + (row > below), col)
    return where


def test_a_relocated_layout_holds_its_cells_and_where_they_were_built() -> None:
    """A row inserted above a network's table moves every cell: the moved layout holds a cell
    each (72 bytes), its slot in the tuple of cells and where it was built (8 bytes each),
    not a dict of where each moved beside them (108 bytes a cell with one at 20-20-1, 115 at
    40-40-1; an 80-80-1 network's dict was 4 MB of verify's peak)."""
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.layouts.layout import relocated

    layout = resolve_layout("network:layers=20-20-1")
    where = _one_row_down(layout)
    first = relocated(layout, where)  # its formulas, as the learner's workbook holds them
    moved, held, _ = traced(lambda: relocated(layout, where))
    assert all(a.formula is b.formula for a, b in zip(first.cells, moved.cells, strict=True))
    assert held < 96 * len(layout.cells), held / len(layout.cells)
    # Where each moved, as given.
    assert dict(moved.moved) == where and len(moved.moved) == len(where)
    assert all(moved.current(c.at) == where[c.at] for c in layout.cells)
    assert moved.current("ZZ1") == "ZZ1"


def test_a_cell_a_relocation_leaves_as_it_was_is_the_layouts_own() -> None:
    """Rows inserted below a cell move neither it nor what it reads: the relocated layout
    holds that cell itself, and a copy of every cell that moved or reads one that did."""
    from sheetgen import a1
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.layouts.layout import relocated

    layout = resolve_layout("network:layers=2-2-1,faux=all")
    below = 12
    moved = relocated(layout, _one_row_down(layout, below))
    at = {c.at: c for c in layout.cells}
    kept = copies = 0
    for old, new in zip(layout.cells, moved.cells, strict=True):
        reads = a1.TEMPLATE_CELL.findall(old.formula or "")
        still = a1.split(old.at)[0] <= below and all(
            a1.split(r)[0] <= below for r in reads if r in at
        )
        if new is old:
            kept += 1
            assert still and new.formula == old.formula
        else:
            copies += 1
            assert new.at != old.at or new.formula != old.formula
    assert kept > 10 and copies > 10, (kept, copies)


def test_a_relocation_naming_a_cell_the_layout_lacks_keeps_its_map() -> None:
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.layouts.layout import relocated

    layout = resolve_layout("network:layers=2-2-1")
    where = {**_one_row_down(layout), "ZZ9": "ZZ10"}
    moved = relocated(layout, where)
    assert dict(moved.moved) == where and moved.current("ZZ9") == "ZZ10"


@pytest.mark.parametrize("spec", [*FAMILIES, "network:layers=3-2-1", "single_neuron"])
def test_what_depends_on_a_parameter_is_found_as_the_forward_walk_finds_it(spec: str) -> None:
    # Found depth first, formula by formula (one answer each, not a reader list per
    # quantity): the same quantities as forwards from the parameters.
    from sheetgen.check.structure import _depends_on_any, _depends_on_any_forwards, requirements
    from sheetgen.layouts.families import resolve_layout

    needs = requirements(resolve_layout(spec))
    found = _depends_on_any(needs.reads, needs.kind)
    assert found == _depends_on_any_forwards(needs.reads, needs.kind)
    assert found  # every layout has formulas that read a parameter


def test_what_depends_on_a_parameter_in_random_graphs_with_cycles() -> None:
    import random

    from sheetgen.check.structure import _depends_on_any, _depends_on_any_forwards

    from .support.graphs import random_template

    rng = random.Random(22)
    for _ in range(300):
        reads, kind = random_template(rng, 12)
        assert _depends_on_any(reads, kind) == _depends_on_any_forwards(reads, kind), (reads, kind)


def test_whether_a_quantity_depends_on_a_parameter_is_told_by_those_that_do_not() -> None:
    # Parameters.any keeps the formulas that depend on none: every quantity, a formula or
    # not, known or not, in random templates with cycles and in every family, is told as
    # the walk finds it.
    import random

    from sheetgen.check.structure import Parameters, _depends_on_any, requirements
    from sheetgen.layouts.families import resolve_layout

    from .support.graphs import random_template

    rng = random.Random(7)
    cases: list[tuple[Mapping[str, tuple[str, ...]], Mapping[str, Any]]] = [
        random_template(rng, 12) for _ in range(200)
    ]
    for spec in [*FAMILIES, "network:layers=3-2-1", "single_neuron"]:
        needs = requirements(resolve_layout(spec))
        cases.append((needs.reads, needs.kind))
    for reads, kind in cases:
        found = _depends_on_any(reads, kind)
        told = Parameters(reads, kind)
        for q in [*kind, *reads, "no such quantity"]:
            assert told.any(q) == (q in found), (q, reads, kind)


@pytest.fixture
def large_layout(monkeypatch: pytest.MonkeyPatch) -> Layout:
    """A 2-2-1 network's layout, taken for a large one: one cell over ``REMEMBERED_CELLS``,
    with nothing remembered yet."""
    from sheetgen.check import structure
    from sheetgen.layouts.families import resolve_layout

    layout = resolve_layout("network:layers=2-2-1")
    structure._requirements.cache_clear()
    monkeypatch.setattr(structure, "REMEMBERED_CELLS", len(layout.cells) - 1)
    monkeypatch.setattr(structure, "_large", structure.KeptWithLayout())
    return layout


def test_a_large_layouts_requirements_are_worked_out_when_asked_and_not_kept(
    monkeypatch: pytest.MonkeyPatch, large_layout: Layout
) -> None:
    from sheetgen.check import structure
    from sheetgen.layouts.families import resolve_layout

    layout = large_layout
    first = structure.requirements(layout)
    assert structure._requirements.cache_info().currsize == 0
    again = structure.requirements(layout)
    assert again is not first and again.reads == first.reads and again.at == first.at
    # Asked again (a wrong cell's explanation, one of thousands): kept while the layout lives.
    assert structure.requirements(layout) is again
    other = resolve_layout("network:layers=2-3-1")
    monkeypatch.setattr(structure, "REMEMBERED_CELLS", len(other.cells) - 1)
    assert structure.requirements(other) is not structure.requirements(other)
    assert structure._requirements.cache_info().currsize == 0
    monkeypatch.setattr(structure, "REMEMBERED_CELLS", len(layout.cells))
    assert structure.requirements(layout) is structure.requirements(layout)
    assert structure._requirements.cache_info().currsize == 1


def test_a_large_layouts_requirements_asked_for_again_are_kept_from_the_first_ask(
    large_layout: Layout,
) -> None:
    # A sheet with wrong cells asks again to explain them: worked out once, not twice.
    from sheetgen.check import structure

    layout = large_layout
    first = structure.requirements(layout, again=True)
    assert structure.requirements(layout) is first
    assert structure._requirements.cache_info().currsize == 0


def test_a_large_layouts_shape_is_let_go_once_its_workbook_is_placed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large layout's shape (its every address, row and column) is worked out for each
    # workbook placed and not held through the check; a small one's is kept for the next.
    import openpyxl

    import sheetgen.check.locate as locate
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.workbook.book import Book

    layout = resolve_layout("network:layers=2-2-1")
    book = Book.of(openpyxl.load_workbook(build(tmp_path / "net.xlsx", "network:layers=2-2-1")))
    kept, _ = locate.candidates(book, [layout])
    assert id(layout) in locate._SHAPES
    monkeypatch.setattr(locate, "_REMEMBERED_SHAPE", len(layout.cells) - 1)
    let_go, _ = locate.candidates(book, [layout])
    assert id(layout) not in locate._SHAPES
    assert [(p.sheet.title, p.layout) for p in let_go] == [(p.sheet.title, p.layout) for p in kept]


def test_a_small_networks_names_are_kept_and_a_large_ones_made_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A training run's error analysis asks a small network's names thousands of times; a large
    # network's (22 MB for 200-200-1) are not held after its sheet is done.
    from sheetgen.maths import network

    kept = network._keys((2, 2, 1))
    assert network._keys((2, 2, 1)) is kept
    monkeypatch.setattr(network, "REMEMBERED_WEIGHTS", 5)  # 2-2-1 has 6: taken for a large one
    again = network._keys((2, 2, 1))
    assert again is not kept and again == kept
    assert network._keys((2, 2, 1)) is not again


@pytest.mark.parametrize("spec", [*FAMILIES, "network:layers=3-2-1", "single_neuron"])
def test_a_formulas_own_addresses_are_what_its_template_reads(spec: str) -> None:
    # What the structure check asks of a cell whose formula says its template, one cell at a
    # time: the addresses of what formula_reads finds for the whole layout at once.
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.layouts.reads import addresses_read, formula_reads

    layout = resolve_layout(spec)
    reads = formula_reads(layout)
    at = {c.quantity: c.at for c in layout.cells if c.quantity is not None}
    own = addresses_read(layout)
    said = 0
    for c in layout.cells:
        addresses = own(c)
        if addresses is None:
            assert c.formula is None or c.source is not None, c.at
            continue
        assert c.quantity is not None
        said += 1
        assert set(addresses) == {at[q] for q in reads[c.quantity] if q in at}, c.at
    assert said


def test_a_named_parameter_is_among_a_formulas_own_addresses() -> None:
    # Tiny, read by its defined name, is where the name points.
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.layouts.reads import addresses_read

    layout = resolve_layout("network:layers=2-2-1")
    tiny = layout.names["Tiny"]
    faux = next(c for c in layout.cells if c.quantity == "nudge.w1_1_1.w1_1_1")
    assert faux.formula is not None and "Tiny" in faux.formula
    assert tiny in (addresses_read(layout)(faux) or [])


def test_a_right_sheets_structure_is_told_without_the_layouts_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every formula of a built sheet reads what its template reads: the layout's requirements
    # (39 MB of an 80-80-1 network's, at the check's peak) are never worked out; a cell that
    # copies another's number still has them asked for, and is caught.
    import openpyxl

    from sheetgen.check import structure
    from sheetgen.layouts.families import resolve_layout

    asked: list[Layout] = []
    work_out = structure.requirements

    def requirements(layout: Layout, *, again: bool = False) -> structure.Requirements:
        asked.append(layout)
        return work_out(layout, again=again)

    monkeypatch.setattr(structure, "requirements", requirements)
    spec = "network:layers=2-2-1"
    path = Path(build(tmp_path / "net.xlsx", spec))
    assert verify_workbook(path, variants=0).ok
    assert asked == []
    layout = resolve_layout(spec)
    at = {c.quantity: c.at for c in layout.cells if c.quantity is not None}
    wb = openpyxl.load_workbook(path)
    wb[layout.sheet][at["nudge.w1_1_1.gradient"]] = f"={at['nudge.w1_1_1.real']}"
    wb.save(path)
    report = verify_workbook(path, variants=0)
    assert len(asked) == 1
    assert [c.status for c in report.cells if c.cell == at["nudge.w1_1_1.gradient"]] == [
        "structure"
    ]


def test_a_large_layouts_requirements_are_kept_for_wrong_cells_the_check_did_not_ask_for(
    large_layout: Layout,
) -> None:
    # A wrong number from the right cells (x1.01) is told its structure from its own formula;
    # the explanations still ask for the requirements, worked out once.
    from sheetgen.check import structure
    from sheetgen.check.judge import check
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.workbook.book import Book, Cell, Sheet
    from sheetgen.writer.build import build_workbook, parameters

    layout = large_layout
    book = Book.of(build_workbook(layout, parameters(layout)))
    cells = dict(book.sheets[0].cells)
    loss = next(c for c in layout.cells if c.quantity == "loss")
    assert loss.formula is not None
    cells[loss.at] = Cell(None, f"=({loss.formula[1:]})*1.01")
    sheet = Sheet(book.sheets[0].title, cells, book.sheets[0].names)
    book = Book((sheet,), book.names)
    ev = Evaluator(book)
    judged = check(book, sheet, layout, evaluator=ev).cells
    found = structure.structure_faults(ev, sheet.title, layout, judged)
    assert [c.status for c in found if c.cell == loss.at] == ["wrong"]
    assert structure.requirements(layout) is structure.requirements(layout)


def test_a_large_right_layouts_structure_is_told_cell_by_cell(
    large_layout: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large layout's cells are told from their own formulas without anything remembered
    # for the layout; its requirements are never asked for.
    from sheetgen.check import structure
    from sheetgen.check.judge import check
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.workbook.book import Book
    from sheetgen.writer.build import build_workbook, parameters

    def never(layout: Layout, *, again: bool = False) -> structure.Requirements:
        raise AssertionError("the requirements were asked for")

    monkeypatch.setattr(structure, "requirements", never)
    structure._remembered_addresses.cache_clear()
    layout = large_layout
    book = Book.of(build_workbook(layout, parameters(layout)))
    ev = Evaluator(book)
    judged = check(book, book.sheets[0], layout, evaluator=ev).cells
    found = structure.structure_faults(ev, book.sheets[0].title, layout, judged)
    assert found == judged and all(c.ok for c in found)
    assert structure._remembered_addresses.cache_info().currsize == 0


def test_the_text_reports_diagnosis_is_said_line_by_line() -> None:
    """A sheet whose every row moved has tens of thousands of roots: their lines are written as
    they are made, never all held (a second copy of every explanation, 80 MB for 80-80-1)."""
    import tracemalloc

    from sheetgen.check.results import CellResult, Report
    from sheetgen.report.render import text_lines

    why = "It shows #VALUE! because a cell it reads does. " * 40  # 2 KB, as a long trail's
    cells = tuple(
        CellResult(f"A{i}", f"q{i}", "", "error", 1.0, 2.0, "=B1", "wrong", why + str(i))
        for i in range(1, 5001)
    )
    report = Report("x.xlsx", "network", "Network", {}, cells)
    held = sum(len(c.explanation) for c in cells)  # 10 MB
    tracemalloc.start()
    try:
        said = 0
        for line in text_lines(report, short=True):
            said += line.startswith("      It shows")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert said == len(cells)
    assert peak < held / 4, (peak, held)


def test_a_sheets_repeated_numbers_are_held_once(tmp_path: Path) -> None:
    # A network's saved values repeat (an 80-80-1 network's 98,500 are 15,600 numbers): a
    # float each, and a Cell each for a typed number, would be 2.4 MB more of its book.
    from openpyxl import Workbook

    from sheetgen.workbook.safety import DEFAULT_LIMITS, read_checked

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in range(1, 401):  # over several of the reader's runs of rows
        ws.cell(row, 1, 0.25)
        ws.cell(row, 2, float(row % 7))
        ws.cell(row, 3, -0.0)
    path = tmp_path / "numbers.xlsx"
    wb.save(path)
    cells = read_checked(path, DEFAULT_LIMITS).book.sheets[0].cells
    for column in "ABC":
        held = [cells[f"{column}{row}"] for row in range(1, 401)]
        by_text = {repr(c.value) for c in held}
        assert len({id(c) for c in held}) == len(by_text)
        assert len({id(c.value) for c in held}) == len(by_text)
    assert str(cells["C1"].value) == "-0.0"  # shared by its text: never taken for 0.0
    # The values a built sheet saves beside its formulas, likewise.
    built = Path(build(tmp_path / "net.xlsx", "network:layers=3-2-1"))
    saved = [
        c.value
        for c in read_checked(built, DEFAULT_LIMITS).book.sheets[0].cells.values()
        if c.formula is not None and isinstance(c.value, float)
    ]
    assert len(saved) > 100
    assert len({id(v) for v in saved}) == len({repr(v) for v in saved}) < len(saved)


def test_a_cell_reads_only_the_layout_when_each_read_is_one_of_its_addresses_on_its_sheet() -> None:
    # The suspects of a fragile formula are found with the layout's addresses alone (a
    # (sheet, address) pair per cell was 6 MB of an 80-80-1 network's verify at its peak):
    # held equal to the pairs' own test on random reads, across sheets.
    import random

    from sheetgen.check.diagnose import _within

    rng = random.Random(22)
    names = [f"{c}{r}" for c in "ABC" for r in range(1, 5)]
    for _ in range(2000):
        layout = set(rng.sample(names, rng.randint(0, len(names))))
        reads = [
            (rng.choice(("Neuron", "Neuron", "Other")), rng.choice(names))
            for _ in range(rng.randint(0, 6))
        ]
        pairs = {("Neuron", a) for a in layout}
        assert _within(reads, "Neuron", layout) == pairs.issuperset(reads), (reads, layout)
        # As diagnosis asks it: the layout's cells by address, less its texts.
        texts = frozenset(rng.sample(names, rng.randint(0, 3))) - layout
        specs = dict.fromkeys(layout | texts)
        assert _within(reads, "Neuron", specs, texts) == pairs.issuperset(reads), (reads, layout)


def _traced_each(make: Any, n: int) -> float:
    """The bytes traced per record while ``n`` made by ``make(i)`` are held."""
    held, grown, _ = traced(lambda: [make(i) for i in range(n)])
    assert len(held) == n
    return grown / n


def test_a_right_verdict_holds_its_own_fields_and_shares_the_rest() -> None:
    """An 80-80-1 network has 85,000 right verdicts: 144 bytes each with a slot a field (12 MB
    at verify's peak), 88 with the fields a right verdict leaves alike in one shared tail."""
    from sheetgen.check.results import CellResult

    n = 20_000
    cells = [f"A{i}" for i in range(n)]  # held by the layout and the book, not the verdict
    quantities = [f"nudge.w{i}.gradient" for i in range(n)]
    numbers = [float(i) for i in range(n)]
    # The list holding them takes 8 bytes a verdict.
    made = [
        lambda i: CellResult.right(
            cells[i], quantities[i], quantities[i], numbers[i], numbers[i], ""
        ),
        lambda i: CellResult(cells[i], quantities[i], quantities[i], "ok", numbers[i], 0.0, ""),
        lambda i: CellResult.right(cells[i], quantities[i], quantities[i], 1.0, 1.0, "").unedited(),
    ]
    for make in made:
        assert _traced_each(make, n) < 88 + 8 + 4


def test_a_layout_cell_holds_its_own_fields_and_shares_the_rest() -> None:
    """An 80-80-1 network's layout has 106,000 cells: 120 bytes each with a slot a field, 72
    with the fields most cells leave alike (kind, note, style, ...) in one shared tail, whether
    made from a template, moved, or made by ``CellSpec(...)``."""
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.layouts.layout import CellSpec, relocated

    layout = resolve_layout("network:layers=20-20-1,faux=all")
    # Tails are shared: by the cells alike (text cells each have their own label).
    tails = {id(c._rest) for c in layout.cells}
    texts = sum(c.kind == "text" for c in layout.cells)
    assert len(tails) < texts + 100 < len(layout.cells) // 2
    moved = relocated(layout, {c.at: c.at for c in layout.cells})
    assert all(a._rest is b._rest for a, b in zip(layout.cells, moved.cells, strict=True))
    n = 20_000
    ats = [f"B{i}" for i in range(n)]
    formulas = [f"=A{i}*2" for i in range(n)]
    each = _traced_each(lambda i: CellSpec(ats[i], "formula", "q", formula=formulas[i]), n)
    assert each < 72 + 8 + 4


_SHEETS = [
    "network:layers=3-2-1,faux=all",
    "network:layers=3-4-3,loss=cross-entropy",
    "training:layers=2-2-1,examples=4,steps=3,optimizer=adam",
    "single_neuron",
]


def _wrong_copies(path: Path) -> list[Path]:
    """``path``, a copy with one formula changed x1.01, and one with a row inserted."""
    import openpyxl

    out = [path]
    for how in ("x1.01", "row"):
        wb = openpyxl.load_workbook(path)
        ws = wb.worksheets[0]
        if how == "row":
            ws.insert_rows(5)
        else:
            cells = [c for row in ws.iter_rows() for c in row if str(c.value).startswith("=")]
            cells[len(cells) // 2].value = f"=({str(cells[len(cells) // 2].value)[1:]})*1.01"
        out.append(path.with_name(f"{path.stem}_{how}.xlsx"))
        wb.save(out[-1])
    return out


@pytest.mark.parametrize("spec", _SHEETS)
def test_a_computed_formula_read_off_its_text_is_what_its_kept_compilation_gave(
    tmp_path: Path, spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large book's plain formula keeps the form of its shape alone and reads its inputs
    # off its text when asked again: the values, dependencies, problems and what-ifs are
    # those it gave when each formula kept its compilation, on right sheets and wrong ones.
    from sheetgen.engine import evaluate
    from sheetgen.engine.compiled import Compiled
    from sheetgen.workbook.safety import read_checked

    def seen(path: Path) -> tuple[Any, ...]:
        book = read_checked(path).book
        ev = evaluate.Evaluator(book)
        sheet = book.sheets[0]
        refs = [(sheet.title, at) for at in sheet.cells]
        values = ev.evaluate(refs)
        deps = {r: ev.dependencies(r) for r in refs}
        formulas = [r for r in refs if ev.formula(r) is not None]
        what_if = ev.what_if({r: 0.5 for r in formulas[::7]}, formulas[::5])
        kept = [type(e) for forms in ev._formulas.values() for e in forms.values()]
        return repr(values), deps, repr(ev.problems), repr(what_if), kept

    for path in _wrong_copies(Path(build(tmp_path / "x.xlsx", spec))):
        *before, kept_before = seen(path)  # a small book keeps its compilations
        with monkeypatch.context() as m:
            m.setattr(evaluate, "KEPT_CELLS", 0)  # taken for a large one
            *now, kept = seen(path)
        assert now == before, path.name
        assert Compiled in kept_before and Compiled not in kept, path.name


def test_a_computed_network_keeps_no_formulas_inputs(tmp_path: Path) -> None:
    # A faux row's sum reads every neuron of the layer before: its 41 inputs (161 in an
    # 80-80-1 network, 20 MB in all) are read off its text when asked, never kept per cell.
    from sheetgen.engine.compiled import Form, compile_formula
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.workbook.safety import read_checked

    book = read_checked(Path(build(tmp_path / "n.xlsx", "network:layers=20-20-1,faux=all"))).book
    sheet = book.sheets[0]
    refs = [(sheet.title, at) for at, c in sheet.cells.items() if c.formula]
    Evaluator(book).evaluate(refs)  # the engine's functions and shapes compiled
    compile_formula.cache_clear()  # what the process keeps of its last 4,096 formulas

    def computed() -> Evaluator:
        ev = Evaluator(book)
        ev.evaluate(refs)
        ev.dependencies(refs[-1])
        compile_formula.cache_clear()
        return ev

    ev, held, _ = traced(computed)
    # 150 bytes a formula (its value, three dicts' slots); 257 with its compilation kept.
    assert held < 200 * len(refs), (held, len(refs))
    kept = [k for forms in ev._formulas.values() for k in forms.values() if k is not None]
    assert all(type(k) is Form for k in kept) and len({id(k) for k in kept}) < 30


# mem-cells: what the book holds of a checked sheet is shared, not its own.


@pytest.mark.parametrize("spec", ["network:layers=3-2-1,faux=all", "single_neuron"])
def test_a_books_formulas_and_addresses_are_the_layouts_own_strings(
    tmp_path: Path, spec: str
) -> None:
    """An 80-80-1 network's book holds 16.8 MB of formula texts and 5.7 MB of addresses, and
    its layout the same texts and addresses: one string each, not two (the reader and the
    layout intern them), so the book's own part is its Cells and its dict (9.4 MB)."""
    from sheetgen.check.verify import find_layout
    from sheetgen.workbook.safety import read_checked

    book = read_checked(Path(build(tmp_path / "s.xlsx", spec))).book
    placement, _ = find_layout(book, None, "s.xlsx")
    cells = placement.sheet.cells
    keys = {at: at for at in cells}  # the book's own address objects
    specs = [c for c in placement.layout.cells if c.at in cells]
    assert len(specs) > 20 and sum(c.formula is not None for c in specs) > 10
    for c in specs:
        assert keys[c.at] is c.at, c.at
        if c.formula is not None:
            assert cells[c.at].formula is c.formula, c.at


def test_a_books_cell_holds_its_value_and_formula_in_two_slots(tmp_path: Path) -> None:
    """A training run's book has 140,000 Cells: 56 bytes each (64 as memory is handed out)
    with a slot for ``array``, which no cell but an array formula's top-left one sets; 48
    without it, whichever reader made them."""
    import sys

    from openpyxl import Workbook, load_workbook
    from openpyxl.worksheet.formula import ArrayFormula

    from sheetgen.workbook.book import Book, Cell
    from sheetgen.workbook.safety import read_checked

    n = 20_000
    formulas = [f"=A{i}*2" for i in range(n)]  # held by the layout and the book, not the cell
    numbers = [float(i) for i in range(n)]
    assert _traced_each(lambda i: Cell(None, formulas[i]), n) < 48 + 8 + 4
    assert _traced_each(lambda i: Cell(numbers[i], formulas[i]), n) < 48 + 8 + 4
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in range(1, 101):  # over several of the fast reader's runs of rows
        ws.cell(row, 1, float(row))
        ws.cell(row, 2, f"=A{row}*2")
        ws.cell(row, 3, f"text {row}")
    ws["D1"] = ArrayFormula("D1:D2", "=A1:A2*3")  # the sheet read by expat, not by read_rows
    path = tmp_path / "cells.xlsx"
    wb.save(path)
    for book in (read_checked(path).book, Book.of(load_workbook(path))):
        cells = book.sheets[0].cells
        assert cells["B7"] == Cell(None, "=A7*2") and cells["C7"] == Cell("text 7")
        assert cells["D1"] == Cell(None, "=A1:A2*3", "D1:D2")
        for at, cell in cells.items():
            assert sys.getsizeof(cell) <= (56 if at == "D1" else 48), (at, cell)


def test_a_cell_with_an_array_is_still_the_frozen_dataclass_cell() -> None:
    import copy
    import dataclasses
    import pickle

    from sheetgen.workbook.book import Cell

    plain, array = Cell(1.0, "=B1"), Cell(None, "=B1:B2*2", "A1:A2")
    for cell in (plain, array):
        assert isinstance(cell, Cell) and dataclasses.is_dataclass(cell)
        assert pickle.loads(pickle.dumps(cell)) == cell == copy.deepcopy(cell)
        assert hash(cell) == hash(Cell(cell.value, cell.formula, cell.array))
        with pytest.raises(dataclasses.FrozenInstanceError):
            cell.value = 2.0
    assert plain.array is None and plain == Cell(value=1.0, formula="=B1", array=None)
    assert plain != Cell(1.0, "=B1", "A1:A1") and array != Cell(None, "=B1:B2*2")
    assert repr(array) == "Cell(value=None, formula='=B1:B2*2', array='A1:A2')"
    assert dataclasses.astuple(array) == (None, "=B1:B2*2", "A1:A2")
    assert dataclasses.replace(array, array=None) == Cell(None, "=B1:B2*2")
    assert dataclasses.replace(plain, array="C1:C2") == Cell(1.0, "=B1", "C1:C2")
    match array:
        case Cell(value, formula, spans):
            assert (value, formula, spans) == (None, "=B1:B2*2", "A1:A2")


def test_every_reader_shares_a_sheets_numbers_and_interns_its_formulas(tmp_path: Path) -> None:
    """What the fast .xlsx reader holds once (a repeated number, a formula's text and a
    cell's address, the latter two with the layout's own strings), the .xlsx reader's expat
    pass, the .ods reader and a Book of an openpyxl workbook hold once too."""
    import sys

    from openpyxl import Workbook

    from sheetgen.workbook.book import Book, Cell
    from sheetgen.workbook.safety import read_checked
    from sheetgen.workbook.xlsx import read_book

    from .test_ods import number, ods, table
    from .test_reader import workbook

    rows = range(1, 41)
    xml = "".join(  # read by expat alone: read_book parses every worksheet itself
        f'<row r="{r}"><c r="A{r}"><v>{r % 3}.5</v></c><c r="B{r}"><v>-0.0</v></c>'
        f'<c r="C{r}"><f>A{r}*2</f><v>{r % 3 * 2 + 1}</v></c></row>'
        for r in rows
    )
    content = "".join(
        "<table:table-row>"
        + number(r % 3 + 0.5)
        + number(-0.0)
        + number(r % 3 * 2 + 1.0, f"of:=[.A{r}]*2")
        + "</table:table-row>"
        for r in rows
    )
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.cell(r, 1, r % 3 + 0.5)
        ws.cell(r, 2, -0.0)
        ws.cell(r, 3, f"=A{r}*2")
    books = {
        "expat": read_book(workbook(xml)),
        "ods": read_checked(ods(tmp_path / "n.ods", table("Data", content))).book,
        "openpyxl": Book.of(wb),
    }
    for reader, book in books.items():
        cells = book.sheets[0].cells
        assert cells["A4"] == Cell(1.5) and cells["C4"].formula == "=A4*2", reader
        assert str(cells["B1"].value) == "-0.0", reader  # never taken for 0.0
        for column in "AB":
            held = [cells[f"{column}{r}"] for r in rows]
            assert len({id(c) for c in held}) == len({repr(c.value) for c in held}), reader
        saved = [cells[f"C{r}"].value for r in rows if cells[f"C{r}"].value is not None]
        assert len({id(v) for v in saved}) == len({repr(v) for v in saved}), reader
        for at, cell in cells.items():
            assert sys.intern(at) is at, (reader, at)
            assert cell.formula is None or sys.intern(cell.formula) is cell.formula, reader


# --- mem-ref: what the layout and the reference hold -----------------------------------------


def test_a_network_reference_holds_its_numbers_as_one_vector() -> None:
    # A 20-20-1 network's 6,641 quantities: as a dict by name each cost a key string, a float
    # and a slot of the dict (140 bytes); as one array('d') in the passes' order, 8 bytes.
    from sheetgen.layouts.network import network_layout, network_model

    layout = network_layout({"layers": "20-20-1"})
    params = dict(layout.defaults)
    network_model(params, layout.settings)  # numpy and the names' shapes loaded once
    reference, held, _ = traced(lambda: network_model(params, layout.settings))
    quantities = len(reference.values)
    assert quantities > 6000
    # The vector, the parameters' dict (their names shared) and the order's few tables.
    assert held < 24 * quantities, (held, quantities)


def test_a_network_of_over_a_thousand_weights_keeps_no_names() -> None:
    # An 80-80-1 network's names (5 MB) were kept for the process's life after its sheet.
    from sheetgen.maths import network

    assert network._keys((40, 40, 1)) is not network._keys((40, 40, 1))
    assert network._keys((20, 20, 1)) is network._keys((20, 20, 1))


@pytest.mark.parametrize(
    ("spec", "most"), [("network:layers=40-40-1,faux=none", 40), ("network:layers=40-40-1", 70)]
)
def test_a_large_networks_reference_spells_no_names_on_its_way(spec: str, most: int) -> None:
    """A network above ``REMEMBERED_WEIGHTS``: its passes work by position in the vector the
    reference keeps, naming no quantity (a 40-40-1 network's peaked 112 bytes a quantity with
    its names spelled for the passes, 25 without; 140 and 47 with its faux rows)."""
    from sheetgen.maths import network

    assert not network._remembered((40, 40, 1), network.REMEMBERED_WEIGHTS)
    reference, _, peak = traced(_model_run(spec))
    quantities = len(reference.values)
    assert quantities > 10000
    assert peak < most * quantities, (peak / quantities, quantities)


@pytest.mark.parametrize("spec", ["network:layers=3-4-2", "single_neuron", *FAMILIES])
def test_a_layouts_defaults_are_named_by_its_input_cells_own_strings(spec: str) -> None:
    from sheetgen.layouts.families import resolve_layout

    layout = resolve_layout(spec)
    own = {id(c.quantity) for c in layout.cells if c.kind == "input"}
    shared = [k for k in layout.defaults if id(k) in own]
    inputs = {c.quantity for c in layout.cells if c.kind == "input"}
    assert len(shared) == len([k for k in layout.defaults if k in inputs]) > 0


# --- a generated layout's cells are resolved as they are described ---------------------------


@pytest.mark.parametrize(
    "spec",
    [
        "network:layers=30-30-1",
        "training:steps=600",
        "training:layers=2-4-1,steps=150",
        "training:layers=2-3-1,steps=100,examples=4,batch=2",
    ],
)
def test_generating_a_layout_takes_little_more_than_the_layout_it_makes(spec: str) -> None:
    """An 80-80-1 network's layout is 106,000 cells, 26,000 of them faux-row formulas whose
    templates are 1 KB each. Described whole (a dict per cell, every template) and then
    resolved, its making peaked 65 MB above the 48 MB layout it made (380-440 bytes a cell at
    these sizes); each cell resolved as it is described, 12 MB (80-110 bytes a cell: where
    each quantity and address is, and the few formulas that read a cell described below)."""
    generated_afresh(spec)  # what is loaded once (imports, the columns' letters)
    layout, held, peak = traced(lambda: generated_afresh(spec))
    cells = len(layout.cells)
    assert cells > 8000
    assert peak - held < 200 * cells, (peak - held, cells)


# --- what is live while a large sheet is checked and diagnosed ---------------------------------


def _judged(path: Path) -> tuple[Any, Any, Any, Any, Any]:
    """``path`` read, its layout found and its cells judged as ``verify`` does: the book, the
    placed layout and sheet, the evaluator and the judged cells (the placement let go)."""
    from sheetgen.check.verify import check, find_layout
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.workbook.safety import read_checked

    book = read_checked(path).book
    placement, _ = find_layout(book, None, str(path))
    layout, sheet = placement.layout, placement.sheet
    del placement
    ev = Evaluator(book)
    return book, layout, sheet, ev, check(book, sheet, layout, str(path), evaluator=ev)


def _diagnosis_peak(path: Path) -> tuple[int, Any]:
    """The traced peak of ``verify``'s structure check and diagnosis of ``path``, above what
    is live once its cells are judged, and the diagnosis."""
    from sheetgen.check.diagnose import diagnose
    from sheetgen.check.structure import structure_faults

    book, layout, sheet, ev, judged = _judged(path)
    verdicts = [judged.cells]
    found, _, peak = traced(
        lambda: diagnose(
            book,
            sheet,
            layout,
            structure_faults(ev, sheet.title, layout, verdicts.pop()),
            judged.parameters,
            ev,
        )
    )
    return peak, found


def test_a_moved_networks_diagnosis_holds_no_more_than_an_unmoved_ones(tmp_path: Path) -> None:
    """A row inserted above a network's table moves every formula: each right cell is still
    told from its own formula's addresses, never the layout's requirements worked out for all
    (an 80-80-1 network's diagnosis peaked 101 MB above its layout with them, 58 without)."""
    path = Path(build(tmp_path / "n.xlsx", "network:layers=20-20-1"))
    unmoved, found = _diagnosis_peak(path)  # first: what is imported on the way
    unmoved, found = _diagnosis_peak(path)
    assert all(c.ok for c in found.cells)
    moved, found = _diagnosis_peak(moved_down(path))
    assert all(c.ok for c in found.cells) and len(found.cells) > 6000
    assert moved < 1.5 * unmoved + 200_000, (moved, unmoved)


def _placed_held(path: Path) -> tuple[Any, int]:
    """What finding the layout of ``path`` leaves held above its book (the template made and
    its shape kept beforehand, by an unmoved copy's), and the placement."""
    from sheetgen.check.verify import find_layout
    from sheetgen.workbook.safety import read_checked

    book = read_checked(path).book
    placement, held, _ = traced(lambda: find_layout(book, None, str(path))[0])
    return placement, held


def test_a_moved_networks_layout_holds_no_template_text_and_the_books_formulas(
    tmp_path: Path,
) -> None:
    """A row inserted above a network's table moves every cell: its moved layout holds a cell
    each and where each moved, no template's text (each is worked out from the moved formula
    when asked) and no second copy of the formulas the workbook holds (finding an 80-80-1
    network's left 102 MB held above its book with them, template included, 51 MB without)."""
    path = Path(build(tmp_path / "n.xlsx", "network:layers=20-20-1"))
    _placed_held(path)  # the template and its shape, made and kept once for both
    unmoved, held_unmoved = _placed_held(path)
    placement, held = _placed_held(moved_down(path))
    layout, cells = placement.layout, placement.sheet.cells
    assert placement.shifted and not unmoved.shifted
    formulas = [c for c in layout.cells if c.formula is not None]
    assert len(formulas) > 5000 and sum(c.source is None for c in formulas) > 0.9 * len(formulas)
    assert all(cells[c.at].formula is c.formula for c in formulas)
    # A cell (72 bytes) and its place in the maps of where it moved: 140 bytes a cell at
    # 20-20-1, where the template's texts and the formulas' copies made it 330.
    assert held - held_unmoved < 250 * len(layout.cells), (held, held_unmoved)


def test_a_moved_networks_copied_faux_gradient_is_still_caught(tmp_path: Path) -> None:
    """What a moved cell is told from its own formula is what the layout's requirements say:
    a faux gradient that copies the real one is caught at its new address."""
    import openpyxl

    from sheetgen.layouts.families import resolve_layout

    layout = resolve_layout("network:layers=20-20-1")  # a large layout: told cell by cell
    at = {q: c.at for q, c in layout.by_quantity.items()}
    faux = next(q for q in at if q.startswith("nudge.") and q.endswith(".gradient"))
    real = "global." + faux.split(".")[1]
    assert real in at, real
    path = Path(build(tmp_path / "n.xlsx", layout))
    wb = openpyxl.load_workbook(path)
    wb.worksheets[0][at[faux]] = f"={at[real]}"
    wb.save(path)
    moved = verify_workbook(moved_down(path), variants=0)
    below = {
        a: f"{a.rstrip('0123456789')}{int(a[len(a.rstrip('0123456789')) :]) + 1}"
        for a in at.values()
    }
    roots = [(c.cell, c.status) for c in moved.roots]
    assert roots == [(below[at[faux]], "structure")], roots


def test_a_what_if_holds_its_overrides_once(tmp_path: Path) -> None:
    """Diagnosis asks what-ifs with a sheet's every checked cell overridden (an 80-80-1
    network's 91,000: 5 MB a copy): the child evaluator's values start from them, and the
    overrides are held as given, not copied twice more."""
    import sys

    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.workbook.safety import read_checked

    book = read_checked(Path(build(tmp_path / "n.xlsx", "network:layers=20-20-1"))).book
    sheet = book.sheets[0]
    refs = [(sheet.title, at) for at, c in sheet.cells.items() if c.formula]
    ev = Evaluator(book)
    values = ev.evaluate(refs)
    right = {r: v for r, v in values.items() if isinstance(v, float)}
    assert len(right) > 6000
    ev.what_if(right, refs[:3])  # the engine's functions compiled
    _, _, peak = traced(lambda: ev.what_if(right, refs[::500]))
    assert peak < 1.5 * sys.getsizeof(right), (peak, sys.getsizeof(right))


@pytest.mark.parametrize(
    "options", [{"layers": "12-9-1"}, {"layers": "6-7-4", "loss": "cross-entropy"}]
)
def test_a_networks_nudged_passes_give_the_same_numbers_however_many_run_at_once(
    options: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sheetgen.layouts.network import network_layout, network_model
    from sheetgen.maths import network

    layout = network_layout(options)
    params = dict(layout.defaults)
    monkeypatch.setattr(network, "ARRAY_WORK", 0)  # the arrays, even for a small network
    whole = network_model(params, layout.settings).values
    monkeypatch.setattr(network, "PASSES_AT_ONCE", 5)  # a layer's rows in several runs
    now = network_model(params, layout.settings).values
    assert list(map(repr, now.items())) == list(map(repr, whole.items()))


def test_a_networks_nudged_passes_hold_a_few_rows_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """An 80-80-1 network's 6,480 first-layer passes as one array were 8 MB more at the peak
    of its check (the reference's peak 17.6 -> 12.9 MB run 1,024 at a time)."""
    from sheetgen.layouts.network import network_layout, network_model
    from sheetgen.maths import network

    layout = network_layout({"layers": "40-40-1"})
    params = dict(layout.defaults)
    network_model(params, layout.settings)  # numpy and the names' shapes loaded once

    def peak() -> int:
        return traced(lambda: network_model(params, layout.settings))[2]

    monkeypatch.setattr(network, "PASSES_AT_ONCE", 10**9)  # every row of a layer at once
    whole = peak()
    monkeypatch.setattr(network, "PASSES_AT_ONCE", 256)
    assert peak() < 0.85 * whole


def _model_run(spec: str, growth: str | None = None) -> Callable[[], Reference]:
    """The reference of ``spec``'s layout at its defaults, as a call of its model; made once
    here first (with ``growth`` asked, the growths worked out) so that numpy and the modules it
    loads are not what a traced run holds."""
    from sheetgen.layouts.families import model_for, resolve_layout

    layout = resolve_layout(spec)
    params, model = dict(layout.defaults), model_for(layout.settings)

    def run() -> Reference:
        return model(params, layout.settings)

    if growth is None:
        run()
    else:
        run().growth(growth)
    return run


def _with_growths(run: Callable[[], Reference], quantity: str) -> Callable[[], Reference]:
    """``run``, then its growths worked out (on the first ask of ``quantity``'s)."""

    def reference_and_growths() -> Reference:
        reference = run()
        reference.growth(quantity)
        return reference

    return reference_and_growths


@pytest.mark.parametrize("spec", ["training:steps=2000", "training:layers=2-2-1,steps=100"])
def test_a_training_reference_holds_its_numbers_and_growths_by_step(spec: str) -> None:
    # A 10,000-step run's 140,000 cells: as two dicts by name (the numbers, the growths) each
    # cost a key string twice, a float and two slots of a dict (250 bytes); by step, 8 bytes
    # and the step's own growth, with each step's start kept for the growths (20 to 28 now).
    run = _model_run(spec, "step1.net")
    reference, held, _ = traced(_with_growths(run, "step1.net"))
    cells = len(reference.values)
    assert cells > 4_000
    assert held < 40 * cells, (held, cells)


def test_a_classifiers_conditioning_is_worked_out_without_every_name_at_once() -> None:
    # Its steps' names were all spelled and grouped at once (140 bytes a cell at the peak);
    # step by step, the peak is the conditioning's own dict and the numbers (56 now).
    reference, _, peak = traced(_model_run("training:steps=2000,loss=cross-entropy"))
    cells = len(reference.values)
    assert cells > 20_000
    assert peak < 90 * cells, (peak, cells)


def test_an_optimizers_given_up_growths_are_not_copied() -> None:
    # Adam at its defaults gives up on most of 1,000 steps' cells: each was named again in a
    # copy of every growth, although already infinite (240 bytes a cell held, 115 now, most of
    # it the steps' history the growths are worked out from).
    run = _model_run("training:steps=1000,optimizer=adam", "step1.net")
    reference, held, _ = traced(_with_growths(run, "step1.net"))
    cells = len(reference.values)
    assert len(reference.unbounded()) > cells / 2
    assert held < 160 * cells, (held, cells)


# --- what the evaluator holds per cell --------------------------------------------


def test_a_large_books_evaluation_holds_its_values_and_little_more_per_cell(tmp_path: Path) -> None:
    """A large book's formulas are each compiled once, their inputs read off their texts
    when asked again (``Form.inputs_in``): the process's cache of the last 4,096 compiled
    texts is not filled with them (a 20-20-1 network's faux sums read 41 cells each, an
    80-80-1's 161). What is held is each cell's value and its slots in the evaluator's
    dicts."""
    from sheetgen.engine.compiled import compile_formula
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.workbook.safety import read_checked

    book = read_checked(Path(build(tmp_path / "n.xlsx", "network:layers=20-20-1,faux=all"))).book
    sheet = book.sheets[0]
    refs = [(sheet.title, at) for at, c in sheet.cells.items() if c.formula]
    Evaluator(book).evaluate(refs)  # the engine's functions and shapes compiled
    compile_formula.cache_clear()

    def computed() -> Evaluator:
        ev = Evaluator(book)
        ev.fill(refs)
        return ev

    ev, held, _ = traced(computed)
    assert len(refs) > 6000 and all(type(ev.values[r]) is float for r in refs[::97])
    # 160 bytes a formula; 336 while the process's cache kept the last 4,096 compiled.
    assert held < 200 * len(refs), (held, len(refs))


@pytest.mark.parametrize(
    "spec",
    ["network:layers=20-20-1,faux=all", "training:layers=2-2-1,examples=4,batch=1,steps=200"],
)
def test_an_evaluation_keeps_no_resolved_name_for_a_cell_of_its_own_sheet(
    tmp_path: Path, spec: str
) -> None:
    """A check asks for each cell by a tuple it makes on the fly; the evaluator keeps each
    value under its address in its sheet's dict (no tuple per cell, 56 bytes, in the values
    or the dependencies; a slot of two words, not three, per value), and a name a formula
    reads that is a cell its own sheet holds is that cell, by its address: ``where.resolved``
    keeps nothing for it (one entry a formula, each naming itself, was 3.8 MB of a training
    run's 140,000). Per formula: 82 to 89 bytes; 114 to 123 with those entries, 179 with
    each value under a tuple."""
    from sheetgen.engine.compiled import compile_formula
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.workbook.safety import read_checked

    book = read_checked(Path(build(tmp_path / "n.xlsx", spec))).book
    sheet = book.sheets[0]
    title, ats = sheet.title, [at for at, c in sheet.cells.items() if c.formula]
    Evaluator(book).evaluate((title, at) for at in ats)  # the engine's functions and shapes
    compile_formula.cache_clear()

    def computed() -> Evaluator:
        ev = Evaluator(book)
        ev.fill((title, at) for at in ats)
        return ev

    ev, held, _ = traced(computed)
    assert len(ats) > 6000 and all(type(ev.values[(title, at)]) is float for at in ats[::97])
    assert held < 100 * len(ats), (held, len(ats), held / len(ats))
    kept = ev.where.resolved.get(title, {})
    assert not any(name in sheet.cells for name in kept), len(kept)


@pytest.mark.parametrize(
    "spec",
    [
        "training:layers=2-2-1,examples=4,batch=4,steps=100",
        "training:layers=2-2-1,examples=4,batch=4,steps=100,optimizer=adam",
        "training:layers=2-2-1,examples=40,batch=2,steps=100",
    ],
)
def test_a_batch_runs_reference_holds_a_few_numbers_a_cell(spec: str) -> None:
    # A batch's row is every example's pass under ``example<m>.``-prefixed names, a hundred
    # bytes a number, and each step's parameters came with a copy of the data set: both kept
    # for every step till the tolerances asked (a 2-2-1 XOR run of 800 steps: 25 MB, 210
    # bytes a cell), and after. The analysis keeps each step's gradients and parameters,
    # reads the row's numbers back from the run's own, and lets the steps go once done.
    reference, run, _ = traced(_model_run(spec, "step1.loss"))
    _, growths, _ = traced(lambda: reference.growth("step1.loss"))  # the first asks for all
    cells = len(reference.values)
    assert cells > 9_000
    # 30 to 60 bytes a cell now (each of a data set's batches names its leaves); 175 to 245.
    assert run < 100 * cells, f"{cells:,} cells: the run held {run:,} bytes"
    # 40 to 85 now (the growths a number each, again a batch's names); 220 for the first.
    assert run + growths < 100 * cells, f"{cells:,} cells: with growths {run + growths:,} bytes"


def test_a_right_sheets_diagnosis_makes_no_index_of_the_layouts_cells(tmp_path: Path) -> None:
    """The layout's cells by address (``Layout.by_address``) are looked up for wrong cells
    only: a right sheet's diagnosis never indexes them (an 80-80-1 network's index was 5.8 MB
    of verify's peak), so it peaks below 50 bytes a cell (about 39: the references its walks
    ask the evaluator for; the index alone is 33 more); a wrong sheet's makes the layout's
    one index, kept for the next workbook checked against it."""
    path = Path(build(tmp_path / "n.xlsx", "network:layers=20-20-1"))
    layout = _placed_held(path)[0].layout  # the one verify checks against (its spec's)
    _diagnosis_peak(path)  # first: what is imported on the way
    peak, found = _diagnosis_peak(path)
    n = len(found.cells)
    assert all(c.ok for c in found.cells) and n > 6000
    index = {c.at: c for c in layout.cells}
    assert peak < 50 * n, (peak, n, peak / n)
    assert not layout.by_address.indexed
    moved = verify_workbook(moved_down(path), variants=0)  # a moved copy: a layout of its own
    assert moved.ok and not layout.by_address.indexed
    report = verify_workbook(_one_wrong(path, layout, tmp_path / "w.xlsx"))
    assert not report.ok and layout.by_address.indexed
    assert dict(layout.by_address) == index


def _one_wrong(path: Path, layout: Layout, out: Path) -> Path:
    """A copy of ``path`` whose first weight's gradient formula is wrong (times 1.01)."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    cell = next(c for c in layout.checked if (c.quantity or "").startswith("global."))
    wb.worksheets[0][cell.at] = f"=({(cell.formula or '=0')[1:]})*1.01"
    wb.save(out)
    return out


def test_a_placement_where_nothing_moved_holds_no_map_of_its_cells(tmp_path: Path) -> None:
    """A placement is remembered for the submissions of one hand-out: where nothing moved it
    holds the template itself and no map of where each cell is (a 200-200-1 network's was
    7.7 MB of verify's peak); where rows moved, the moved layout's own (``Layout.moved``)."""
    from sheetgen.check import locate

    path = Path(build(tmp_path / "n.xlsx", "network:layers=3-2-1"))
    locate._PLACED.clear()
    unmoved, _ = _placed_held(path)
    assert unmoved.layout is unmoved.template and not unmoved.shifted
    assert len(unmoved.moved) == 0
    remembered = [p for _, p in locate._PLACED.values() if isinstance(p, locate.Placement)]
    assert remembered and all(len(p.moved) == 0 for p in remembered if p.layout is p.template)
    moved, _ = _placed_held(moved_down(path))
    assert moved.shifted and moved.moved is moved.layout.moved
    assert all(moved.moved[c.at] != c.at for c in moved.template.cells if c.at in moved.moved)


def _constants_peak(path: Path) -> tuple[int, Any]:
    """The traced peak of naming the typed numbers of ``path``'s diagnosed cells (as
    ``verify`` does last), above what is live before it, and the cells it gives."""
    from sheetgen.check.constants import named_constants
    from sheetgen.check.diagnose import diagnose
    from sheetgen.check.structure import structure_faults

    book, layout, sheet, ev, judged = _judged(path)
    faults = structure_faults(ev, sheet.title, layout, judged.cells)
    cells = diagnose(book, sheet, layout, faults, judged.parameters, ev).cells
    named, _, peak = traced(
        lambda: named_constants(cells, layout, judged.parameters, ev, sheet.title)
    )
    return peak, named


def test_naming_a_copied_number_holds_no_map_of_every_cell_of_its_own(tmp_path: Path) -> None:
    """A number typed where a cell belongs (``=0.4*B12+C12``, the weight in B2 copied) is
    named with the cell it copies, confirmed by evaluating the formula with that cell in its
    place: the layout's cells are looked up in its own index and requirements, and the
    right values by address made only then, none by (sheet, address) pair (a 10,000-step
    training run's naming made four maps of every cell, and pairs for each)."""
    import sys

    import openpyxl

    path = Path(build(tmp_path / "t.xlsx", "training:steps=300"))
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row]
    cell = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=B2*")][150]
    weight = ws["B2"].value
    cell.value = f"={weight:.6f}{cell.value[3:]}"
    wb.save(path)
    _constants_peak(path)  # first: what is imported on the way
    peak, named = _constants_peak(path)
    (root,) = [c for c in named if c.root]
    assert root.cell == cell.coordinate and "is the problem" in root.explanation
    # 1.07 MB here (most of it the evaluation of the copy, which starts from every value),
    # 1.66 MB with the maps (a dict of every cell is 104 KB).
    index = {c.at: c for c in _placed_held(path)[0].layout.cells}
    assert peak < 12 * sys.getsizeof(index), (peak, sys.getsizeof(index))


def _typed_weight(tmp_path: Path) -> tuple[Path, str]:
    """A 300-step training run whose 151st formula reading the weight (``=B2*…``) has the
    weight typed as a number instead (``=0.400000*…``), and that cell's address."""
    import openpyxl

    path = Path(build(tmp_path / "t.xlsx", "training:steps=300"))
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row]
    cell = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=B2*")][150]
    cell.value = f"={ws['B2'].value:.6f}{cell.value[3:]}"
    wb.save(path)
    return path, cell.coordinate


def test_naming_a_copied_number_holds_nothing_per_cell(tmp_path: Path) -> None:
    """Naming a typed copy (``=0.400000*B12+C12``, the weight in B2) and confirming it looks
    up the few quantities the number could be and the right values of the few cells the
    changed formula reads, and evaluates that formula in a book differing from the sheet's in
    that one cell, from those values alone: no map of every quantity's value, of every cell's
    right value, nor a copy of the sheet's cells and of every value computed (a 10,000-step
    training run's naming held 21 MB of them; this 300-step one's 1.07 MB, ten times a dict
    of every cell, and 37 KB without)."""
    import sys

    path, at = _typed_weight(tmp_path)
    _constants_peak(path)  # first: what is imported on the way
    peak, named = _constants_peak(path)
    (root,) = [c for c in named if c.root]
    assert root.cell == at
    assert "typed 0.400000 in its formula is the problem" in root.explanation
    assert "(B2 = 0.4)" in root.explanation
    index = {c.at: c for c in _placed_held(path)[0].layout.cells}
    assert peak < sys.getsizeof(index) // 2, (peak, sys.getsizeof(index))


def test_naming_many_typed_numbers_passes_over_the_verdicts_a_few_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A learner who typed the weight into every formula that reads it (a 60-step run's
    120) has each typed number named from one map of every quantity's value and one of every
    cell's right value, made on the second ask: not a pass over every verdict for each
    number, twice (a 1,000-step run's 2,000 took 103 s; 56 s when main copied every value for
    each, 29 s now)."""
    import openpyxl

    from sheetgen.check.results import Verdicts

    path = Path(build(tmp_path / "t.xlsx", "training:steps=60"))
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    weight = ws["B2"].value
    typed = 0
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, str) and c.value.startswith("=B2*"):
                c.value = f"={weight:.6f}{c.value[3:]}"
                typed += 1
    wb.save(path)
    passes = 0
    entries = Verdicts.entries

    def counted(self: Verdicts) -> Any:
        nonlocal passes
        passes += 1
        return entries(self)

    monkeypatch.setattr(Verdicts, "entries", counted)
    _, named = _constants_peak(path)
    roots = [c for c in named if c.root and "typed 0.400000" in c.explanation]
    assert typed == 120 and len(roots) == typed, (typed, len(roots))
    assert passes < 10, passes


def test_a_fragile_cell_is_found_from_the_variants_values_of_what_it_reads(
    tmp_path: Path,
) -> None:
    """A suspect's formula (``=0.400000*B152+C152``) is evaluated again under other
    parameters with the variants' values given to the cells it reads (and what those read
    through cells outside the layout), not to every checked cell: a map of each variant's
    every value was 26 MB of a 10,000-step training run's verify, its peak (this 300-step
    run's diagnosis: 946 KB, nine times a dict of every cell; 105 KB without)."""
    import sys

    from sheetgen.check.diagnose import diagnose
    from sheetgen.check.structure import structure_faults

    path, at = _typed_weight(tmp_path)

    def diagnosed() -> tuple[Any, int]:
        book, layout, sheet, ev, judged = _judged(path)
        faults = structure_faults(ev, sheet.title, layout, judged.cells)
        found, _, peak = traced(
            lambda: diagnose(book, sheet, layout, faults, judged.parameters, ev)
        )
        return found, peak

    diagnosed()  # first: what is imported on the way
    found, peak = diagnosed()
    assert [(c.cell, c.status) for c in found.cells if not c.ok] == [(at, "fragile")]
    index = {c.at: c for c in _placed_held(path)[0].layout.cells}
    assert peak < 2 * sys.getsizeof(index), (peak, sys.getsizeof(index))


def test_a_structure_fault_is_found_without_a_reference_per_evaluated_cell(
    tmp_path: Path,
) -> None:
    """A right cell that does not read what its template reads (a faux gradient copying the
    real one) has the parameters it depends on worked out from the evaluator's own graph:
    whether a cell was evaluated is asked of the evaluator's values, not of a set of every
    cell's (sheet, address) pair (16 MB of a 10,000-step training run's)."""
    import sys

    import openpyxl

    from sheetgen.check.structure import structure_faults
    from sheetgen.check.verify import check, find_layout
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.workbook.safety import read_checked

    layout = resolve_layout("network:layers=20-20-1")
    at = {q: c.at for q, c in layout.by_quantity.items()}
    faux = next(q for q in at if q.startswith("nudge.") and q.endswith(".gradient"))
    path = Path(build(tmp_path / "n.xlsx", layout))
    wb = openpyxl.load_workbook(path)
    wb.worksheets[0][at[faux]] = f"={at['global.' + faux.split('.')[1]]}"
    wb.save(path)

    def faults() -> tuple[list[tuple[str, str]], int]:
        book = read_checked(path).book
        placement, _ = find_layout(book, None, str(path))
        ev = Evaluator(book)
        judged = check(book, placement.sheet, placement.layout, str(path), evaluator=ev)
        cells = [judged.cells]
        found, _, peak = traced(
            lambda: structure_faults(ev, placement.sheet.title, placement.layout, cells.pop())
        )
        return [(c.cell, c.status) for c in found if c.status == "structure"], peak

    faults()  # first: what is imported on the way
    found, peak = faults()
    assert found == [(at[faux], "structure")]
    # 553 KB, 1.42 MB with the set of pairs (a dict of the layout's cells is 207 KB).
    index = {c.at: c for c in layout.cells}
    assert peak < 4 * sys.getsizeof(index), (peak, sys.getsizeof(index))


def test_a_right_training_runs_structure_is_told_without_a_map_of_every_quantity(
    tmp_path: Path,
) -> None:
    """A training run's first weights repeat a parameter (``={weight}``: their template is
    kept), and are told by their formula's addresses, each a parameter's: looked up among
    the parameters, not in a map of every quantity's address (5.8 MB of a 10,000-step run's
    verify at its peak)."""
    import sys

    from sheetgen.check.structure import structure_faults
    from sheetgen.check.verify import check, find_layout
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.workbook.safety import read_checked

    path = Path(build(tmp_path / "t.xlsx", "training:steps=2000"))

    def told() -> tuple[int, int, Layout]:
        book = read_checked(path).book
        placement, _ = find_layout(book, None, str(path))
        layout, sheet = placement.layout, placement.sheet
        ev = Evaluator(book)
        judged = check(book, sheet, layout, str(path), evaluator=ev)
        cells = [judged.cells]
        found, _, peak = traced(lambda: structure_faults(ev, sheet.title, layout, cells.pop()))
        return peak, sum(c.status == "structure" for c in found), layout

    told()  # first: what is imported on the way
    peak, faults, layout = told()
    assert faults == 0 and any(c.source is not None for c in layout.checked)
    # 3 KB, 1.38 MB with the map (a dict of the layout's cells is 961 KB).
    index = {c.at: c for c in layout.cells}
    assert peak < sys.getsizeof(index) // 10, (peak, sys.getsizeof(index))


def test_a_walks_dependencies_hold_the_sheets_addresses_and_no_spare_room(tmp_path: Path) -> None:
    # The diagnosis's walk keeps every cell's dependencies (a training run's 140,000): each
    # cell by one reference whose address is the one the sheet's cells are keyed by, not a
    # copy read off a formula's text (7 MB), in a list of its length (2 MB more of room).
    import sys

    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.workbook.safety import read_checked

    book = read_checked(Path(build(tmp_path / "t.xlsx", "training:steps=1000"))).book
    sheet = book.sheets[0]
    refs = [(sheet.title, at) for at in sheet.cells]
    ev = Evaluator(book)
    ev.evaluate(refs)
    deps, held, _ = traced(lambda: {r: ev.dependencies(r) for r in refs})
    own = {at: at for at in sheet.cells}
    read = [d for found in deps.values() for d in found]
    assert len(read) > len(refs) and all(own[d[1]] is d[1] for d in read)
    assert all(sys.getsizeof(found) == sys.getsizeof(found[:]) for found in deps.values())
    # 140 bytes a cell (its list, its reference and the reference's slot); 204 before.
    per_cell = (held - sys.getsizeof(deps)) / len(refs)
    assert per_cell < 160, per_cell


def test_a_wrong_training_runs_diagnosis_holds_little_per_cell(tmp_path: Path) -> None:
    """One weight scaled half-way through a training run (``=M154*1.01``) makes every later
    cell wrong, each because of it: the diagnosis walks each cell once and keeps none of their
    inputs, shares the one root's set and words between the cells it is said of, and tells
    what the root's template reads from its own formula, never from the layout's requirements
    or an index of every quantity's position (each cell held by the walk, the requirements,
    the hints' positions and its words, 566 B a layout cell; 288 without)."""
    import openpyxl

    from sheetgen.check.constants import named_constants
    from sheetgen.check.diagnose import diagnose
    from sheetgen.check.structure import structure_faults
    from sheetgen.layouts.families import resolve_layout

    spec = "training:steps=300"
    layout = resolve_layout(spec)
    at = {c.quantity: c.at for c in layout.cells if c.quantity}["step151.weight"]
    path = Path(build(tmp_path / "t.xlsx", spec))
    wb = openpyxl.load_workbook(path)
    wb.worksheets[0][at] = f"{wb.worksheets[0][at].value}*1.01"
    wb.save(path)

    def diagnosed() -> tuple[Any, int, int]:
        book, layout, sheet, ev, judged = _judged(path)
        verdicts = [judged.cells]

        def both() -> Any:
            cells = structure_faults(ev, sheet.title, layout, verdicts.pop())
            found = diagnose(book, sheet, layout, cells, judged.parameters, ev)
            return named_constants(found.cells, layout, judged.parameters, ev, sheet.title)

        found, _, peak = traced(both)
        return found, peak, len(layout.cells)

    diagnosed()  # first: what is imported on the way
    found, peak, cells = diagnosed()
    (root,) = [c for c in found if c.root]
    wrong = [c for c in found if not c.ok]
    assert root.cell == at and len(wrong) > cells // 3
    assert all(c.causes == (at,) for c in wrong if c is not root)
    assert "1.01" in root.explanation and "Hint:" in root.explanation
    assert peak < 400 * cells, (peak, peak / cells)


def _chain(length: int) -> Any:
    """A book of one sheet whose column A counts up, each cell reading the one above (its
    addresses interned, as the book's readers intern them)."""
    import sys

    from sheetgen.workbook.book import Book, Cell, Sheet

    cells = {"A1": Cell(1.0, None)}
    cells.update({sys.intern(f"A{i}"): Cell(None, f"=A{i - 1}+1") for i in range(2, length + 1)})
    return Book((Sheet("S", cells),))


def test_an_evaluator_holds_its_overrides_as_given_not_a_copy() -> None:
    """A what-if evaluator handed every computed cell (the typed numbers' check hands a
    training run's 140,000) keeps them once, in its values by sheet, not a dict copy beside."""
    from sheetgen.engine.evaluate import Evaluator

    book = _chain(10)
    overrides = {("S", f"B{i}"): float(i) for i in range(1, 50_001)}
    Evaluator(book, overrides)  # first: what is imported and compiled on the way
    ev, held, _ = traced(lambda: Evaluator(book, overrides))
    assert ev.overrides is overrides
    assert ev.evaluate([("S", "B7"), ("S", "A10")]) == {("S", "B7"): 7.0, ("S", "A10"): 10.0}
    # The values by address: 2 MB (16 bytes a slot); a copy keyed by tuples was 2.6 MB more.
    assert held < 50_000 * 56, (held, held / 50_000)


def test_a_walk_down_a_long_chain_keeps_no_pair_and_no_address_copy_a_cell() -> None:
    """The walk that computes a cell whose inputs are not computed yet holds, for each cell
    it has still to come back to, its reference, a place on its stack and a slot in a dict:
    not a (cell, done) pair, the copy of the address its formula's text was read into, nor a
    set's room (a what-if question down a wrong training run held 10 MB of them; a walk
    down 20,000 cells peaked at 199 bytes a cell, now 65)."""
    from sheetgen.engine.evaluate import Evaluator

    length = 20_000
    book = _chain(length)
    Evaluator(book).evaluate([("S", "A100")])  # first: what is imported and compiled
    ev = Evaluator(book)
    got, held, peak = traced(lambda: ev.evaluate([("S", f"A{length}")]))
    assert got == {("S", f"A{length}"): float(length)}
    assert peak - held < 100 * length, (peak - held, (peak - held) / length)


def test_fresh_dependencies_leave_no_reference_behind() -> None:
    """``fresh_dependencies``, the diagnosis's walk over every cell: the same cells,
    none of their references kept by the engine once the lists are let go."""
    from sheetgen.engine.evaluate import Evaluator

    length = 20_000
    book = _chain(length)
    ev = Evaluator(book)
    ev.fill(("S", f"A{i}") for i in range(1, length + 1))
    refs = [("S", f"A{i}") for i in range(2, length + 1)]
    ev.fresh_dependencies(refs[0])

    def walked() -> int:
        return sum(len(ev.fresh_dependencies(ref)) for ref in refs)

    count, held, _ = traced(walked)
    assert count == length - 1
    assert held < 100 * 1024, held
    assert [ev.fresh_dependencies(r) for r in refs[:50]] == [ev.dependencies(r) for r in refs[:50]]
    assert ev.fresh_dependencies(refs[5])[0][1] is ev.dependencies(refs[5])[0][1]


def test_a_moved_sheets_built_layout_is_let_go_once_relocated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check of a moved sheet holds its relocated layout, not the built one beside it,
    whose formulas name addresses no cell of the sheet has (an 80-80-1 network's 20 MB held
    through the check, 155 MB max RSS against 130 unmoved): the family's cache lets go of a
    large layout once relocated."""
    import gc
    import weakref

    from sheetgen.check import locate
    from sheetgen.check.verify import find_layout, recorded_spec
    from sheetgen.layouts import layout as layouts
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.workbook.safety import read_checked

    # A 19-21-1 network stands for a large one, whose shape and placement locate keeps not
    # either (an 80-80-1 network's).
    monkeypatch.setattr(layouts, "LET_GO_CELLS", 1_000)
    monkeypatch.setattr(locate, "_REMEMBERED_SHAPE", 1_000)
    monkeypatch.setattr(locate, "_PLACED_TEXTS", 0)
    # A spec of its own: no other test's caches (placements, requirements) hold its layout.
    path = Path(build(tmp_path / "n.xlsx", "network:layers=19-21-1"))
    moved = moved_down(path)
    tracemalloc.start()  # before the built layout is made, for its letting go to count
    try:
        find_layout(read_checked(path).book, None, str(path))  # the built layout, cached
        book = read_checked(moved).book
        spec = recorded_spec(book)
        assert spec is not None
        built = weakref.ref(resolve_layout(spec))
        placed, held, _ = traced(
            lambda: (find_layout(book, None, str(moved))[0].layout, gc.collect())[0]
        )
    finally:
        tracemalloc.stop()
    assert built() is None  # neither the cache nor the relocated layout holds it
    assert held < 0, held  # the relocated layout in the built one's place
    assert verify_workbook(moved).ok
    # Asked for again, the spec is made again; held by another, the same layout is given.
    again = resolve_layout(spec)
    assert len(again.cells) == len(placed.cells) and again.spec == placed.spec
    layouts.let_go(again)
    assert resolve_layout(spec) is again
