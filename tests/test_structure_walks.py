"""The structure check's questions answered in time that grows with the sheet: each formula's
parameters worked out once (as bits) give what walking its whole chain gives, asked in any
order, and a cycle in the template's formulas falls back to the walk."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sheetgen.check.structure import Parameters, requirements
from sheetgen.layouts.families import resolve_layout

from .support.graphs import random_template

SPECS = [
    "single_neuron",
    "training:steps=6,optimizer=adam",
    "training:layers=2-2-1,examples=4,batch=3,steps=3",
    "network:layers=3-2-2,loss=cross-entropy",
]


@pytest.mark.parametrize("spec", SPECS)
def test_every_quantitys_parameters_as_the_walk_finds_them_in_any_order(spec: str) -> None:
    needs = requirements(resolve_layout(spec))
    quantities = list(needs.reads)
    random.Random(spec).shuffle(quantities)
    fresh = Parameters(needs.reads, needs.kind)
    for q in quantities:
        assert fresh[q] == fresh._collect(q), q
    assert any(fresh[q] for q in quantities)


def test_random_graphs_with_cycles_answer_as_the_walk() -> None:
    rng = random.Random(23)
    for _ in range(400):
        reads, kind = random_template(rng, 14)
        params = Parameters(reads, kind)
        order = list(reads)
        rng.shuffle(order)
        for q in order:
            assert params[q] == params._collect(q), (q, reads, kind)


def test_a_long_chain_is_worked_out_without_recursion() -> None:
    # A training run's chain of formulas is thousands deep: deeper than Python's recursion.
    depth = 50_000
    reads = {f"f{k}": (f"f{k - 1}", "p") if k else ("x",) for k in range(depth)}
    kind: dict[str, Any] = {f"f{k}": "formula" for k in range(depth)} | {
        "x": "input",
        "p": "input",
    }
    params = Parameters(reads, kind)
    assert params[f"f{depth - 1}"] == {"x", "p"}
    assert params["f0"] == {"x"}


def test_a_roots_inherited_cells_as_a_scan_of_every_cell_finds_them(tmp_path: Any) -> None:
    # Indexed once for the whole report (a sheet whose rows all moved has thousands of roots,
    # each scanning every cell was quadratic): the same cells, in the same order.
    import openpyxl

    from sheetgen import build, verify_workbook

    path = build(tmp_path / "t.xlsx", "training:layers=2-2-1,steps=8")
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    assert ws is not None
    first = next(c for row in ws.iter_rows() for c in row if str(c.value).startswith("="))
    first.value = f"=({str(first.value)[1:]})*1.01"  # a root with cells wrong through it
    wb.save(tmp_path / "slip.xlsx")
    report = verify_workbook(tmp_path / "slip.xlsx", variants=0)
    roots = [c.cell for c in report.cells if c.root]
    for cell in [c.cell for c in report.cells]:
        assert report.inherited_from(cell) == tuple(c for c in report.cells if cell in c.causes)
    assert any(report.inherited_from(cell) for cell in roots)


def _edited(tmp_path: Any, spec: str, edit: str) -> Any:
    import openpyxl

    from sheetgen import build, build_exercise

    if edit == "exercise":
        return build_exercise(tmp_path / f"{edit}.xlsx", spec)
    path = build(tmp_path / "t.xlsx", spec)
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    assert ws is not None
    cells = [c for row in ws.iter_rows() for c in row if str(c.value).startswith("=")]
    if edit == "row":
        ws.insert_rows(ws.max_row // 2)  # as a program does it: the formulas do not follow
    elif edit == "cycle":  # a formula that reads a later one, which reads it back
        early, late = cells[len(cells) // 3], cells[2 * len(cells) // 3]
        early.value = f"={late.coordinate}*0+{str(early.value)[1:]}"
    elif edit == "reread":  # a formula that reads another parameter's cell than its own
        cells[len(cells) // 2].value = f"=({str(cells[len(cells) // 2].value)[1:]})*1.01"
    wb.save(tmp_path / f"{edit}.xlsx")
    return tmp_path / f"{edit}.xlsx"


@pytest.mark.parametrize(
    ("spec", "edit"),
    [
        ("training:layers=2-2-1,steps=6", "row"),
        ("training:steps=8,optimizer=adam", "row"),
        ("network:layers=3-3-1", "row"),
        ("network:layers=3-3-1", "cycle"),
        ("training:steps=5", "cycle"),
        ("training:layers=2-2-1,examples=4,steps=2", "exercise"),
        ("network:layers=2-2-1", "reread"),
    ],
)
def test_a_cells_parameters_told_by_bits_as_by_walking_from_each_parameter(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, spec: str, edit: str
) -> None:
    # Each cell's parameters worked out once, as bits: the same report as walking forwards
    # from each parameter's cell (what a cycle in the sheet still does).
    from sheetgen import verify_workbook
    from sheetgen.check import structure
    from sheetgen.report.render import to_json

    path = _edited(tmp_path, spec, edit)
    told = to_json(verify_workbook(path, variants=0))
    monkeypatch.setattr(structure._Reach, "_has", lambda self, start: None)
    walked = to_json(verify_workbook(path, variants=0))
    assert told == walked


class _Deps:
    """An evaluator's dependency graph alone: what ``diagnose``'s graph asks of one."""

    def __init__(self, graph: dict[tuple[str, str], list[tuple[str, str]]]) -> None:
        self.graph = graph

    def dependencies(self, ref: tuple[str, str]) -> list[tuple[str, str]]:
        return list(self.graph.get(ref, []))

    fresh_dependencies = dependencies  # the walk from every cell asks its inputs afresh


def test_the_bad_cells_each_reads_as_walking_from_each_in_random_graphs() -> None:
    # Worked out once per good cell: the same cells in the same order as each cell's own
    # walk, cycles (walked on their own) and other sheets' cells included.
    from sheetgen.check.graph import Graph

    rng = random.Random(24)
    for _ in range(400):
        n = rng.randint(1, 16)
        cells = [("S", f"A{k}") for k in range(n)] + [("T", "A1"), ("T", "A2")]
        acyclic = rng.random() < 0.5
        graph = {
            ref: rng.sample(
                cells[k + 1 :] if acyclic else cells, rng.randint(0, min(4, len(cells) - k - 1))
            )
            for k, ref in enumerate(cells)
        }
        bad = {c[1]: None for c in cells[:n] if rng.random() < 0.4}
        g = Graph(_Deps(graph), "S")  # type: ignore[arg-type]
        each = g.nearest_each(bad, bad)
        assert each == {a: g.nearest(a, bad) for a in bad}, (graph, bad)


def test_the_names_kept_for_the_last_few_cells_are_the_names_said_afresh() -> None:
    # Explaining a large wrong sheet names each cell many times: kept, but never all at once.
    from sheetgen.check.explain import Names, name_of

    specs = {c.at: c for c in resolve_layout("network:layers=3-2-2,loss=cross-entropy").cells}
    names = Names(specs, kept=7)
    rng = random.Random(25)
    cells = [*specs, "ZZ99"]  # a cell off the layout is named by its address
    for _ in range(2_000):
        cell = rng.choice(cells)
        assert names(cell) == name_of(cell, specs), cell
        assert names.said.cache_info().currsize <= 7


class _Values(_Deps):
    """An evaluator's graph with values: what ``diagnose`` reads to follow an error back."""

    def __init__(
        self, graph: dict[tuple[str, str], list[tuple[str, str]]], values: dict[Any, Any]
    ) -> None:
        super().__init__(graph)
        self.values = values
        self.problems: dict[Any, Any] = {}

    def formula(self, ref: tuple[str, str]) -> str | None:
        return "=1" if self.graph.get(ref) else None


