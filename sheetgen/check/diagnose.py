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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import a1
from ..engine.evaluate import CellError, Evaluator, Ref, Value
from ..layouts.layout import TODO_NAME, TODO_NOTE, CellSpec, Layout
from ..maths.domain import in_domain
from ..maths.neuron import describe, round_significant
from ..workbook.book import Book, LazyNotes, Sheet, text_constant
from . import show
from .hints import hint, noted_no_hints
from .judge import reference_for, tolerance
from .provenance import from_saved, in_array, stale_cache_warning
from .results import CellResult
from .swaps import read_instead

VARIANTS = 3
"""How many other sets of parameters the sheet is re-evaluated with (0 to skip)."""

SEED = 1
"""Seed of those parameters: the same file always gets the same verdict."""

Close = Callable[[CellResult, Value], bool]


@dataclass(frozen=True)
class Diagnosis:
    """What diagnosis makes of the judged cells: the refined cells, the warnings, the blanks."""

    cells: tuple[CellResult, ...]
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
    graph = _Graph(ev, ws.title)
    recorded = recorded_todo(book)
    todo = frozenset(layout.current(at) for at in recorded) if recorded else noted_todo(ws, layout)
    specs = {c.at: c for c in layout.cells}
    cells = [_reclassify(c, ws, specs.get(c.cell), todo, ev) for c in judged]
    n = VARIANTS if variants is None else variants
    if n > 0:
        cells = _fragility(ev, ws, layout, parameters, cells, n, SEED if seed is None else seed)
    causes = _causes(cells, graph, _closeness(layout, parameters))
    if ev.has_arrays(ws.title):
        cells, causes = _array_roots(cells, causes, ev, ws.title)
    hinted = not noted_no_hints(ws) if hints is None else hints
    names = _Names(specs)
    marked = [
        _explain(c, causes.get(c.cell, ()), ws, graph, layout, names, hints=hinted) for c in cells
    ]
    # Most verdicts are copied below: each judged one let go as its copy is made. The graph's
    # memos (each cell's reads, the error trails kept) are done with.
    del cells, judged, graph, names
    if todo:
        marked = list(exercise_statuses(marked, todo, specs))
    for i, c in enumerate(marked):
        marked[i] = _mark_unedited(c, specs.get(c.cell), todo)
    explained = tuple(from_saved(c, ev, ws.title) for c in marked)
    del marked
    if ev.has_arrays(ws.title):
        explained = tuple(in_array(c, ev, ws.title) for c in explained)
    stale = stale_cache_warning(path, ws, explained) if path else None
    noted = [c.message for c in explained if c.ok and c.message]
    found = (*warnings, *(m for m in noted if m not in warnings))
    blanks = tuple(c.cell for c in explained if c.cell in todo)
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
) -> tuple[CellResult, ...]:
    """Mark the pre-filled cells ``context`` and the cells held up by blanks ``waiting``.

    A cell is waiting when every root it is wrong because of is a blank still to do: the
    learner has not done anything wrong there yet, so it is neither wrong nor a root cause.
    """
    pending = {c.cell for c in cells if c.status == "todo"}
    out = []
    for c in cells:
        if c.graded and c.cell not in todo:
            c = replace(c, context=True)
        if not c.ok and c.causes and set(c.causes) <= pending:
            names = ", ".join(_name(r, specs) for r in c.causes)
            many = len(c.causes) > 1
            c = replace(
                c,
                status="waiting",
                message=f"{c.cell} waits for {', '.join(c.causes)} to be filled in.",
                explanation=f"Waiting: it will be right once {names} "
                f"{'are' if many else 'is'} filled in; nothing to fix here.",
            )
        out.append(c)
    return tuple(out)


def _mark_unedited(c: CellResult, spec: CellSpec | None, todo: frozenset[str]) -> CellResult:
    """``edited=False`` for a cell that still holds what the layout put there."""
    if spec is None or not c.graded:
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


def _formula_as_text(ws: Sheet, at: str) -> str | None:
    """The text a cell holds if it is a formula stored as text (``'=B2*C2``), else None."""
    raw = ws.cells.get(at)
    if raw is None or raw.formula is not None or not isinstance(raw.value, str):
        return None
    return raw.value if raw.value.startswith("=") else None


