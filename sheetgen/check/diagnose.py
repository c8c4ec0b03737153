"""Diagnosis that teaches: why each wrong cell is wrong, and which cells to fix first.

``judge.check`` gives every cell a verdict; this module turns the verdicts into feedback:

- **What the cell holds** (its formula and value) and **what it should be**, in plain words,
  including why an Excel error appears (``#DIV/0!`` because Tiny is 0, ``#VALUE!`` because an
  input is text, ``#NAME?`` naming the unknown function), and the cells of a circular reference.
- **Root causes.** A wrong cell is *inherited* when it would be right if the wrong cells it
  reads held their right values: we test exactly that, by putting the reference values into
  those cells (in memory) and evaluating the learner's own formula again. Otherwise it is a
  *root cause*. Inherited cells name their roots (``CellResult.causes``), so a report can list
  the few cells to fix first with the cells they drag along.
- **Formulas, not pasted numbers.** A number typed where a formula belongs, a formula that
  refers to no cell (``=0.00064``) and a formula stored as text are flagged. Then, for
  ``VARIANTS`` other sets of parameters (drawn reproducibly from ``SEED``), every layout cell
  is given the reference's value in memory (the file is never touched) and each suspect's own
  formula (see :func:`suspects`) is evaluated again: a cell right for the numbers it was
  handed but wrong from right inputs under other parameters is ``fragile``.
- **Exercises.** An empty cell that an exercise left blank (recorded in the workbook or, where
  an application dropped that record, marked by its "To do" note) is ``todo``, not ``empty``; a cell
  whose only fault is that a blank it reads is still to do is ``waiting`` (it would be right with
  that blank filled in: the same what-if test as for inherited cells); every checked cell the
  exercise handed out already filled is ``context`` (reported, never scored).
- **Stale caches.** Values saved in the file that disagree with what its formulas compute
  give a warning (files written by openpyxl save none, and get none); see ``provenance``,
  which also says which verdicts rest on saved values and which array formula fills a cell.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from operator import itemgetter
from pathlib import Path
from typing import Any

from .. import a1
from ..engine.evaluate import Evaluator, Ref, Value
from ..layouts.layout import TODO_NAME, TODO_NOTE, CellSpec, Layout
from ..maths.domain import in_domain
from ..maths.neuron import round_significant
from ..workbook.book import Book, LazyNotes, Sheet, text_constant
from . import show
from .explain import Names, explain, formula_as_text, name_of
from .graph import Graph
from .hints import noted_no_hints
from .judge import reference_for, tolerance
from .provenance import from_saved, in_array, stale_cache_warning
from .results import CONTEXT, UNEDITED, CellResult, Verdicts, addresses, held_whole

VARIANTS = 3
"""How many other sets of parameters the sheet is re-evaluated with (0 to skip)."""

SEED = 1
"""Seed of those parameters: the same file always gets the same verdict."""

Close = Callable[[CellResult, Value], bool]


@dataclass(frozen=True)
class Diagnosis:
    """What diagnosis makes of the judged cells: the refined cells, the warnings, the blanks."""

    cells: Sequence[CellResult]  # :class:`~.results.Verdicts`
    warnings: tuple[str, ...]
    blanks: tuple[str, ...]  # the cells an exercise left for the learner to fill in


def diagnose(
    book: Book | Any,
    sheet: Sheet | Any,
    layout: Layout,
    judged: Sequence[CellResult],
    parameters: Mapping[str, Value],
    ev: Evaluator,
    *,
    warnings: Sequence[str] = (),
    path: Path | None = None,
    variants: int | None = None,
    seed: int | None = None,
    hints: bool | None = None,
) -> Diagnosis:
    """The ``judged`` cells with statuses refined, root causes found and every wrong cell explained.

    ``ev`` is the evaluator ``check`` used (its dependency graph is reused); ``warnings`` are the
    ones found so far, kept first. Re-evaluations with other inputs or corrected cells are
    what-if evaluators: the workbook is never touched. ``hints`` (default: unless the sheet
    says hints are off, ``noted_no_hints``) adds each wrong cell's formula hint.
    """
    book = Book.of(book)
    ws = book.sheet(sheet.title) or Sheet(sheet.title, {})
    graph = Graph(ev, ws.title)
    recorded = recorded_todo(book)
    todo = frozenset(layout.current(at) for at in recorded) if recorded else noted_todo(ws, layout)
    # The layout's cells by address, looked up for the wrong cells only: a right sheet's
    # diagnosis never has them indexed (``Layout.by_address``).
    specs = layout.by_address
    # A right verdict held as numbers (``Verdicts``) goes through a step only where that step
    # may change it (its ``keep`` says where not): most are never made.
    cells = Verdicts.of(judged).rejudged_laid(
        lambda c, laid: _reclassify(c, laid, ws, specs, todo, ev), _never_reclassified
    )
    del judged  # most of its verdicts are in ``cells``: its own list is done with
    n = VARIANTS if variants is None else variants
    if n > 0:
        seed = SEED if seed is None else seed
        cells = _fragility(ev, ws, layout, parameters, cells, n, seed)
    causes = _causes(cells, graph, _closeness(layout, parameters))
    if ev.has_arrays(ws.title):
        cells, causes = _array_roots(cells, causes, ev, ws.title)
    hinted = not noted_no_hints(ws) if hints is None else hints
    names = Names(specs)
    marked = _explained(cells, causes, ws, graph, layout, names, hinted)
    # The graph's memos (each cell's reads, the error trails kept) are done with.
    del cells, graph, names
    if todo:
        marked = exercise_statuses(marked, todo, specs)
    marked = marked.rejudged_laid(lambda c, laid: _mark_unedited(c, laid, specs, todo)).marked(
        lambda spec, formula: UNEDITED if _holds_its_formula(spec, formula, todo) else 0
    )
    explained = marked.rejudged(lambda c: from_saved(c, ev, ws.title))  # each right one: checked
    del marked
    if ev.has_arrays(ws.title):
        title = ws.title
        explained = explained.rejudged(
            lambda c: in_array(c, ev, title), lambda spec, _: not ev.array_range((title, spec.at))
        )
    stale = stale_cache_warning(path, ws, explained) if path else None
    noted = [c.message for c in explained.whole() if c.ok and c.message]
    found = (*warnings, *(m for m in noted if m not in warnings))
    blanks = tuple(at for at in explained.addresses() if at in todo)
    return Diagnosis(explained, (*found, *([stale] if stale else [])), blanks)


# ---------------------------------------------------------------------------------------------
# Statuses: to do, formulas stored as text, formulas that refer to no cell


def recorded_todo(book: Book | Any) -> frozenset[str]:
    """The blanks an exercise recorded (``sheetgen.teacher.exercise``), or nothing otherwise."""
    return frozenset(a1.expand(text_constant(Book.of(book).name(TODO_NAME)) or ""))


def noted_todo(sheet: Sheet, layout: Layout) -> frozenset[str]:
    """The checked cells whose note is an exercise's "To do" mark, at their current addresses.

    What marks the blanks when the recorded list is gone: applications that drop text-constant
    defined names (a sheet copied to a new workbook in LibreOffice, ExcelJS) keep cell notes,
    and a note moves with its cell. Excel may put its author's name on a line of its own first.
    """
    if isinstance(sheet.notes, LazyNotes) and not sheet.notes.mentions(TODO_NOTE):
        return frozenset()  # the usual case, answered without parsing a note
    return frozenset(
        c.at
        for c in layout.checked
        if any(
            line.strip().startswith(TODO_NOTE)
            for line in sheet.notes.get(c.at, "").splitlines()[:2]
        )
    )


def exercise_statuses(
    cells: Sequence[CellResult], todo: frozenset[str], specs: Mapping[str, CellSpec]
) -> Verdicts:
    """Mark the pre-filled cells ``context`` and the cells held up by blanks ``waiting``.

    A cell is waiting when every root it is wrong because of is a blank still to do: the
    learner has not done anything wrong there yet, so it is neither wrong nor a root cause.
    """
    verdicts = Verdicts.of(cells)
    pending = {c.cell for c in verdicts.whole() if c.status == "todo"}

    def status(c: CellResult) -> CellResult:
        if c.graded and c.cell not in todo:
            c = replace(c, context=True)
        if not c.ok and c.causes and set(c.causes) <= pending:
            names = ", ".join(name_of(r, specs) for r in c.causes)
            many = len(c.causes) > 1
            c = replace(
                c,
                status="waiting",
                message=f"{c.cell} waits for {', '.join(c.causes)} to be filled in.",
                explanation=f"Waiting: it will be right once {names} "
                f"{'are' if many else 'is'} filled in; nothing to fix here.",
            )
        return c

    # A right verdict held as numbers is graded: context where it is no blank.
    return verdicts.rejudged(status).marked(lambda spec, _: 0 if spec.at in todo else CONTEXT)


def _explained(
    cells: Verdicts,
    causes: Mapping[str, tuple[str, ...]],
    ws: Sheet,
    graph: Graph,
    layout: Layout,
    names: Names,
    hints: bool,
) -> Verdicts:
    """Each verdict through :func:`~.explain.explain` with its causes (a right one has none,
    and is given back as it is)."""
    return cells.rejudged(
        lambda c: explain(c, causes.get(c.cell, ()), ws, graph, layout, names, hints=hints),
        lambda spec, _: spec.at not in causes,
    )


def _holds_its_formula(spec: CellSpec, formula: str, todo: frozenset[str]) -> bool:
    """:func:`_mark_unedited`'s test of a right verdict with ``formula`` on ``spec``'s cell."""
    if spec.at in todo or spec.formula is None:
        return False
    return formula == spec.formula or a1.normal_formula(formula) == a1.normal_formula(spec.formula)


def _never_reclassified(spec: CellSpec, formula: str) -> bool:
    """Whether :func:`_reclassify` gives back as it is a right verdict with ``formula`` on
    ``spec``'s cell: all but a formula other than the template's (it may refer to no cell)."""
    return spec.kind != "formula" or spec.formula is None or formula == spec.formula


def _mark_unedited(
    c: CellResult, laid: CellSpec | None, specs: Mapping[str, CellSpec], todo: frozenset[str]
) -> CellResult:
    """``edited=False`` for a cell that still holds what the layout put there: ``laid``
    (its layout cell, where known), else looked up in ``specs``, for a graded verdict only."""
    if not c.graded or (spec := laid if laid is not None else specs.get(c.cell)) is None:
        return c
    if c.cell in todo:
        same = c.formula is None and c.found is None
    elif spec.formula is not None:
        same = c.formula is not None and (
            c.formula == spec.formula  # most cells: the very text
            or a1.normal_formula(c.formula) == a1.normal_formula(spec.formula)
        )
    else:
        return c
    return c.unedited() if same else c


def _reclassify(
    c: CellResult,
    laid: CellSpec | None,
    ws: Sheet,
    specs: Mapping[str, CellSpec],
    todo: frozenset[str],
    ev: Evaluator,
) -> CellResult:
    """``c`` told ``todo``, a formula stored as text, or ``typed`` (a formula that refers to no
    cell); its layout cell is ``laid`` where known, else looked up in ``specs`` (for a verdict
    with a formula only)."""
    if c.status == "empty" and c.cell in todo:
        return replace(c, status="todo", message=f"{c.cell} is still to do.")
    if c.status == "text" and (text := formula_as_text(ws, c.cell)) is not None:
        return replace(
            c,
            message=f"{c.cell} holds the formula {text} as text, so it is never computed; "
            f"it should be {_num(c.expected)}.",
        )
    if (
        c.status in ("ok", "wrong")
        and c.formula is not None
        and (spec := laid if laid is not None else specs.get(c.cell)) is not None
        and spec.kind == "formula"
        and spec.formula is not None
        and c.formula != spec.formula  # the same text reads the same cells: never a number
        # Compiled as the evaluator compiled them (kept there, not compiled again).
        and ev.compiled(c.formula).problem is None
        and not ev.compiled(c.formula).inputs
        and ev.compiled(spec.formula).inputs
    ):
        if c.ok and spec.repeats_a_parameter:  # as a typed copy of an input: verify's policy
            return replace(
                c,
                message=f"{c.cell} holds {c.formula}, a number, as the article's sheet does; "
                f"the formula {spec.formula} would follow when that input changes.",
            )
        how = "the right number" if c.ok else f"{_num(c.found)}, not {_num(c.expected)}"
        return replace(
            c,
            status="typed",
            message=f"{c.cell} holds {c.formula} ({how}), a formula that refers to no cell: "
            "it will not follow when an input changes.",
        )
    return c


# ---------------------------------------------------------------------------------------------
# The dependency graph, and what-if evaluation


def _rescued(
    ev: Evaluator,
    sheet: str,
    bad: Mapping[str, CellResult],
    candidates: Sequence[str],
    close: Close,
) -> set[str]:
    """The ``candidates`` whose own formula gives the right number once every wrong cell
    holds its reference value (a what-if evaluation: the workbook is never touched)."""
    if not candidates:
        return set()
    right: dict[Ref, Value] = {
        (sheet, a): c.expected for a, c in bad.items() if c.expected is not None
    }
    # Each candidate by the reference ``right`` holds (every one has a right value): not a
    # second one made for each (a wrong 10,000-step run has 70,000).
    asked = frozenset(candidates)
    values = ev.what_if(right, (ref for ref in right if ref[1] in asked))
    return {ref[1] for ref, value in values.items() if close(bad[ref[1]], value)}


def _closeness(layout: Layout, params: Mapping[str, Value]) -> Close:
    """Whether a value is right for a cell, by ``verify.tolerance`` for these parameters."""
    ref = reference_for(layout, params)

    def close(c: CellResult, value: Value) -> bool:
        if ref is None or c.expected is None or not isinstance(value, float):
            return False
        if isinstance(value, bool):
            return False
        return abs(value - c.expected) <= tolerance(c.quantity, c.expected, ref)

    return close


# ---------------------------------------------------------------------------------------------
# Root causes


def _causes(
    cells: Sequence[CellResult],
    graph: Graph,
    close: Close,
) -> dict[str, tuple[str, ...]]:
    """For every inherited wrong cell, the root cells it is wrong because of (in sheet order)."""
    bad = {c.cell: c for c in held_whole(cells) if not c.ok and c.checked}  # never a cause
    if not bad:
        return {}
    nearest = graph.nearest_each(bad, bad)
    bad_inputs = tuple(a for a, c in bad.items() if not c.graded)
    direct: dict[str, tuple[str, ...]] = {}
    candidates = []
    for a, c in bad.items():
        problem = graph.ev.problems.get(graph.ref(a))
        anchor = graph.ev.array_anchor(graph.ref(a))
        if anchor in bad:  # one array formula computes both: it is wrong at its top-left cell
            direct[a] = (anchor,)
        elif c.status == "unchecked":
            direct[a] = nearest[a] or bad_inputs
        elif (
            not c.graded
            or c.formula is None
            or c.status in ("typed", "fragile", "structure")
            or not nearest[a]
            or (problem is not None and problem.kind != "circular")
            or (problem is not None and graph.on_cycle(a))
        ):
            direct[a] = ()
        elif c.expected is not None and all(bad[n].expected is not None for n in nearest[a]):
            candidates.append(a)
        else:
            direct[a] = nearest[a]
    rescued = _rescued(graph.ev, graph.sheet, bad, candidates, close)
    for a in candidates:
        direct[a] = nearest[a] if a in rescued else ()

    # Each root set is worked out once and shared by the cells it is said of (one gradient
    # wrong in a 10,000-step run: 70,000 cells, one root), and only the roots are numbered.
    roots: dict[str, frozenset[str]] = {}
    found = {a: _roots_of(a, frozenset(), direct, roots) for a in bad if direct.get(a)}
    del roots, direct, nearest
    named = frozenset().union(*set(found.values())) if found else frozenset()
    order = {a: i for i, a in enumerate(addresses(cells)) if a in named}
    last = len(cells)
    said: dict[frozenset[str], tuple[str, ...]] = {}
    for why in found.values():
        if why not in said:
            said[why] = tuple(sorted(why, key=lambda r: order.get(r, last)))
    return {a: said[why] for a, why in found.items()}


def _roots_of(
    a: str,
    visiting: frozenset[str],
    direct: Mapping[str, tuple[str, ...]],
    roots: dict[str, frozenset[str]],
) -> frozenset[str]:
    """The roots wrong cell ``a`` is wrong because of, through the cells it is wrong
    because of directly (``direct``); each inherited cell's kept in ``roots``. A function of
    the module's, not a closure: a recursive closure is a reference cycle, and held what it
    found (5 MB of a wrong 10,000-step run's) until the collector ran."""
    if a in roots:
        return roots[a]
    if not direct.get(a) or a in visiting:
        return frozenset((a,))
    inside = visiting | {a}
    reads = direct[a]
    if len(reads) == 1:  # the set of the one it reads, shared
        out = _roots_of(reads[0], inside, direct, roots)
    else:
        out = frozenset().union(*[_roots_of(n, inside, direct, roots) for n in reads])
    roots[a] = out
    return out


def _array_roots(
    cells: Verdicts, causes: Mapping[str, tuple[str, ...]], ev: Evaluator, sheet: str
) -> tuple[Verdicts, dict[str, tuple[str, ...]]]:
    """A wrong array formula is wrong where it is written, at its top-left cell: the cells of
    its range wrong in themselves are wrong because of it, even when its own number is right
    (``{1;2;1;1;1}`` scales the second cell only)."""
    by_cell = {c.cell: c for c in cells}
    members: dict[str, list[str]] = {}
    for c in cells.whole():
        if c.root and c.graded and c.cell not in causes:
            anchor = ev.array_anchor((sheet, c.cell))
            if anchor is not None and anchor in by_cell and by_cell[anchor].ok:
                members.setdefault(anchor, []).append(c.cell)
    if not members:
        return cells, dict(causes)
    moved = {m: a for a, ms in members.items() for m in ms}
    order = {c.cell: i for i, c in enumerate(cells)}
    out = {
        a: tuple(sorted({moved.get(r, r) for r in why}, key=lambda r: order.get(r, len(order))))
        for a, why in causes.items()
    }
    out.update({m: (a,) for m, a in moved.items()})
    changed = {}
    for i, at in enumerate(cells.addresses()):
        if at in members:
            c = by_cell[at]
            wrong = members[c.cell]
            first = by_cell[wrong[0]].message.rstrip(".")
            changed[i] = replace(
                c,
                status="wrong",
                message=f"{c.cell}'s array formula fills {ev.array_range((sheet, c.cell))} and "
                f"gives wrong numbers in {', '.join(wrong)} ({first}); {c.cell}'s own number "
                "is right.",
            )
    return cells.replaced(changed), out


# ---------------------------------------------------------------------------------------------
# Robustness: the same formulas under other inputs


def variant_parameters(
    layout: Layout, base: Mapping[str, Value], rng: random.Random
) -> dict[str, float]:
    """Other parameters for every parameter cell: the sheet's own scaled by 0.5 to 2, either
    sign, within the layout's domain (:func:`~sheetgen.maths.domain.in_domain`).

    A sign flip catches formulas that only work for positive numbers; scaling (not fresh
    values) keeps each parameter in its own order of magnitude, so Tiny stays tiny.
    """
    out: dict[str, float] = {}
    for spec in layout.inputs:
        assert spec.quantity is not None
        b = base.get(spec.quantity)
        if not isinstance(b, float) or isinstance(b, bool) or b == 0:
            b = layout.defaults.get(spec.quantity) or 0.0
        factor = rng.uniform(0.5, 2.0) * rng.choice((1.0, -1.0))
        out[spec.quantity] = round_significant(b * factor if b else rng.uniform(-1.0, 1.0), 3)
    return in_domain(layout.settings, base, out, rng)


def suspects(ev: Evaluator, sheet: str, layout: Layout) -> set[str]:
    """Checked cells whose own formula might hide a number typed where a cell belongs.

    Worked out from the book's structure and the layout alone: remembered for the books of
    one hand-out (``Evaluator.remembered``).
    """
    kept = ev.remembered(
        ("suspects", sheet, id(layout)), lambda: (layout, suspected(ev, sheet, layout))
    )
    return set(kept[1] if kept[0] is layout else suspected(ev, sheet, layout))


def suspected(
    ev: Evaluator,
    sheet: str,
    layout: Layout,
    *,
    by_template: bool = True,
) -> frozenset[str]:
    """:func:`suspects`, worked out.

    A cell that holds the template's own formula (up to ``$``, spaces and case) and reads only
    cells of the layout computes, from right inputs, what the template computes, whatever the
    parameters: it cannot be right for the sheet's own numbers only. Every other checked cell
    is a suspect: another formula (``=B2*0.5+D2``, or a right one written differently), one
    that reads a cell outside the layout (a helper cell, another sheet), a typed number. If a
    defined name the template uses points elsewhere, every checked cell is.

    Most cells hold the template's formula exactly, and where its addresses are all the
    layout's own quantities (``CellSpec.source`` None: the formula says its template), a
    cell reading only the cells its text names reads layout cells: it is no suspect without
    its dependencies listed (a large network's 161-cell sums, 90,000 cells). ``by_template``
    False lists them for every cell: the general way, which tests hold the shortcut to.
    """
    if any(ev.points_to(sheet, name) != (sheet, at) for name, at in layout.names.items()):
        return frozenset(c.at for c in layout.checked)
    labels = [c for c in layout.cells if c.kind == "text"]
    texts = frozenset(c.at for c in labels)
    # A quantity's cell is read by the formulas naming it: none may be a text's.
    by_template = by_template and all(c.quantity is None for c in labels)
    out = set()
    tested = []  # those holding the template's formula, which must read the layout only
    for spec in layout.checked:
        text = ev.formula((sheet, spec.at))
        if spec.formula is None:
            if text is not None:
                out.add(spec.at)  # a formula where the template has a number
        elif (
            by_template
            and text == spec.formula
            and spec.source is None
            and _reads_as_written(text)
            and ev.reads_its_cells((sheet, spec.at))
        ):
            continue  # reads the cells its template names, each a quantity of the layout
        elif text is None or (
            text != spec.formula and a1.normal_formula(text) != a1.normal_formula(spec.formula)
        ):
            out.add(spec.at)
        else:
            tested.append(spec.at)
    if tested:
        out.update(_reading_elsewhere(ev, sheet, layout, tested, texts))
    return frozenset(out)


def _reading_elsewhere(
    ev: Evaluator, sheet: str, layout: Layout, cells: Sequence[str], texts: AbstractSet[str]
) -> Iterator[str]:
    """The ``cells`` of ``sheet`` that read a cell outside ``layout``, one of its ``texts`` or
    another sheet's.

    The layout's addresses, not (sheet, address) pairs: a pair per cell was 6 MB of an
    80-80-1 network's verify at its peak. Where the layout's index is made (``by_address``)
    or most cells are asked about, its addresses are the index's; otherwise they are those of
    the layout's cells that these cells read, found in one pass over its cells: a right
    sheet's few (a network's faux gradients, which read ``Tiny``; a training run's first
    weights, which repeat a parameter) do not make the index (5.8 MB of an 80-80-1 network's
    verify at its peak).
    """
    index = layout.by_address
    addresses: Container[str]
    if index.indexed or len(cells) > len(layout.cells) // 8:
        addresses = index.index
    else:
        read = {a for at in cells for s, a in ev.dependencies((sheet, at)) if s == sheet}
        addresses = {c.at for c in layout.cells if c.at in read}
    for at in cells:
        if not _within(ev.dependencies((sheet, at)), sheet, addresses, texts):
            yield at


def _reads_as_written(text: str) -> bool:
    """Whether the cells of ``text`` that the engine reads as its own (``Form.cells``: no
    sheet, range or name among them) are those its addresses (``a1.TEMPLATE_CELL``, as a
    layout writes them) name: none written ``$B$2``, none in lower case."""
    return text.isupper() and "$" not in text


_SHEET_OF, _ADDRESS_OF = itemgetter(0), itemgetter(1)


def _within(
    reads: Sequence[Ref],
    sheet: str,
    addresses: Container[str],
    outside: AbstractSet[str] = frozenset(),
) -> bool:
    """Whether each of ``reads`` is one of ``addresses``, and none of ``outside``, on ``sheet``."""
    return (
        all(map(addresses.__contains__, map(_ADDRESS_OF, reads)))
        and outside.isdisjoint(map(_ADDRESS_OF, reads))
        and all(map(sheet.__eq__, map(_SHEET_OF, reads)))
    )


def _fragility(
    ev: Evaluator,
    ws: Sheet,
    layout: Layout,
    params: Mapping[str, Value],
    cells: Verdicts,
    variants: int,
    seed: int,
) -> Verdicts:
    """Mark ``fragile`` the right cells whose own formula is wrong under other parameters.

    For each of ``variants`` sets of parameters, every cell of the layout is given the
    reference's value for them (in memory) and each suspect's own formula is evaluated again:
    a cell that is wrong even though everything it reads is right computes from a number
    typed into it, not from its cells. (Cells outside the layout, helper cells, are computed
    from the new values as the sheet would.) Cells that are not ``suspects`` are skipped:
    they provably follow any parameters.
    """
    # Cells holding plain numbers were judged by verify's policy for typed numbers; here we
    # look for numbers hidden inside formulas that do refer to cells.
    # A verdict that rests on a saved value cannot follow other parameters: not a suspect.
    suspected = suspects(ev, ws.title, layout)  # first: none at all on most sheets
    if not suspected:
        return cells
    ok = set()
    for _, laid, held in cells.entries():
        if isinstance(held, CellResult):
            c = held
            if (
                c.cell in suspected
                and c.ok
                and c.formula
                and not c.saved
                and ev.compiled(c.formula).inputs
            ):
                ok.add(c.cell)
        elif laid is not None and laid.at in suspected and held and ev.compiled(held).inputs:
            ok.add(laid.at)  # a right verdict held as numbers: its formula ``held``, none saved
    if not ok or reference_for(layout, params) is None:
        return cells
    position = {at: i for i, at in enumerate(cells.addresses()) if at in ok}
    by_cell = {at: cells[i] for at, i in position.items()}
    rng = random.Random(seed)
    fragile: dict[str, str] = {}
    for _ in range(variants):
        other = variant_parameters(layout, params, rng)
        ref = reference_for(layout, other)
        if ref is None:
            continue
        read = _read_through(ev, ws.title, layout, ref.values, ok)
        right: dict[Ref, Value] = {
            (ws.title, s.at): ref.values[s.quantity]
            for s in layout.checked
            if s.quantity is not None
            and (read is None or s.at in read)
            and s.quantity in ref.values
        }
        right.update({(ws.title, s.at): other[s.quantity] for s in layout.inputs if s.quantity})
        found = ev.what_if(right, [(ws.title, at) for at in sorted(ok - set(fragile))])
        shown = ", ".join(f"{k} = {show.number(v)}" for k, v in other.items())
        for (_, at), value in found.items():
            c = by_cell[at]
            want = ref.values[c.quantity]
            close = (
                isinstance(value, float)
                and not isinstance(value, bool)
                and abs(value - want) <= tolerance(c.quantity, want, ref)
            )
            if not close:
                fragile[at] = (
                    f"{at} is right for the sheet's own inputs only: with {shown} "
                    f"it gives {_num(value)}, not {_num(want)}."
                )
    return cells.replaced(
        {
            position[at]: replace(by_cell[at], status="fragile", message=message)
            for at, message in fragile.items()
        }
    )


def _read_through(
    ev: Evaluator,
    sheet: str,
    layout: Layout,
    given: Container[str],
    starts: AbstractSet[str],
) -> set[str] | None:
    """The addresses on ``sheet`` of the cells the formulas at ``starts`` read (and
    ``starts`` themselves), through the cells a variant's evaluation computes: a read cell is
    given its value when it is a layout's input or a checked cell whose quantity is among
    ``given``, else computed from what it reads. Only those cells need a variant's values: a
    map of every checked cell's was 26 MB of a 10,000-step training run's verify, its peak,
    for a suspect reading two. None when the reads reach a quarter of the checked cells (a
    map of every one is then as small), or go on past ``_READ_LEVELS`` cells computed one
    from another (each level is a pass over the layout's cells: a learner's own chain of
    helper cells would make the walk cost more than the map it spares)."""
    limit = len(layout.checked) // 4
    reached = set(starts)
    seen: set[Ref] = {(sheet, at) for at in starts}
    frontier = list(seen)
    for _ in range(_READ_LEVELS):
        if not frontier:
            return reached
        found: list[Ref] = []
        for r in frontier:
            for d in ev.dependencies(r):
                if d not in seen:
                    seen.add(d)
                    found.append(d)
        if len(seen) > limit:
            return None
        here = {d[1] for d in found if d[0] == sheet}
        valued = (
            {
                s.at
                for s in layout.cells
                if s.at in here
                and s.quantity is not None
                and (
                    (s.checked and s.quantity in given)
                    or (s.kind == "input" and not s.decoration and s.quantity)
                )
            }
            if here
            else set()
        )
        reached |= here
        frontier = [d for d in found if d[0] != sheet or d[1] not in valued]
    return None if frontier else reached


_READ_LEVELS = 8


def _num(v: Value | None) -> str:
    return "?" if v is None else show.value(v)
