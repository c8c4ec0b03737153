"""Evaluate a workbook's formulas ourselves, with the ``formulas`` engine's parser and functions.

We never trust the values cached in a file: a learner's file may be stale, and openpyxl writes
none. Rather than ``formulas.ExcelModel`` (which loads and solves every cell of every sheet),
we compile each distinct formula text once with ``formulas.Parser`` — cached across cells and
workbooks — and evaluate only the cells asked for and what they depend on, in dependency order.
Anything the engine cannot do is reported per cell, never guessed: an unknown function, a
reference to another workbook, a circular reference. Where each name a formula reads points is
``references``' job; this module computes values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from itertools import pairwise
from sys import intern
from typing import Any, TypeVar, cast

from .. import a1
from ..workbook.book import Book, Cell, CellError, Sheet, Value, formula_text
from .compiled import (
    ENGINE_LIMITS,
    WORDS,
    Compiled,
    Form,
    FormulaCache,
    Problem,
    compile_afresh,
    compile_formula,
    functions_bare,
    tokenable,
)
from .convert import element, engine_quiet, from_engine, to_engine
from .names import expanded
from .plan import Plan, Ref, structure
from .references import References
from .values import Values

__all__ = [
    "ENGINE_LIMITS",
    "CellError",
    "Evaluator",
    "FormulaCache",
    "Problem",
    "Ref",
    "Value",
    "compile_formula",
    "formula_text",
]

_T = TypeVar("_T")

_FLOAT = {float}

_PLAIN = {Compiled, Form}  # what ``_formulas`` holds for a plain formula

_UNKNOWN: Any = object()  # a formula not looked up yet
_EXPANDED: Any = object()  # on :meth:`Evaluator._solve`'s stack above a cell whose inputs it pushed
_NONE: dict[str, Any] = {}  # a sheet none of whose formulas is looked up yet (never written)
_TUPLE = {tuple}
_STR = {str}
_SINGLE = {tuple, str}  # what ``where.resolved`` holds for a name that reads one cell

_BULK = 64  # a formula reading more cells than this has their plain values filled in bulk

KEPT_CELLS = 5_000
"""A book of at most this many cells keeps each plain formula's compilation with its cell: its
checks ask each formula's inputs several times (a hundred asks for the article's 50 cells),
and its memory is small. A larger one keeps the form of each formula's shape alone and reads
its inputs off its text when asked again (``Form.inputs_in``): an 80-80-1 network's 161-input
sums would hold 20 MB."""


class Evaluator:
    """Computes cells of one workbook on demand, memoising every value it computes."""

    def __init__(
        self,
        workbook: Book | Any,
        overrides: Mapping[Ref, Value] | None = None,
        *,
        formulas: FormulaCache | None = None,
    ) -> None:
        """``workbook``: a :class:`Book` (or an openpyxl ``Workbook``, read into one).

        ``overrides`` replace cells' values (what-if questions), never the workbook's; they
        are held as given and only read, never copied: the values start from them, by sheet
        (a caller may hand every computed cell of a sheet, a training run's 140,000, and a
        copy of them kept a dict of 5 MB beside the values' own).
        ``formulas``: where compiled formulas are kept (see :class:`FormulaCache`; by default
        this book's own).
        """
        # Names holding a number or a formula put in place (:mod:`.names`): the engine's copy.
        self.book = expanded(Book.of(workbook))
        self.overrides: Mapping[Ref, Value] = overrides if overrides is not None else {}
        # By sheet, then by address (see :class:`Values`): no tuple kept per cell.
        self.values = Values()
        self.problems: dict[Ref, Problem] = {}
        # Cells the engine could not compute whose value is the number the file saved.
        self.saved: dict[Ref, Problem] = {}
        self._saved_from: tuple[int, dict[Ref, tuple[str, ...]]] | None = None
        self.values.update(self.overrides)
        # What each array formula computed (by its top-left cell): filled into its range once.
        self._array_results: dict[Ref, Any] = {}
        self.formulas = formulas if formulas is not None else FormulaCache()
        # A plain formula keeps its compilation in ``_formulas``; it is kept by text too only
        # in formulas shared with other books (this book's own would hold each twice).
        self._shares = formulas is not None
        # What depends on the book alone, not on values, shared with what-if children. Books
        # of one hand-out share their structure: what is worked out from it is kept with the
        # shared formulas, by a key holding all of it.
        key = None if formulas is None else structure(self.book)
        shared = None if formulas is None or key is None else formulas.shared(key, Plan)
        self._plan = shared or Plan()
        self._plan_shared = shared is not None
        self._lean = sum(len(sheet.cells) for sheet in self.book.sheets) > KEPT_CELLS
        # A large book's texts are met once each (a network's 85,000, some 161 inputs long):
        # the process's cache of the last 4,096 would hold 3 MB of inputs no one asks again.
        self._compile = compile_afresh if self._lean else compile_formula
        self._share(References(self.book, self._plan))

    def _share(self, where: References) -> None:
        """Work from ``where`` and :attr:`_plan` (``where``'s dicts are the plan's)."""
        self.where = where
        # The dicts every cell's visit reads, at hand.
        self._exact, self._resolved, self._array_cells = where.exact, where.resolved, where.arrays
        # Each cell's formula text (None: a value), or, once its dependencies are known, the
        # formula compiled when it is plain: its inputs are single cells that all resolved
        # (most formulas), and no array formula computes it. :meth:`_solve` calls its function
        # at once, and its dependencies are not kept: they are its inputs, each the cell
        # ``where.resolved`` holds for it on its sheet, or, not held there, the cell of its
        # sheet at that address. Where the text says its inputs again (``Form.inputs_in``:
        # most formulas), only the form of its shape is kept, shared with every formula of
        # that shape: a large network's inputs, 161 names to a faux row's sum, are not held
        # per cell (20 MB for 80-80-1) but read off the text when asked.
        # By sheet, then by address: a dict keyed by strings alone keeps two words a slot, not
        # three (a training run's 140,000 cells: 3.8 MB, not 5.2), and a cell's string keeps
        # its hash where a tuple's is computed at each lookup.
        self._formulas = self._plan.formulas
        # The cells each formula reads that is not plain: a few in a large sheet.
        self._deps = self._plan.deps
        self._calls = self._plan.calls

    def formula(self, ref: Ref) -> str | None:
        """The formula that computes ``ref`` (an array formula's for each cell of its range),
        or None for a value."""
        found = self._formulas.get(ref[0], _NONE).get(ref[1], _UNKNOWN)
        sheet = self._exact.get(ref[0])  # the usual lookup: a sheet by its title
        if type(found) in _PLAIN:  # a plain formula: its own cell's
            cell = sheet.cells[ref[1]] if sheet is not None else self.where.cell(ref)
            return cell.formula  # type: ignore[union-attr]
        if found is not _UNKNOWN:
            return found  # type: ignore[no-any-return]
        cell = sheet.cells.get(ref[1]) if sheet is not None else self.where.cell(ref)
        text = None if cell is None else cell.formula
        if text is None and (place := self.where.array_place(ref)) is not None:
            anchor = self.where.cell((ref[0], place[0]))
            text = None if anchor is None else anchor.formula  # computed by that array formula
        self._forms(ref[0])[ref[1]] = text
        return text

    def _forms(self, title: str) -> dict[str, str | Compiled | Form | None]:
        """What :attr:`_formulas` holds for the cells of sheet ``title`` (as a ref names it)."""
        forms = self._formulas.get(title)
        if forms is None:
            forms = self._formulas[title] = {}
        return forms

    def array_anchor(self, ref: Ref) -> str | None:
        """The top-left cell of the array formula that computes ``ref`` (not itself), or None."""
        place = self.where.array_place(ref) if self.formula(ref) is not None else None
        return place[0] if place is not None and place[0] != ref[1] else None

    def has_arrays(self, sheet: str) -> bool:
        """Whether sheet ``sheet`` holds an array formula."""
        return bool(self.where.array_cells(self.where.title(sheet)))

    def array_range(self, ref: Ref) -> str | None:
        """The range the array formula at ``ref``'s top-left cell fills, or None."""
        anchor = self.array_anchor(ref) or ref[1]
        cell = self.where.cell((ref[0], anchor))
        return None if cell is None or cell.formula is None else cell.array

    def evaluate(self, refs: Iterable[Ref]) -> dict[Ref, Value]:
        """Values of ``refs`` (and, memoised, of all cells they depend on)."""
        wanted = list(refs)
        self.fill(wanted)
        values = self.values
        return {ref: values[ref] for ref in wanted}

    def fill(self, refs: Iterable[Ref]) -> None:
        """Compute ``refs`` (and all cells they depend on) into :attr:`values`, held by sheet
        and address (``refs`` themselves are not kept: a large network's checked cells are
        85,000)."""
        values, sheets = self.values, self.values.sheets
        texts, reads, exact = self._formulas, self._deps, self._exact
        resolved, visit, quick = self._resolved, self._visit, self._quick
        with engine_quiet():
            for ref in refs:
                held = sheets.get(ref[0])
                if held is not None and ref[1] in held:  # read by one asked for before: known
                    continue
                sheet = exact.get(ref[0])
                if sheet is None:  # a sheet named otherwise: the walk settles it
                    self._solve(ref)
                    continue
                if held is None:
                    held = values.on(ref[0])
                # What the walk's first step does, without the walk, for a cell whose inputs
                # are computed (a sheet in order): its formula found, compiled and its inputs
                # resolved on its first visit, then computed at once.
                text = texts.get(ref[0], _NONE).get(ref[1], _UNKNOWN)
                found: list[Any] | None = None
                if text is _UNKNOWN:
                    text, found = visit(ref, sheet)
                if text is None:
                    held[ref[1]] = self._raw(ref)
                    continue
                if type(text) in _PLAIN:
                    if found is None:
                        names = resolved.get(ref[0], _NONE)
                        inputs = self._inputs(ref, text)
                        found = list(map(names.get, inputs, inputs))  # see ``_held``
                    # Each input a cell of this sheet by its address, computed (most): only
                    # addresses are keys of the sheet's values.
                    local = all(map(held.__contains__, found))
                    if not local and set(map(type, found)) == _STR:  # this sheet's, not all known
                        self._fill_values(ref[0], found)  # those holding a value
                        local = all(map(held.__contains__, found))
                        if not local:
                            self._solve(ref, found)  # an input not computed yet: the walk
                            continue
                    if local:
                        args = list(map(held.__getitem__, found))
                    else:
                        deps = self._references(ref[0], found)
                        if not all(map(values.__contains__, deps)):
                            self._solve(ref, found)  # an input not computed yet: the walk
                            continue
                        args = list(map(values.__getitem__, deps))
                    value = quick(text, args)
                    if value is _UNKNOWN:
                        value = self._compute(ref, cast(str, self.formula(ref)))
                    held[ref[1]] = value
                    continue
                read = found if found is not None else reads.get(ref)
                if read is not None and len(read) <= _BULK and all(map(values.__contains__, read)):
                    held[ref[1]] = self._compute(ref, text)
                    continue
                self._solve(ref)

    def _references(self, sheet: str, found: list[Any], kept: bool = False) -> list[Ref]:
        """The references to the cells ``found`` in ``where.resolved`` for inputs of a formula
        on ``sheet``: a cell of that sheet held by its address is made one, afresh, or, if
        ``kept``, the one ``where.single`` keeps in its place."""
        if set(map(type, found)) <= _TUPLE:
            return found
        if not kept:
            return [f if type(f) is tuple else (sheet, f) for f in found]
        single = self.where.single
        # Copied to its length: the list a comprehension builds keeps room for four inputs,
        # and a walk keeps a list a cell (a training run's 140,000: 2 MB of room).
        return [f if type(f) is tuple else single(sheet, f) for f in found][:]

    def _visit(self, ref: Ref, sheet: Sheet) -> tuple[Any, list[Any]]:
        """A cell of ``sheet`` (by its title) on its first visit: what :attr:`_formulas` now
        holds for it, and its dependencies. :meth:`dependencies`' work, done at once for
        the usual plain formula (the general path for every other, and for any doubt), whose
        inputs are what ``where.resolved`` holds for them: a cell of this sheet by its address,
        or a reference."""
        cell = sheet.cells.get(ref[1])
        text = None if cell is None else cell.formula
        if text is not None:
            title = ref[0]
            compiled = self.compiled(text) if self._shares else self._compile(text)
            form = compiled.form
            if (
                form.function is not None
                and form.problem is None
                and not form.calls
                and not form.always
                and not form.legacy
            ):
                # Each input a cell the sheet holds, by its address (most formulas: which
                # ``where.resolved`` never holds), or as ``where.resolved`` holds it; a name
                # not resolved yet (None) goes the general path, which resolves it.
                inputs, cells = compiled.inputs, sheet.cells
                if all(map(cells.__contains__, inputs)):
                    found: list[Any] | None = list(inputs)
                else:
                    names = self._resolved.get(title, _NONE)
                    found = [n if n in cells else names.get(n) for n in inputs]
                    if None in found or not set(map(type, found)) <= _SINGLE:
                        found = None
                if found is not None:
                    arrays = self._array_cells.get(title)
                    if arrays is None:
                        arrays = self.where.array_cells(title)
                    if ref[1] not in arrays:
                        self._forms(title)[ref[1]] = self._kept(compiled, text)  # ``_formulas``
                        return compiled, found
        deps = self._found(ref, _UNKNOWN)
        return self._formulas[ref[0]][ref[1]], deps

    def reads_its_cells(self, ref: Ref) -> bool:
        """Whether the formula at ``ref`` (on a sheet by its title), computed already, is plain
        and reads only the cells its text names (``Form.cells``): its dependencies are those
        cells of its own sheet. False for any other, or one not computed yet."""
        kept = self._formulas.get(ref[0], _NONE).get(ref[1])
        if type(kept) is Compiled:
            return kept.form.cells
        return type(kept) is Form and kept.cells

    def what_if(self, overrides: Mapping[Ref, Value], refs: Iterable[Ref]) -> dict[Ref, Value]:
        """What each of ``refs``'s own formula gives when ``overrides`` hold those cells' values.

        A ref may itself be overridden (its formula is still what is evaluated): this asks
        "is this cell right once the cells it reads are right?" without touching the workbook.
        """
        child = self.with_overrides(overrides)
        out: dict[Ref, Value] = {}
        with engine_quiet():
            for ref in refs:
                text = child.formula(ref)
                if text is None:
                    out[ref] = child._raw(ref)
                    continue
                child.fill(dep for dep in child._reads(ref) if dep != ref)
                out[ref] = child._compute(ref, text)
        return out

    def with_overrides(self, overrides: Mapping[Ref, Value]) -> Evaluator:
        """A fresh evaluator of the same book with more ``overrides``.

        It shares what depends on the book alone (formulas, references, dependencies), so
        asking many what-if questions costs only the evaluations.
        """
        child = Evaluator(self.book)
        # The child's values start from the overrides; the overrides themselves are held as
        # given (read-only), not copied twice more: diagnosis hands a sheet's every checked
        # cell (an 80-80-1 network's 91,000), and each copy was 5 MB at its peak.
        held = {**self.overrides, **overrides} if self.overrides else overrides
        child.overrides, child.values = held, Values(held)
        child.formulas, child._shares = self.formulas, self._shares
        child._plan, child._plan_shared = self._plan, self._plan_shared
        child._share(self.where)
        return child

    def remembered(self, key: Hashable, make: Callable[[], _T]) -> _T:
        """``make()``, kept for the other books of this book's structure when the evaluator
        shares a plan with them: ``make`` must depend on the book's structure and ``key``
        alone (its formulas, names and where cells are, never a value)."""
        if not self._plan_shared:
            return make()
        memo = self._plan.memo
        if key not in memo:
            memo[key] = make()
        return cast(_T, memo[key])

    def dependencies(self, ref: Ref) -> list[Ref]:
        """The cells a formula cell reads directly (empty for a value cell), each cell by the
        one reference every list of dependencies asked for holds (``where.single``): a walk
        that keeps them (the diagnosis's graph) holds one tuple per cell."""
        return self._reads(ref, True)

    def fresh_dependencies(self, ref: Ref) -> list[Ref]:
        """:meth:`dependencies`, a cell of ``ref``'s own sheet by a reference made afresh (its
        address the one the sheet's cells are keyed by) that the engine does not keep: for a
        walk over every cell that lets them go (a wrong training run's diagnosis asked of
        120,000 cells, whose references the engine kept to the end: 10 MB)."""
        sheet, found = ref[0], self._held(ref)
        if set(map(type, found)) <= _TUPLE:
            return found
        return [f if type(f) is tuple else (sheet, intern(f)) for f in found]

    def _reads(self, ref: Ref, kept: bool = False) -> list[Ref]:
        """:meth:`dependencies`, whose references to cells of ``ref``'s sheet are made afresh
        for a walk that lets them go unless ``kept``: a computed cell's keep none."""
        return self._references(ref[0], self._held(ref), kept)

    def _held(self, ref: Ref) -> list[Any]:
        """The cells ``ref``'s formula reads as ``where.resolved`` holds them: a cell of its
        own sheet by its address, any other by its reference (none for a value cell)."""
        plain = self._formulas.get(ref[0], _NONE).get(ref[1], _UNKNOWN)
        if type(plain) in _PLAIN:  # most formulas: each input is one cell
            # Every input resolved when it was made plain: one ``resolved`` does not hold is
            # a cell the sheet holds, by its address.
            names, inputs = self._resolved.get(ref[0], _NONE), self._inputs(ref, plain)
            return list(map(names.get, inputs, inputs))
        deps = self._deps.get(ref)
        if deps is not None:
            return deps
        return self._found(ref, plain)

    def _found(self, ref: Ref, plain: Any) -> list[Any]:
        """:meth:`dependencies`' general path, for a cell not visited yet or whose formula is
        not plain (``plain``: what ``_formulas`` holds for it, or ``_UNKNOWN``). A plain
        formula's inputs come back as ``where.resolved`` holds them (a cell of its own sheet
        by its address: no reference made for it), any other's as references, kept."""
        text = self.formula(ref) if plain is _UNKNOWN else cast(str | None, plain)
        deps: list[Any] = []
        if text is None:
            return deps
        compiled = self.compiled(text) if self._shares else self._compile(text)
        form = compiled.form  # its fields read at once, not through its properties
        calls, whole = form.calls, form.always or form.legacy
        if not calls and not whole:  # most formulas: each input resolved once per sheet
            sheet = ref[0]
            names = self._resolved.get(sheet)
            if names is None:
                names = self._resolved[sheet] = {}
            single = form.function is not None and form.problem is None
            for name in compiled.inputs:
                resolved = names.get(name)
                if resolved is None:
                    self.where.resolve(sheet, name)
                    resolved = names.get(name, name)  # not kept: a cell the sheet holds
                if type(resolved) in _SINGLE:  # a reference, or a cell of this sheet's address
                    deps.append(resolved)
                    continue
                single = False
                if isinstance(resolved, list):
                    deps.extend(resolved)
            arrays = self._array_cells.get(sheet)
            if arrays is None:
                arrays = self.where.array_cells(sheet)
            if single and ref[1] not in arrays:
                self._forms(sheet)[ref[1]] = self._kept(compiled, text)  # plain: ``_formulas``
            else:
                deps = self._deps[ref] = self._references(sheet, deps, True)
            return deps
        where = self.where
        for name in compiled.inputs:
            if calls and name in calls:  # a LAMBDA in a name: the cells its body reads
                called = self._called(ref[0], name)
                if not isinstance(called, Problem):
                    for reads in called[1]:
                        deps.extend(reads)
                continue
            found = where.reads(ref, compiled, name) if whole else where.resolve(ref[0], name)
            if isinstance(found, list):
                deps.extend(found)
        self._deps[ref] = deps
        return deps

    def _solve(self, root: Ref, reads: list[Any] | None = None) -> None:
        """Compute ``root`` and what it depends on; ``reads``: its dependencies, when known,
        as ``where.resolved`` holds them (see :meth:`_held`)."""
        # Iterative depth-first search: a 10,000-step chain must not hit Python's recursion limit.
        title = self.where.title(root[0])
        root = root if title == root[0] else (title, root[1])
        # The cells to visit, each with ``_EXPANDED`` above it once its inputs are pushed (it is
        # computed when met again): no pair kept per cell on a long walk (a what-if question
        # down a training run's chain holds tens of thousands).
        stack: list[Any] = [root]
        # The cells expanded and not computed yet, in a dict: a set keeps room for four to
        # six times its cells (2.1 MB for a walk down 20,000), a dict for one and a half.
        on_path: dict[Ref, None] = {}
        values, sheets, texts = self.values, self.values.sheets, self._formulas
        known = values.__contains__
        while stack:
            ref = stack.pop()
            expanded = ref is _EXPANDED
            if expanded:
                ref = stack.pop()
            held = sheets.get(ref[0])
            if held is None:
                held = values.on(ref[0])
            elif ref[1] in held:
                continue
            entry = texts.get(ref[0], _NONE).get(ref[1], _UNKNOWN)
            if entry is _UNKNOWN:
                entry = self.formula(ref)
            if entry is None:
                held[ref[1]] = self._raw(ref)
                continue
            if expanded:
                on_path.pop(ref, None)
                held[ref[1]] = self._compute(ref, cast(str, self.formula(ref)))
                continue
            if reads is not None and ref == root:  # found already: not read off its text again
                found, reads = reads, None
            else:
                found = self._held(ref)
            # Each input a cell of this sheet by its address (most), looked up in its dict (only
            # addresses are its keys); or references, looked up by reference.
            done = all(map(held.__contains__, found))
            local = done or set(map(type, found)) == _STR
            deps: list[Any] = found if local else self._references(ref[0], found)
            has = held.__contains__ if local else known
            if not local:
                done = all(map(has, deps))
            if not done and len(deps) > _BULK:  # a large range: its plain values in one pass
                if local:
                    self._fill_values(ref[0], deps)
                else:
                    self._fill_range(deps)
                done = all(map(has, deps))
            if done:  # a sheet in order: compute at once
                plain = texts[ref[0]][ref[1]]  # plain now, if ever
                kept = cast(Compiled | Form, plain)
                if type(plain) in _PLAIN:
                    get = held.__getitem__ if local else values.__getitem__
                    value = self._quick(kept, list(map(get, deps)))
                else:
                    value = _UNKNOWN
                if value is _UNKNOWN:
                    value = self._compute(ref, cast(str, self.formula(ref)))
                held[ref[1]] = value
                continue
            on_path[ref] = None
            stack += (ref, _EXPANDED)
            for dep in deps:
                if local:
                    if dep in held:
                        continue
                    # The address the sheet's cells are keyed by (interned by the book's
                    # readers), not the copy the formula's text was read into: a long walk
                    # holds one a cell it has still to visit.
                    dep = (ref[0], intern(dep))
                if dep in on_path:
                    self._mark_circular(dep, stack, on_path)
                elif dep not in values:
                    stack.append(dep)

    def _kept(self, compiled: Compiled, text: str) -> Compiled | Form:
        """What ``_formulas`` keeps for a plain formula: its compilation in a small book (see
        :data:`KEPT_CELLS`), else the form of its shape alone where ``text`` says its inputs
        again (see ``Form.inputs_in``)."""
        form = compiled.form
        lean = self._lean and form.picks is not None and tokenable(text)
        return form if lean else compiled

    def _inputs(self, ref: Ref, plain: Compiled | Form) -> Sequence[str]:
        """The inputs of the plain formula at ``ref``, from what ``_formulas`` keeps for it:
        its compilation's, or read off its text (``Form.inputs_in``, whose checks were made
        when it was kept), a large network's checks asking each formula twice."""
        if type(plain) is Compiled:
            return plain.inputs
        sheet = self._exact.get(ref[0])
        cell = sheet.cells[ref[1]] if sheet is not None else self.where.cell(ref)
        text = cast(str, cast(Cell, cell).formula)
        return cast(Form, plain).picks(text.encode().translate(WORDS).decode().split())  # type: ignore[misc]

    def _quick(self, compiled: Compiled | Form, args: list[Value]) -> Any:
        """What :meth:`_compute` gives a plain formula (see ``_formulas``) whose cells are
        computed, in one step, from their values ``args``: numbers handed over as they are.
        ``_UNKNOWN`` for anything else (a cell that is not a number, a failure, a problem
        already found), which goes ``_compute``'s own way: that says why
        (tests/test_fast_engine.py holds the two equal)."""
        function = compiled.function
        if function is None or self.problems:
            return _UNKNOWN
        if set(map(type, args)) != _FLOAT:
            return _UNKNOWN
        try:
            result = function(*args)
        except MemoryError:  # no fault of the formula's: told by ``verify_workbook``
            raise
        except Exception:
            return _UNKNOWN
        if type(result) is float and result - result == 0.0:  # a finite number, as it is
            return result
        return from_engine(result)

    def _fill_values(self, title: str, ats: Iterable[str]) -> None:
        """The values of the cells at ``ats`` on sheet ``title`` (as the book writes it) that
        hold no formula, without a walk each: what :meth:`_solve` would find for them."""
        sheet = self._exact.get(title)
        if sheet is None:
            return  # a sheet looked up otherwise: the walk settles it
        cells, held = sheet.cells, self.values.on(title)
        arrays = self._array_cells.get(title)
        if arrays is None:
            arrays = self.where.array_cells(title)
        for at in ats:
            if at in held:
                continue
            cell = cells.get(at)
            if (cell is not None and cell.formula is not None) or (arrays and at in arrays):
                continue
            held[at] = None if cell is None else cell.value

    def _fill_range(self, refs: Sequence[Ref]) -> None:
        """The values of the cells among ``refs`` that hold no formula (most of a large range),
        without a walk each (:meth:`_fill_values`, a run of one sheet's cells at a time)."""
        start = 0
        for end in range(1, len(refs) + 1):
            if end == len(refs) or refs[end][0] != refs[start][0]:
                self._fill_values(refs[start][0], [r[1] for r in refs[start:end]])
                start = end

    def _mark_circular(self, start: Ref, stack: list[Any], on_path: dict[Ref, None]) -> None:
        """Mark the cycle ``start`` closes on :meth:`_solve`'s ``stack`` (a cell expanded has
        ``_EXPANDED`` above it)."""
        cycle = [r for r, above in pairwise(stack) if above is _EXPANDED and r in on_path]
        cycle = cycle[cycle.index(start) :] if start in cycle else cycle
        names = " → ".join(f"{r[1]}" for r in [*cycle, start])
        for r in cycle:
            self.problems.setdefault(
                r, Problem("circular", f"is part of a circular reference ({names})", names)
            )
            self.values[r] = CellError("#CIRC!")
            on_path.pop(r, None)

    def _raw(self, ref: Ref) -> Value:
        if ref[0].upper() not in self.where.sheets:
            return CellError("#REF!")
        cell = self.where.cell(ref)
        return None if cell is None else cell.value

    def points_to(self, sheet: str, name: str) -> tuple[str, str] | None:
        """The cell or range a defined name points to from ``sheet``, None if it is not one."""
        target = self.where.defined_range(sheet, name)
        return None if target is None else (self.where.title(target[0]), target[1])

    def compiled(self, text: str) -> Compiled:
        """``compile_formula(text)``, remembered in :attr:`formulas`."""
        return self.formulas.compiled(text)

    def _compute(self, ref: Ref, text: str) -> Value:
        place = self.where.array_place(ref)
        if place is None:  # most formulas
            return self._evaluated(ref, text, None)
        anchor = (ref[0], place[0])
        if anchor in self._array_results:  # the array formula is evaluated once for its range
            return element(self._array_results[anchor], place[1], place[2])
        return self._evaluated(ref, text, (anchor, place[1], place[2]))

    def _evaluated(self, ref: Ref, text: str, place: tuple[Ref, int, int] | None) -> Value:
        """``text`` evaluated for ``ref``; ``place``: the array formula's top-left cell and
        ``ref``'s offset in its range, when an array formula computes ``ref``."""
        entry = self._formulas.get(ref[0], _NONE).get(ref[1]) if place is None else None
        if type(entry) is Form:  # its shape's form: the inputs read off the text again
            compiled = Compiled(tuple(self._inputs(ref, entry)), entry)
        else:
            compiled = entry if type(entry) is Compiled else self.compiled(text)
        if compiled.problem is not None or compiled.function is None:
            problem = compiled.problem or Problem("syntax", "could not be compiled")
            return self._failed(ref, problem, CellError("#NAME?"))
        calls, whole = compiled.calls, compiled.always or compiled.legacy
        if place is None and not calls and not whole:  # most formulas: cells, read as they are
            plain = self._plain_arguments(ref)
            if plain is not None:
                return self._call(ref, compiled.function, plain)
        args: list[Any] = []
        where = self.where
        for name in compiled.inputs:
            if calls and name in calls:
                function = self._function_value(ref, name)
                if isinstance(function, Problem):
                    return self._failed(ref, function, CellError("#NAME?"))
                args.append(function)
                continue
            resolved = where.reads(ref, compiled, name) if whole else where.resolve(ref[0], name)
            if isinstance(resolved, Problem):
                return self._failed(ref, resolved, CellError("#REF!"))
            if self.problems and (inherited := self._inherited(ref, resolved)) is not None:
                return inherited
            if whole and len(resolved) == 1 and (name in whole or name in compiled.legacy):
                name = resolved[0][1]  # intersected: the cell's value, as ``@`` hands it over
            args.append(self._argument(name, resolved))
        return self._call(ref, compiled.function, args, place)

    def _plain_arguments(self, ref: Ref) -> list[Any] | None:
        """The arguments of a formula whose inputs are all single cells that resolved (the
        usual case), read straight from the cells :meth:`dependencies` found; None otherwise,
        for :meth:`_compute`'s general path (ranges, names of ranges, problems, cycles)."""
        if self.problems or type(self._formulas.get(ref[0], _NONE).get(ref[1])) not in _PLAIN:
            return None
        args: list[Any] = list(map(self.values.__getitem__, self._reads(ref)))
        if set(map(type, args)) == _FLOAT:  # most formulas: numbers only, handed over as they are
            return args
        for i, value in enumerate(args):
            if type(value) is not float:
                import schedula as sh

                args[i] = to_engine(value, sh.EMPTY)
        return args

    def _call(
        self,
        ref: Ref,
        function: Callable[..., Any],
        args: Sequence[Any],
        place: tuple[Ref, int, int] | None = None,
    ) -> Value:
        """``function(*args)`` as ``ref``'s value; ``place`` as for :meth:`_evaluated`."""
        try:
            result = function(*args)
        except MemoryError:  # no fault of the formula's: never a cell's verdict
            raise
        except Exception as exc:
            failed = Problem("unsupported", f"could not be evaluated by the engine ({exc})")
            return self._failed(ref, failed, CellError("#VALUE!"))
        if place is not None:
            self._array_results[place[0]] = result
            return element(result, place[1], place[2])
        return from_engine(result)

    def _inherited(self, ref: Ref, reads: Sequence[Ref]) -> Value | None:
        """What ``ref`` shows because of a cell it ``reads`` that could not be computed (a
        circular reference, or one sheetgen could not compute with no saved number), or None."""
        for r in reads:
            problem = self.problems.get(r)
            if problem is None:
                continue
            if problem.kind == "circular":
                cycle = problem.detail
                why = f"depends on a circular reference ({cycle})"
                self.problems.setdefault(ref, Problem("circular", why, cycle))
                return CellError("#CIRC!")
            if problem.engine_limit and r not in self.saved:
                depends = Problem("depends", f"reads {r[1]}, which sheetgen could not compute")
                return self._failed(ref, depends, CellError("#N/A"))
        return None

    def _failed(self, ref: Ref, problem: Problem, error: CellError) -> Value:
        """The value of a cell the engine could not compute: the number the learner's application
        saved when the problem is sheetgen's limit (recorded in :attr:`saved`), else ``error``."""
        self.problems[ref] = problem
        if problem.engine_limit:
            cell = self.where.cell(ref)
            value = None if cell is None else cell.value
            if type(value) is float and math.isfinite(value):
                self.saved[ref] = problem
                return value
        return error

    def _called(self, sheet: str, name: str) -> tuple[Compiled, list[list[Ref]]] | Problem:
        """The LAMBDA the defined name ``name`` holds, compiled, with the cells its body reads
        (by input); a Problem when the name is not defined (a typo: #NAME? in every
        application) or holds no LAMBDA."""
        key = (sheet, name)
        if key in self._calls:
            return self._calls[key]
        text = self.where.defined(sheet, name)
        found: tuple[Compiled, list[list[Ref]]] | Problem
        if text is None:
            found = Problem(
                "unknown", f"uses {name}, a function no spreadsheet application knows", name
            )
        elif functions_bare(text.strip().lstrip("=").upper()).startswith("LAMBDA("):
            compiled = self.compiled("=" + text.strip().lstrip("="))
            reads = [self.where.resolve(sheet, n) for n in compiled.inputs]
            bad = next((r for r in reads if isinstance(r, Problem)), None)
            found = compiled.problem or bad or (compiled, [r for r in reads if isinstance(r, list)])
        else:
            found = Problem("reference", f"calls {name}, a name that holds no LAMBDA function")
        self._calls[key] = found
        return found

    def _function_value(self, ref: Ref, name: str) -> Any:
        """The engine's function object for the LAMBDA the name ``name`` holds, or a Problem."""
        called = self._called(ref[0], name)
        if isinstance(called, Problem):
            return called
        compiled, reads = called
        assert compiled.function is not None
        args = []
        for n, cells in zip(compiled.inputs, reads, strict=True):
            for r in cells if self.problems else ():
                problem = self.problems.get(r)
                if problem is None or not (
                    problem.kind == "circular" or (problem.engine_limit and r not in self.saved)
                ):
                    continue
                return Problem(
                    "circular" if problem.kind == "circular" else "depends",
                    f"calls {name}, which reads {r[1]}: {problem.message}",
                    problem.detail,
                )
            args.append(self._argument(n, cells))
        try:
            return compiled.function(*args)
        except MemoryError:  # no fault of the function's: never a cell's verdict
            raise
        except Exception as exc:
            return Problem("unsupported", f"calls {name}, which the engine cannot evaluate ({exc})")

    def rests_on_saved(self, ref: Ref) -> tuple[str, ...]:
        """The cells whose saved values (not sheetgen's computation) ``ref``'s value rests on:
        itself if it took its saved value, else the saved cells it reads, directly or not.

        Worked out once for every cell evaluated so far, each after the evaluated cells it
        reads (depth first; a cell on the path, in a cycle, counts as not worked out yet): a
        training run's ten thousand cells cost one pass.
        """
        if not self.saved:
            return ()
        count = len(self.values)
        if self._saved_from is None or self._saved_from[0] != count:
            found: dict[Ref, tuple[str, ...]] = {}
            met: set[Ref] = set()
            values, saved = self.values, self.saved
            for start in values:
                stack: list[tuple[Ref, list[Ref] | None]] = [(start, None)]
                while stack:
                    r, deps = stack.pop()
                    if deps is None:  # first met: its evaluated inputs first
                        if r in met:
                            continue
                        met.add(r)
                        plain = r in saved or self.formula(r) is None
                        deps = [] if plain else self._reads(r)
                        stack.append((r, deps))
                        stack.extend(
                            (d, None) for d in reversed(deps) if d not in met and d in values
                        )
                        continue
                    if r in saved:
                        found[r] = (r[1],)
                    elif deps:
                        names = {n for d in deps for n in found.get(d, ())}
                        if names:
                            found[r] = tuple(sorted(names, key=a1.split))
            self._saved_from = (count, found)
        return self._saved_from[1].get(ref, ())

    def _argument(self, name: str, refs: Sequence[Ref]) -> Any:
        if len(refs) == 1 and ":" not in name:
            value = self.values[refs[0]]
            if type(value) is float:  # most arguments: a number, as it is
                return value
            import schedula as sh

            return to_engine(value, sh.EMPTY)
        import numpy as np
        import schedula as sh
        from formulas import Ranges

        first, last = refs[0][1], refs[-1][1]
        min_col, min_row, max_col, max_row = a1.bounds(f"{first}:{last}")
        assert min_col and min_row and max_col and max_row
        values, empty = self.values, sh.EMPTY
        cells = [v if type(v) is float else to_engine(v, empty) for v in map(values.get, refs)]
        array = np.array(cells, dtype=object).reshape(max_row - min_row + 1, max_col - min_col + 1)
        return Ranges().push(f"{first}:{last}", array)