def _reclassify(
    c: CellResult, ws: Sheet, spec: CellSpec | None, todo: frozenset[str], ev: Evaluator
) -> CellResult:
    if c.status == "empty" and c.cell in todo:
        return replace(c, status="todo", message=f"{c.cell} is still to do.")
    if c.status == "text" and (text := _formula_as_text(ws, c.cell)) is not None:
        return replace(
            c,
            message=f"{c.cell} holds the formula {text} as text, so it is never computed; "
            f"it should be {_num(c.expected)}.",
        )
    if (
        c.status in ("ok", "wrong")
        and spec is not None
        and spec.kind == "formula"
        and c.formula is not None
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


class _Graph:
    """The formulas' dependency graph on the checked sheet (structure only, never values)."""

    def __init__(self, ev: Evaluator, sheet: str) -> None:
        self.ev = ev
        self.sheet = sheet
        self._deps: dict[Ref, list[Ref]] = {}
        # Each error explained: what is said of it, and the cells of its trail (_why_error).
        self.trails: dict[str, tuple[str, frozenset[str]]] = {}

    def deps(self, ref: Ref) -> list[Ref]:
        if ref not in self._deps:
            self._deps[ref] = self.ev.dependencies(ref)
        return self._deps[ref]

    def ref(self, cell: str) -> Ref:
        return (self.sheet, cell)

    def nearest(self, cell: str, bad: Mapping[str, object]) -> tuple[str, ...]:
        """The bad cells ``cell`` reads, directly or through good cells (not past a bad one)."""
        found: list[str] = []
        seen: set[Ref] = set()
        stack = list(reversed(self.deps(self.ref(cell))))
        while stack:
            ref = stack.pop()
            if ref in seen:
                continue
            seen.add(ref)
            if ref[0] == self.sheet and ref[1] in bad and ref[1] != cell:
                found.append(ref[1])
                continue
            stack.extend(reversed(self.deps(ref)))
        return tuple(found)

    def nearest_each(
        self, cells: Iterable[str], bad: Mapping[str, object]
    ) -> dict[str, tuple[str, ...]]:
        """:meth:`nearest` for each of ``cells``, in the same order, what each good cell
        leads to worked out once: a sheet with thousands of wrong cells (every row moved, a
        network's) walked the same good cells from each of them, for minutes. A cell whose
        walk meets a cycle, or comes back to it, is walked by :meth:`nearest` itself."""
        memo: dict[Ref, tuple[str, ...]] = {}
        out = {}
        for cell in cells:
            got = self._through(self.ref(cell), bad, memo)
            # Itself among them: it reads itself through a good cell worked out before.
            out[cell] = self.nearest(cell, bad) if got is None or cell in got else got
        return out

    def _through(
        self, start: Ref, bad: Mapping[str, object], memo: dict[Ref, tuple[str, ...]]
    ) -> tuple[str, ...] | None:
        """The bad cells ``start`` reads, directly or through good cells, in the order
        :meth:`nearest` finds them (each good cell's, kept in ``memo``, are the first of each
        of its inputs' in turn); None where a cycle is met."""
        sheet = self.sheet
        path = {start}
        stack: list[tuple[Ref, list[Ref], int, dict[str, None]]] = [
            (start, self.deps(start), 0, {})
        ]
        while stack:
            ref, deps, i, found = stack.pop()
            while i < len(deps):
                d = deps[i]
                i += 1
                if d in path:
                    return None
                if d[0] == sheet and d[1] in bad:
                    found[d[1]] = None
                    continue
                known = memo.get(d)
                if known is None:
                    stack += [(ref, deps, i, found), (d, self.deps(d), 0, {})]
                    path.add(d)
                    break
                found.update(dict.fromkeys(known))
            else:
                result = tuple(found)
                path.discard(ref)
                if not stack:
                    return result
                memo[ref] = result
                w, w_deps, j, w_found = stack.pop()
                w_found.update(dict.fromkeys(result))
                stack.append((w, w_deps, j, w_found))
        raise AssertionError("unreachable: the start's walk returns")

    def ancestors(self, cell: str) -> set[str]:
        """Every cell of the sheet that ``cell`` reads, directly or not."""
        seen: set[Ref] = set()
        stack = list(self.deps(self.ref(cell)))
        while stack:
            ref = stack.pop()
            if ref not in seen:
                seen.add(ref)
                stack.extend(self.deps(ref))
        return {r[1] for r in seen if r[0] == self.sheet}

    def on_cycle(self, cell: str) -> bool:
        return cell in self.ancestors(cell)

    def cycle(self, cell: str) -> list[str]:
        """One circular path from ``cell`` back to itself, for the explanation."""
        start = self.ref(cell)
        stack: list[tuple[Ref, list[Ref]]] = [(start, [start])]
        seen: set[Ref] = set()
        while stack:
            ref, path = stack.pop()
            for dep in self.deps(ref):
                if dep == start:
                    return [r[1] for r in [*path, start]]
                if dep not in seen:
                    seen.add(dep)
                    stack.append((dep, [*path, dep]))
        return [cell]


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
    values = ev.what_if(right, [(sheet, a) for a in candidates])
    return {a for a in candidates if close(bad[a], values[(sheet, a)])}


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
    graph: _Graph,
    close: Close,
) -> dict[str, tuple[str, ...]]:
    """For every inherited wrong cell, the root cells it is wrong because of (in sheet order)."""
    bad = {c.cell: c for c in cells if not c.ok and c.checked}  # not checked: never a cause
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

    roots: dict[str, set[str]] = {}

    def roots_of(a: str, visiting: frozenset[str]) -> set[str]:
        if a in roots:
            return roots[a]
        if not direct.get(a) or a in visiting:
            return {a}
        out: set[str] = set()
        for n in direct[a]:
            out |= roots_of(n, visiting | {a})
        roots[a] = out
        return out

    order = {c.cell: i for i, c in enumerate(cells)}
    return {
        a: tuple(sorted(roots_of(a, frozenset()), key=lambda r: order.get(r, len(order))))
        for a in bad
        if direct.get(a)
    }