def _error_walk(cell: str, graph: Any, names: Any, seen: set[str]) -> str:
    """Following an error back one cell at a time, each step said afresh (the walk the kept
    trails replace)."""
    from sheetgen.check.explain import error_starts
    from sheetgen.engine.evaluate import CellError

    ref = graph.ref(cell)
    value = graph.ev.values.get(ref)
    code = value.code if isinstance(value, CellError) else "an error"
    seen.add(cell)
    for dep in graph.deps(ref):
        dv = graph.ev.values.get(dep)
        if dep[0] == graph.sheet and isinstance(dv, CellError) and dep[1] not in seen:
            return f"It shows {code} because {names(dep[1])} does. " + _error_walk(
                dep[1], graph, names, seen
            ).replace("It shows", f"{dep[1]} shows", 1)
    return error_starts(cell, code, graph, names)


def test_an_errors_trail_said_from_the_kept_trails_as_walking_it_says_it() -> None:
    # Random graphs with cycles, errors of several kinds, text and other sheets' cells; each
    # cell explained in a random order, the kept trails met from anywhere.
    from sheetgen.check.explain import Names, why_error
    from sheetgen.check.graph import Graph
    from sheetgen.engine.evaluate import CellError

    rng = random.Random(26)
    kinds = [CellError("#VALUE!"), CellError("#DIV/0!"), CellError("#NUM!"), "text", 0.0, 2.0]
    for _ in range(400):
        n = rng.randint(1, 14)
        cells = [("S", f"A{k}") for k in range(n)] + [("T", "A1")]
        graph = {ref: rng.sample(cells, rng.randint(0, min(4, len(cells)))) for ref in cells}
        values = {ref: rng.choice(kinds) for ref in cells}
        g = Graph(_Values(graph, values), "S")  # type: ignore[arg-type]
        names = Names({})
        order = [c[1] for c in cells[:n]]
        rng.shuffle(order)
        for cell in order * 2:
            want = _error_walk(cell, g, names, set())
            assert why_error(cell, g, names) == want, (cell, graph, values)
