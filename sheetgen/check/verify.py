"""Verify a workbook: read it, find the layout, evaluate, judge, diagnose, and report.

:func:`verify_workbook` is the one place that runs the whole way: the file is vetted and read
(``sheetgen.workbook``), the layout is located on one of its sheets (:mod:`.locate`,
:mod:`.recognise`), every checked cell is evaluated (``sheetgen.engine``) and judged
(:mod:`.judge`), right numbers from the wrong cells are found (:mod:`.structure`), the
verdicts are diagnosed (:mod:`.diagnose`) and typed numbers named (:mod:`.constants`), and
one :class:`Report` (:mod:`.results`) comes back. ``check``, ``tolerance``, ``CellResult``
and ``Report`` are re-exported here for callers that know them by this module.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import a1
from ..engine.evaluate import Evaluator, FormulaCache
from ..engine.hazards import HAZARD_DESCRIPTIONS, formula_hazards
from ..errors import LayoutNotFoundError, SheetgenError, TooLargeError, let_go
from ..layouts.families import resolve_layout
from ..layouts.layout import SPEC_NAME, Layout, available_layouts
from ..workbook.book import Book, Sheet, text_constant
from ..workbook.safety import CheckedBook, FileFacts, Limits, configured_limits, read_checked
from ..workbook.safety.messages import file_label, too_large
from .constants import named_constants
from .diagnose import diagnose
from .faux import without_missing_faux_rows
from .judge import check, tolerance
from .locate import Miss, Placement, candidates
from .results import CellResult, Report
from .structure import structure_faults

__all__ = [
    "CellResult",
    "Report",
    "check",
    "choose",
    "find_layout",
    "findings",
    "locate",
    "recorded_spec",
    "tolerance",
    "verify_workbook",
]


def verify_workbook(
    path: Path | str,
    layout: Layout | str | None = None,
    *,
    variants: int | None = None,
    seed: int | None = None,
    limits: Limits | None = None,
    sheet: str | None = None,
    hints: bool | None = None,
    formulas: FormulaCache | None = None,
    data: bytes | None = None,
    checked: CheckedBook | None = None,
) -> Report:
    """Verify the workbook at ``path``; ``layout`` defaults to whichever template it matches.

    The layout is found by the sheet's own labels and headers wherever they are now
    (``sheetgen.check.locate``); when several sheets hold it, the one with the learner's work is
    judged, and the report names the others (``sheet`` chooses one by name).
    The report is diagnosed (``sheetgen.check.diagnose``): root causes, plain-word explanations,
    exercise blanks, stale cached values, and ``variants`` re-evaluations with other inputs
    (``seed`` picks them; defaults in ``sheetgen.check.diagnose``; 0 skips that check).
    The file is vetted first (``sheetgen.workbook.safety``: size, zip and XML bombs, macros and
    links never loaded) within ``limits`` (default: ``safety.configured_limits()``).
    Explanations carry the formula's hint unless ``hints`` is False or, by default, the
    workbook is a hand-out built without hints. ``formulas``: where compiled formulas are
    kept, to share them with other workbooks of the same caller (``FormulaCache``; by default
    this workbook's own). ``data``: the file's bytes, when the caller has read them with
    ``sheetgen.workbook.safety.files.read_input`` within the same ``limits`` (``grade``
    hashes the very bytes it checks); else they are read here. ``checked``: the file already
    vetted and read (``read_checked`` of ``path`` within the same ``limits``), when the caller
    needs its book too (the web page draws the learner's sheet): it is not read again.

    Running out of memory is told as :class:`~sheetgen.errors.TooLargeError` (the sentence
    ``sheetgen verify`` prints), wherever it happens: reading the file, or checking its cells.
    """
    handled = sys.exc_info()[1]  # the caller's own, if it calls from an except block
    try:
        return _verified(
            path, layout, variants, seed, limits, sheet, hints, formulas, data, checked
        )
    except MemoryError as exc:
        let_go(exc, handled)
        raise TooLargeError(too_large(file_label(Path(path)))) from exc
    except TooLargeError as exc:  # the reader's sentence: what it had read is let go too
        let_go(exc, handled)
        raise


def _verified(
    path: Path | str,
    layout: Layout | str | None,
    variants: int | None,
    seed: int | None,
    limits: Limits | None,
    sheet: str | None,
    hints: bool | None,
    formulas: FormulaCache | None,
    data: bytes | None,
    checked: CheckedBook | None,
) -> Report:
    """:func:`verify_workbook`'s work, in a frame of its own: the memory its locals hold is
    let go when it runs out (see :func:`~sheetgen.errors.let_go`)."""
    if checked is None:
        checked = read_checked(Path(path), limits or configured_limits(), data)
    book = checked.book
    placement, choice = find_layout(book, layout, str(path), sheet)
    lay, ws, notes = placement.layout, placement.sheet, placement.notes
    del placement  # and its map of where each cell moved: a large network's is 5 MB
    if formulas is not None:
        formulas.next_book()
    ev = Evaluator(book, formulas=formulas)
    judged = check(book, ws, lay, str(path), evaluator=ev)
    # The verdicts are handed on, never kept here: the diagnosis copies most of them, and
    # lets each original go as it does (an 80-80-1 network's are 13 MB).
    verdicts = [judged.cells]
    judged = replace(judged, cells=())
    extra = (*notes, *findings(checked.facts, book, ev))
    warnings = (*judged.warnings, *extra)
    found = diagnose(
        book,
        ws,
        lay,
        structure_faults(ev, ws.title, lay, verdicts.pop()),
        judged.parameters,
        ev,
        warnings=warnings,
        path=Path(path),
        variants=variants,
        seed=seed,
        hints=hints,
    )
    cells = named_constants(found.cells, lay, judged.parameters, ev, ws.title)
    return replace(judged, cells=cells, warnings=found.warnings, choice=choice, blanks=found.blanks)


def find_layout(
    book: Book | Any,
    layout: Layout | str | None,
    origin: str,
    sheet: str | None = None,
) -> tuple[Placement, str]:
    """The sheet and layout to judge, with a sentence saying which sheet and why.

    ``layout`` (or the spec a built workbook records) names the layout; without either, the
    templates are tried, then the generated layouts the sheets themselves describe.
    """
    from .recognise import recognised_specs

    book = Book.of(book)
    if sheet is not None and book.sheet(sheet) is None:
        known = ", ".join(repr(s.title) for s in book.sheets)
        raise LayoutNotFoundError(f"{origin} has no sheet called {sheet!r} (its sheets: {known}).")
    named: Layout | None = None
    if layout is None:
        recorded = _recorded(book)  # a generated layout (network, training) is found so
        if recorded is not None:
            layout, named = recorded
    notes: dict[int, str] = {}
    if layout:
        if named is None:
            named = layout if isinstance(layout, Layout) else resolve_layout(layout)
        kept, missing = without_missing_faux_rows(named, book)
        if missing:
            notes[id(kept)] = missing
        layouts = [kept]
    else:
        # What the sheets say they are first (a variant has the article's labels too), then
        # the templates.
        layouts = []
        for spec in [*recognised_specs(book, sheet), *available_layouts()]:
            try:
                lay = resolve_layout(spec)
            except SheetgenError:
                continue  # what a sheet's texts suggest is only a guess: one that fails is none
            if all(lay is not known for known in layouts):
                layouts.append(lay)
    placed, missed = candidates(book, layouts, sheet)
    if not placed:
        raise LayoutNotFoundError(_not_found(origin, layouts, missed, hint=not layout))
    chosen, choice = choose(placed)
    if id(chosen.template) in notes:
        chosen = replace(chosen, notes=(*chosen.notes, notes[id(chosen.template)]))
    return chosen, choice


def choose(placed: list[Placement]) -> tuple[Placement, str]:
    """The placement with the learner's work: most checked cells filled in, then most edited."""
    if len(placed) == 1:
        return placed[0], ""
    work = [_work(p) for p in placed]
    best = max(range(len(placed)), key=lambda i: (work[i], -i))
    others = [p.sheet.title for i, p in enumerate(placed) if i != best]
    chosen = placed[best]
    rivals = [w for i, w in enumerate(work) if i != best]
    if all(w == work[best] for w in rivals):
        why = "the first of them (they hold the same work)"
    elif all(w[0] < work[best][0] for w in rivals):
        why = f"the one with the learner's work ({_cells(work[best][0])} filled in)"
    else:
        why = (
            f"the one with the learner's work ({_cells(work[best][1])} changed from the built one)"
        )
    listed = ", ".join(repr(t) for t in others)
    return chosen, (
        f"Judged sheet {chosen.sheet.title!r}, {why}; {listed} also "
        f"{'holds' if len(others) == 1 else 'hold'} the layout{SHEET_ADVICE}."
    )


def _work(p: Placement) -> tuple[int, int]:
    filled = changed = 0
    for spec in p.layout.checked:
        cell = p.sheet.cells.get(spec.at)
        if cell is None or (cell.formula is None and cell.value is None):
            continue
        filled += 1
        if spec.formula is None or cell.formula is None:
            changed += cell.formula is not None or cell.value != spec.value
        else:
            changed += a1.normal_formula(cell.formula) != a1.normal_formula(spec.formula)
    for spec in p.layout.inputs:
        default = p.layout.defaults.get(spec.quantity or "")
        changed += p.sheet.value(spec.at) != default
    return filled, changed


SHEET_ADVICE = " (--sheet NAME judges another)"
"""The end of the note naming the sheets a workbook holds the layout on besides the one judged:
advice for a user of the command line (``sheetgen.report.learner`` words it for a learner)."""

LAYOUT_ADVICE = (
    "; if it was built as a variant, network or training sheet, name its layout with "
    "--layout SPEC (sheetgen templates lists them)"
)
"""The end of the sentence a workbook holding no layout gets, when no layout was named: advice
for a user of the command line. Who speaks to a learner, who passes no options, words it its
own way (``sheetgen.report.learner``)."""


def _not_found(origin: str, layouts: list[Layout], missed: list[Miss], *, hint: bool) -> str:
    names = ", ".join(lay.title or lay.name for lay in layouts)
    nearest = max(missed, key=lambda m: m.found, default=None)
    if nearest is not None and nearest.found > 0:
        why = nearest.reason
    else:
        labels = [c.text for lay in layouts for c in lay.labels if c.text]
        first = next((t for t in labels if t.endswith(":")), labels[0] if labels else "")
        sheets = sorted({m.sheet for m in missed})
        why = (
            f"none of its sheets ({', '.join(repr(t) for t in sheets)}) holds its labels "
            f"(such as {first!r})"
        )
    more = LAYOUT_ADVICE if hint else ""
    return f"{origin} has no sheet laid out as expected ({names}): {why}{more}."


def findings(
    facts: FileFacts, book: Book | None = None, evaluator: Evaluator | None = None
) -> tuple[str, ...]:
    """What the file holds that was deliberately left alone, said as warnings. ``evaluator``
    (of ``book``) remembers the formulas never evaluated for the books of its structure."""
    out = []
    if facts.has_macros:
        out.append("The file contains macros; they were neither loaded nor run.")
    if facts.external_links:
        links = ", ".join(facts.external_links[:3])
        out.append(f"The file links to other workbooks ({links}); they were never opened.")
    if book is not None:
        hazards = (
            tuple(_hazardous_formulas(book))
            if evaluator is None
            else evaluator.remembered(("hazards",), lambda: tuple(_hazardous_formulas(book)))
        )
        for where, what in hazards[:5]:
            out.append(f"{where} {what}; it was not evaluated.")
        if len(hazards) > 5:
            out.append(f"{len(hazards) - 5} more formulas like these were not evaluated either.")
    return tuple(out)


def _hazardous_formulas(book: Book) -> Iterator[tuple[str, str]]:
    """Formulas (in cells or defined names) that could reach outside the workbook."""
    scoped = [(None, book.names)] + [(s.title, s.names) for s in book.sheets]
    for _, names in scoped:
        for name, text in names.items():
            if found := formula_hazards(text):
                yield f"The defined name {name}", "; ".join(HAZARD_DESCRIPTIONS[h] for h in found)
    for sheet in book.sheets:
        for at, cell in sheet.cells.items():
            if cell.formula and (found := formula_hazards(cell.formula)):
                what = "; ".join(HAZARD_DESCRIPTIONS[h] for h in found)
                yield f"Cell {at} of sheet {sheet.title!r}", f"holds a formula that {what}"


def recorded_spec(book: Book | Any) -> str | None:
    """The layout spec ``build`` stored in the workbook, if it is there and readable."""
    recorded = _recorded(Book.of(book))
    return None if recorded is None else recorded[0]


def _recorded(book: Book) -> tuple[str, Layout] | None:
    """The recorded spec and the layout it names (made once: a network's is large)."""
    spec = text_constant(book.name(SPEC_NAME))
    if not spec:
        return None
    try:
        return spec, resolve_layout(spec)
    except SheetgenError:
        return None


def locate(book: Book | Any, layouts: list[Layout], origin: str) -> tuple[Layout, Sheet]:
    """The layout (at the cells' current addresses) and the sheet it is on, by its labels."""
    placed, missed = candidates(Book.of(book), layouts)
    if not placed:
        raise LayoutNotFoundError(_not_found(origin, layouts, missed, hint=False))
    chosen, _ = choose(placed)
    return chosen.layout, chosen.sheet


def _cells(n: int) -> str:
    return f"{n} cell{'' if n == 1 else 's'}"