def _array_roots(
    cells: Sequence[CellResult], causes: Mapping[str, tuple[str, ...]], ev: Evaluator, sheet: str
) -> tuple[list[CellResult], dict[str, tuple[str, ...]]]:
    """A wrong array formula is wrong where it is written, at its top-left cell: the cells of
    its range wrong in themselves are wrong because of it, even when its own number is right
    (``{1;2;1;1;1}`` scales the second cell only)."""
    by_cell = {c.cell: c for c in cells}
    members: dict[str, list[str]] = {}
    for c in cells:
        if c.root and c.graded and c.cell not in causes:
            anchor = ev.array_anchor((sheet, c.cell))
            if anchor is not None and anchor in by_cell and by_cell[anchor].ok:
                members.setdefault(anchor, []).append(c.cell)
    if not members:
        return list(cells), dict(causes)
    moved = {m: a for a, ms in members.items() for m in ms}
    order = {c.cell: i for i, c in enumerate(cells)}
    out = {
        a: tuple(sorted({moved.get(r, r) for r in why}, key=lambda r: order.get(r, len(order))))
        for a, why in causes.items()
    }
    out.update({m: (a,) for m, a in moved.items()})
    changed = []
    for c in cells:
        if c.cell in members:
            wrong = members[c.cell]
            first = by_cell[wrong[0]].message.rstrip(".")
            c = replace(
                c,
                status="wrong",
                message=f"{c.cell}'s array formula fills {ev.array_range((sheet, c.cell))} and "
                f"gives wrong numbers in {', '.join(wrong)} ({first}); {c.cell}'s own number "
                "is right.",
            )
        changed.append(c)
    return changed, out


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
        ("suspects", sheet, id(layout)), lambda: (layout, _suspects(ev, sheet, layout))
    )
    return set(kept[1] if kept[0] is layout else _suspects(ev, sheet, layout))


def _suspects(ev: Evaluator, sheet: str, layout: Layout) -> frozenset[str]:
    """:func:`suspects`, worked out.

    A cell that holds the template's own formula (up to ``$``, spaces and case) and reads only
    cells of the layout computes, from right inputs, what the template computes, whatever the
    parameters: it cannot be right for the sheet's own numbers only. Every other checked cell
    is a suspect: another formula (``=B2*0.5+D2``, or a right one written differently), one
    that reads a cell outside the layout (a helper cell, another sheet), a typed number. If a
    defined name the template uses points elsewhere, every checked cell is.
    """
    if any(ev.points_to(sheet, name) != (sheet, at) for name, at in layout.names.items()):
        return frozenset(c.at for c in layout.checked)
    inside = {(sheet, c.at) for c in layout.cells if c.kind != "text"}
    out = set()
    for spec in layout.checked:
        text = ev.formula((sheet, spec.at))
        if spec.formula is None:
            if text is not None:
                out.add(spec.at)  # a formula where the template has a number
        elif (
            text is None
            or (text != spec.formula and a1.normal_formula(text) != a1.normal_formula(spec.formula))
            or not inside.issuperset(ev.dependencies((sheet, spec.at)))
        ):
            out.add(spec.at)
    return frozenset(out)


def _fragility(
    ev: Evaluator,
    ws: Sheet,
    layout: Layout,
    params: Mapping[str, Value],
    cells: list[CellResult],
    variants: int,
    seed: int,
) -> list[CellResult]:
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
    ok = {
        c.cell
        for c in cells
        if c.cell in suspected
        and c.ok
        and c.formula
        and not c.saved
        and ev.compiled(c.formula).inputs
    }
    if not ok or reference_for(layout, params) is None:
        return cells
    by_cell = {c.cell: c for c in cells}
    rng = random.Random(seed)
    fragile: dict[str, str] = {}
    for _ in range(variants):
        other = variant_parameters(layout, params, rng)
        ref = reference_for(layout, other)
        if ref is None:
            continue
        right: dict[Ref, Value] = {
            (ws.title, s.at): ref.values[s.quantity]
            for s in layout.checked
            if s.quantity is not None and s.quantity in ref.values
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
    return [
        replace(c, status="fragile", message=fragile[c.cell]) if c.cell in fragile else c
        for c in cells
    ]


# ---------------------------------------------------------------------------------------------
# Plain words


def _explain(
    c: CellResult,
    causes: tuple[str, ...],
    ws: Sheet,
    graph: _Graph,
    layout: Layout,
    names: _Names,
    *,
    hints: bool = True,
) -> CellResult:
    if (c.ok or not c.checked) and not causes:
        return c  # most cells: nothing to add (an unchecked one is said by _from_saved)
    if c.ok:
        return replace(c, causes=causes)
    specs = names.specs
    if c.status == "wrong" and not causes:  # a root: what it reads in place of what?
        why = read_instead(c, graph.ev, graph.sheet, layout, specs)
    else:
        why = _why(c, ws, graph, names)
    if causes and c.status == "unchecked":
        said = ", ".join(map(names, causes))
        verb = "holds" if len(causes) == 1 else "hold"
        why = f"Not checked until {said} {verb} a usable number. {why}"
    elif causes and causes == (graph.ev.array_anchor(graph.ref(c.cell)),):
        why = f"Wrong because of it: fix the array formula in {causes[0]}. {why}".strip()
    elif causes:
        said = ", ".join(map(names, causes))
        why = (
            f"Wrong only because {said} {'is' if len(causes) == 1 else 'are'} wrong: "
            f"fix {'it' if len(causes) == 1 else 'them'} first. {why}"
        ).strip()
    # A hint is said for a root only (an inherited cell's fix is elsewhere).
    hint_ = hint(specs[c.cell], specs) if hints and not causes and c.cell in specs else None
    parts = [why, f"Hint: {hint_}" if hint_ else ""]
    return replace(c, causes=causes, explanation=" ".join(p for p in parts if p))


def _why(c: CellResult, ws: Sheet, graph: _Graph, names: _Names) -> str:
    ref = graph.ref(c.cell)
    problem = graph.ev.problems.get(ref)
    if not c.graded:
        return "A parameter is the learner's to change, but it must be a usable number."
    if c.status == "todo":
        return "To do: this cell was left blank for you to fill in with a formula."
    if c.status == "empty":
        return "The cell is empty: it needs a formula."
    if c.status == "typed":
        if c.formula is not None:
            return (
                "A formula that refers to no cell is a pasted number in disguise: "
                "compute it from the cells it depends on."
            )
        return "Write a formula that computes it from the cells it depends on."
    if c.status == "fragile":
        return (
            "Its formula holds for the sheet's own numbers only: a number typed where it "
            "should refer to a cell, or a shortcut that needs special values (such as targets "
            "of exactly 0 or 1) where the sheet takes any."
        )
    if c.status == "text":
        raw = _formula_as_text(ws, c.cell)
        if raw is not None:
            return (
                f"The formula {raw} is stored as text (the cell is formatted as Text, or the "
                "formula starts with an apostrophe), so it is never computed. Format the cell "
                "as General and enter the formula again."
            )
        return "It holds text where a number belongs."
    if problem is not None and problem.kind == "circular":
        if graph.on_cycle(c.cell):
            loop = " → ".join(graph.cycle(c.cell))
            return (
                f"Circular reference: {loop}. Each of these cells needs the other's value "
                "first, so none of them can be computed."
            )
        return "It uses a cell that is part of a circular reference."
    if problem is not None and problem.kind == "unknown":
        return (
            f"It {problem.message}: Excel and LibreOffice show #NAME? there too. Check the "
            "spelling of the function's name."
        )
    if problem is not None:
        return "The checker cannot compute it and will not guess."
    if isinstance(c.found, CellError):
        return _why_error(c.cell, graph, names)
    if c.status == "unchecked":
        return ""
    return ""


def _why_error(cell: str, graph: _Graph, names: _Names) -> str:
    """Follow an Excel error back to the cell where it starts, and say why it starts there.

    Each step goes to the first cell read that shows an error and is not on the trail yet.
    The trail of each cell explained is kept (``graph.trails``, the last few): a cell further
    down that meets it takes it as it was said, as long as it does not cross the trail
    walked so far (a cell on both would be skipped the second time); a sheet whose every row
    moved has thousands of errors, each on the trail of the ones before.
    """
    walked: list[tuple[str, str]] = []  # (cell, its error code), from ``cell`` on
    seen: set[str] = set()
    said, beyond = "", frozenset[str]()
    at: str | None = cell
    while at is not None:
        ref = graph.ref(at)
        value = graph.ev.values.get(ref)
        code = value.code if isinstance(value, CellError) else "an error"
        walked.append((at, code))
        seen.add(at)
        at = next(
            (
                dep[1]
                for dep in graph.deps(ref)
                if dep[0] == graph.sheet
                and isinstance(graph.ev.values.get(dep), CellError)
                and dep[1] not in seen
            ),
            None,
        )
        if at is None:
            said = _error_starts(walked[-1][0], code, graph, names)
        elif (kept := graph.trails.get(at)) is not None and kept[1].isdisjoint(seen):
            said, beyond = kept
            said = f"It shows {code} because {names(at)} does. " + said.replace(
                "It shows", f"{at} shows", 1
            )
            at = None
    for (_, code), (there, _) in zip(walked[-2::-1], walked[:0:-1], strict=True):
        said = f"It shows {code} because {names(there)} does. " + said.replace(
            "It shows", f"{there} shows", 1
        )
    if len(graph.trails) >= TRAILS_KEPT:
        graph.trails.clear()
    graph.trails[cell] = (said, beyond | seen)
    return said


TRAILS_KEPT = 512
"""How many errors' trails are kept (the cells just explained: a trail is met by its neighbours)."""


def _error_starts(cell: str, code: str, graph: _Graph, names: _Names) -> str:
    """Why the error ``code`` starts at ``cell`` (no cell it reads shows one off the trail)."""
    ref = graph.ref(cell)
    if graph.ev.formula(ref) is None:
        return f"It shows {code}: the error is typed into the cell itself."
    deps = [d for d in graph.deps(ref) if d[0] == graph.sheet]
    values = {d[1]: graph.ev.values.get(d) for d in deps}
    problem = graph.ev.problems.get(ref)
    if code == "#DIV/0!":
        zero = [d for d, v in values.items() if v is None or v == 0]
        if zero:
            what = " and ".join(
                f"{names(d)}, which is {'empty' if values[d] is None else '0'}" for d in zero
            )
            return f"It shows #DIV/0! (division by zero) because it divides by {what}."
        return "It shows #DIV/0!: its formula divides by zero."
    if code == "#VALUE!":
        text = [d for d, v in values.items() if isinstance(v, str | bool)]
        if text:
            what = " and ".join(f"{names(d)} holds the text {values[d]!r}" for d in text)
            return f"It shows #VALUE! (a value of the wrong kind) because {what}."
        return "It shows #VALUE!: an operation got a value of the wrong kind."
    if code == "#NAME?":
        if problem is not None:
            return f"It shows #NAME? because it {problem.message} (a misspelt name?)."
        return "It shows #NAME?: its formula uses a name Excel does not know."
    if code == "#REF!":
        return (
            "It shows #REF!: its formula refers to a cell that no longer exists "
            "(a row, column or sheet was deleted)."
        )
    if code == "#NUM!":
        return "It shows #NUM!: a number is too large or invalid (an overflow, or the like)."
    if code == "#N/A":
        return "It shows #N/A: a value is not available."
    return f"It shows {code}."


class _Names:
    """Each cell's name in plain words ("d loss/d w(layer 1, 1→1) (AP9)"), kept for the
    last ``KEPT`` cells named: an error's explanation names every cell on its way back to
    where the error starts, and a sheet whose every row moved names half a million cells,
    its neighbours' mostly. Forgotten all at once when full, so that a large sheet's names
    are never all held."""

    KEPT = 512

    def __init__(self, specs: Mapping[str, CellSpec]) -> None:
        self.specs = specs
        self._said: dict[str, str] = {}

    def __call__(self, cell: str) -> str:
        said = self._said.get(cell)
        if said is None:
            if len(self._said) >= self.KEPT:
                self._said.clear()
            said = self._said[cell] = _name(cell, self.specs)
        return said


def _name(cell: str, specs: Mapping[str, CellSpec]) -> str:
    spec = specs.get(cell)
    if spec is None or spec.quantity is None:
        return cell
    return f"{describe(spec.quantity)} ({cell})"


def _num(v: Value | None) -> str:
    return "?" if v is None else show.value(v)
