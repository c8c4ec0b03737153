"""Evaluate a workbook's formulas ourselves, with the ``formulas`` engine's parser and functions.

We never trust the values cached in a file: a learner's file may be stale, and openpyxl writes
none. Rather than ``formulas.ExcelModel`` (which loads and solves every cell of every sheet),
we compile each distinct formula text once with ``formulas.Parser`` — cached across cells and
workbooks — and evaluate only the cells asked for and what they depend on, in dependency order.
Anything the engine cannot do is reported per cell, never guessed: an unknown function, a
reference to another workbook, a circular reference.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import a1
from ..workbook.book import Book, Cell, CellError, Value, destination, formula_text
from .hazards import HAZARD_DESCRIPTIONS, hazards_of_shape

__all__ = ["CellError", "Evaluator", "Problem", "Ref", "Value", "compile_formula", "formula_text"]

Ref = tuple[str, str]  # (sheet title, "B2")

MAX_RANGE_CELLS = 10_000


@dataclass(frozen=True)
class Problem:
    """Why a cell could not be evaluated faithfully: the engine's limit, not the learner's maths."""

    kind: str  # "unsupported", "external", "circular", "syntax", "reference"
    message: str
    detail: str = ""  # for "circular": the cycle, as "E2 → I2 → H2 → F2 → E2"


@dataclass(frozen=True)
class Compiled:
    """A formula compiled once: its input references (as the engine names them) and function."""

    inputs: tuple[str, ...]
    function: Callable[..., Any] | None
    problem: Problem | None = None


_EXTERNAL = re.compile(r"\[[^\]]*\]")


@functools.lru_cache(maxsize=65536)
def compile_formula(text: str) -> Compiled:
    """Compile ``text`` (``"=B2*C2+D2"``), sharing the work among formulas of the same shape.

    A generated sheet repeats a handful of shapes thousands of times (``=B5*C5+D5``,
    ``=B6*C6+D6``...) and compiling costs milliseconds, so single-cell references are renamed
    to placeholders in order of appearance, the shape is vetted and compiled once, and the
    placeholders are mapped back to this formula's cells. Formulas with ranges, sheet names,
    strings or external links are vetted and compiled as written. (Renaming cells cannot
    hide or make a hazard: those need a function name, ``|``, or the characters that send a
    formula down the second path.)
    """
    shape, cells = a1.shape(text)
    if cells:
        compiled = _vetted(shape)
        back = {placeholder: ref for ref, placeholder in cells.items()}
        return Compiled(
            tuple(back.get(n, n) for n in compiled.inputs),
            compiled.function,
            compiled.problem,
        )
    return _vetted(text)


@functools.lru_cache(maxsize=4096)
def _vetted(text: str) -> Compiled:
    """``text`` compiled, unless it could reach outside the workbook or build references."""
    hazards = hazards_of_shape(text)  # a shape already: no second normalisation
    if hazards:  # never evaluated
        kind = "external" if hazards[0] in ("external-reference", "dde") else "unsupported"
        what = "; ".join(HAZARD_DESCRIPTIONS[h] for h in hazards)
        return Compiled((), None, Problem(kind, f"was not evaluated: it {what}"))
    return _compile_text(text)


@functools.lru_cache(maxsize=4096)
def _compile_text(text: str) -> Compiled:
    """Parse and compile ``text`` once; identical texts share the result."""
    import formulas
    from formulas.tokens.function import Function

    from . import function_table as functions
    from .replay import straighten

    functions.prepare()  # the engine's function modules, scipy deferred until a function needs it
    from formulas.functions import get_functions, not_implemented

    try:
        tokens, ast = formulas.Parser().ast(text)
    except Exception as exc:  # the parser raises several unrelated types
        return Compiled(
            (), None, Problem("syntax", f"is not a formula the engine can read ({exc})")
        )
    known = get_functions()  # a defaultdict: parsing inserts unknown names as not_implemented
    for token in tokens:
        if isinstance(token, Function):
            name = token.name.upper().removeprefix("_XLFN.")
            # Not ``name in known``: the engine's table is a defaultdict that compiling an
            # unknown name has already filled with its ``not_implemented`` placeholder.
            if known.get(name, not_implemented) is not_implemented:
                return Compiled(
                    (),
                    None,
                    Problem(
                        "unsupported", f"uses {name}, a function the formulas engine does not know"
                    ),
                )
    try:
        fn = ast.compile()
    except Exception as exc:
        return Compiled((), None, Problem("syntax", f"could not be compiled ({exc})"))
    # The same functions called directly, without schedula's per-call bookkeeping.
    return Compiled(tuple(fn.inputs), straighten(fn) or fn)


# The engine's dispatcher logs (with a traceback) every error a formula returns as a value,
# #DIV/0! included, and numpy warns of the overflows the engine turns into #NUM!; the report
# shows those per cell. Both are silenced during sheetgen's own calls only: a host that turns
# warnings into errors must not change a verdict, and its logging is as it was afterwards.
_DISPATCH_LOG = logging.getLogger("schedula.utils.sol")


@contextlib.contextmanager
def engine_quiet() -> Iterator[None]:
    """Within: the engine's dispatcher does not log and numpy does not warn (see above)."""
    import numpy as np

    was = _DISPATCH_LOG.disabled
    _DISPATCH_LOG.disabled = True
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        _DISPATCH_LOG.disabled = was


class Evaluator:
    """Computes cells of one workbook on demand, memoising every value it computes."""

    def __init__(self, workbook: Book | Any, overrides: Mapping[Ref, Value] | None = None) -> None:
        """``workbook``: a :class:`Book` (or an openpyxl ``Workbook``, read into one).

        ``overrides`` replace cells' values (what-if questions), never the workbook's.
        """
        self.book = Book.of(workbook)
        self.overrides = dict(overrides or {})
        self.sheets = {sheet.title.upper(): sheet for sheet in self.book.sheets}
        self._exact = {sheet.title: sheet for sheet in self.book.sheets}  # the usual lookup
        self.values: dict[Ref, Value] = {}
        self.problems: dict[Ref, Problem] = {}
        self.values.update(self.overrides)
        # What depends on the book alone, not on values: shared with what-if children.
        self._formulas: dict[Ref, str | None] = {}
        self._resolved: dict[tuple[str, str], list[Ref] | Problem] = {}
        self._deps: dict[Ref, list[Ref]] = {}
        # Each formula text's compilation, for this book: ``compile_formula``'s cache is
        # bounded, and a sheet with more distinct formulas than it holds would compile each
        # again for its dependencies, its value and every what-if.
        self._compiled: dict[str, Compiled] = {}

    def formula(self, ref: Ref) -> str | None:
        if ref in self._formulas:
            return self._formulas[ref]
        cell = self._cell(ref)
        text = None if cell is None else cell.formula
        self._formulas[ref] = text
        return text

    def _cell(self, ref: Ref) -> Cell | None:
        sheet = self._exact.get(ref[0]) or self.sheets.get(ref[0].upper())
        return None if sheet is None else sheet.cells.get(ref[1])

    def evaluate(self, refs: Iterable[Ref]) -> dict[Ref, Value]:
        """Values of ``refs`` (and, memoised, of all cells they depend on)."""
        wanted = list(refs)
        with engine_quiet():
            for ref in wanted:
                self._solve(ref)
        return {ref: self.values[ref] for ref in wanted}

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
                child.evaluate(dep for dep in child.dependencies(ref) if dep != ref)
                out[ref] = child._compute(ref, text)
        return out

    def with_overrides(self, overrides: Mapping[Ref, Value]) -> Evaluator:
        """A fresh evaluator of the same book with more ``overrides``.

        It shares what depends on the book alone (formulas, references, dependencies), so
        asking many what-if questions costs only the evaluations.
        """
        child = Evaluator(self.book, {**self.overrides, **overrides})
        child._formulas, child._resolved, child._deps = self._formulas, self._resolved, self._deps
        child._compiled = self._compiled
        return child

    def dependencies(self, ref: Ref) -> list[Ref]:
        """The cells a formula cell reads directly (empty for a value cell)."""
        if ref in self._deps:
            return self._deps[ref]
        text = self.formula(ref)
        deps: list[Ref] = []
        if text is not None:
            for name in self.compiled(text).inputs:
                resolved = self._resolve(ref[0], name)
                if isinstance(resolved, list):
                    deps.extend(resolved)
        self._deps[ref] = deps
        return deps

    def _solve(self, root: Ref) -> None:
        # Iterative depth-first search: a 10,000-step chain must not hit Python's recursion limit.
        root = (self._title(root[0]), root[1])
        stack: list[tuple[Ref, bool]] = [(root, False)]
        on_path: set[Ref] = set()
        while stack:
            ref, expanded = stack.pop()
            if ref in self.values:
                continue
            text = self.formula(ref)
            if text is None:
                self.values[ref] = self._raw(ref)
                continue
            if expanded:
                on_path.discard(ref)
                self.values[ref] = self._compute(ref, text)
                continue
            deps = self.dependencies(ref)
            if all(dep in self.values for dep in deps):  # a sheet in order: compute at once
                self.values[ref] = self._compute(ref, text)
                continue
            on_path.add(ref)
            stack.append((ref, True))
            for dep in deps:
                if dep in on_path:
                    self._mark_circular(dep, stack, on_path)
                elif dep not in self.values:
                    stack.append((dep, False))

    def _mark_circular(self, start: Ref, stack: list[tuple[Ref, bool]], on_path: set[Ref]) -> None:
        cycle = [r for r, expanded in stack if expanded and r in on_path]
        cycle = cycle[cycle.index(start) :] if start in cycle else cycle
        names = " → ".join(f"{r[1]}" for r in [*cycle, start])
        for r in cycle:
            self.problems.setdefault(
                r, Problem("circular", f"is part of a circular reference ({names})", names)
            )
            self.values[r] = CellError("#CIRC!")
            on_path.discard(r)

    def _title(self, sheet: str) -> str:
        ws = self._exact.get(sheet) or self.sheets.get(sheet.upper())
        return ws.title if ws is not None else sheet

    def _raw(self, ref: Ref) -> Value:
        if ref[0].upper() not in self.sheets:
            return CellError("#REF!")
        cell = self._cell(ref)
        return None if cell is None else cell.value

    def _resolve(self, sheet: str, name: str) -> list[Ref] | Problem:
        """Turn an engine input name (``B2``, ``TINY``, ``'S 1'!A1:B2``) into cell references."""
        key = (sheet, name)
        if key not in self._resolved:  # each input is resolved for its dependencies and value
            self._resolved[key] = self._resolve_name(sheet, name)
        return self._resolved[key]

    def _resolve_name(self, sheet: str, name: str) -> list[Ref] | Problem:
        if a1.PLAIN_CELL.fullmatch(name) and a1.within(name):  # the common case: B2
            return [(self._title(sheet), name)]
        if _EXTERNAL.search(name):
            return Problem(
                "external", f"refers to another workbook ({name}), which is never opened"
            )
        target = self._name(sheet, name)
        if target is not None:
            sheet, name = target
        if "!" in name:
            sheet, name = name.rsplit("!", 1)
            sheet = sheet.strip("'").replace("''", "'")
            if sheet.upper() not in self.sheets:
                return Problem("reference", f"refers to a sheet that does not exist ({sheet})")
        name = name.replace("$", "")
        try:
            min_col, min_row, max_col, max_row = a1.bounds(name)
        except ValueError:
            return Problem("reference", f"uses a name the workbook does not define ({name})")
        if None in (min_col, min_row, max_col, max_row):
            return Problem("unsupported", f"uses a whole-row or whole-column range ({name})")
        assert min_col and min_row and max_col and max_row
        if (max_col - min_col + 1) * (max_row - min_row + 1) > MAX_RANGE_CELLS:
            return Problem(
                "unsupported", f"uses a range larger than {MAX_RANGE_CELLS} cells ({name})"
            )
        title = self._title(sheet)
        return [
            (title, a1.name(r, c))
            for r in range(min_row, max_row + 1)
            for c in range(min_col, max_col + 1)
        ]

    def points_to(self, sheet: str, name: str) -> tuple[str, str] | None:
        """The cell or range a defined name points to from ``sheet``, None if it is not one."""
        target = self._name(sheet, name)
        return None if target is None else (self._title(target[0]), target[1])

    def _name(self, sheet: str, name: str) -> tuple[str, str] | None:
        """Where a defined name points (one cell or range): the sheet's own names first."""
        own = self.sheets.get(sheet.upper())
        text = (own.name(name) if own is not None else None) or self.book.name(name)
        return destination(text) if text is not None else None

    def compiled(self, text: str) -> Compiled:
        """``compile_formula(text)``, remembered for this book (see ``__init__``)."""
        found = self._compiled.get(text)
        if found is None:
            found = self._compiled[text] = compile_formula(text)
        return found

    def _compute(self, ref: Ref, text: str) -> Value:
        compiled = self.compiled(text)
        if compiled.problem is not None or compiled.function is None:
            self.problems[ref] = compiled.problem or Problem("syntax", "could not be compiled")
            return CellError("#NAME?")
        args = self._plain_arguments(ref, compiled.inputs)
        if args is not None:
            return self._call(ref, compiled.function, args)
        args = []
        for name in compiled.inputs:
            resolved = self._resolve(ref[0], name)
            if isinstance(resolved, Problem):
                self.problems[ref] = resolved
                return CellError("#REF!")
            inherited = self.problems and [
                r for r in resolved if r in self.problems and self.problems[r].kind == "circular"
            ]
            if inherited:
                cycle = self.problems[inherited[0]].detail
                self.problems.setdefault(
                    ref, Problem("circular", f"depends on a circular reference ({cycle})", cycle)
                )
                return CellError("#CIRC!")
            args.append(self._argument(name, resolved))
        return self._call(ref, compiled.function, args)

    def _plain_arguments(self, ref: Ref, inputs: Sequence[str]) -> list[Any] | None:
        """The arguments of a formula whose inputs are all single cells that resolved (the
        usual case), read straight from the cells :meth:`dependencies` found; None otherwise,
        for :meth:`_compute`'s general path (ranges, names of ranges, problems, cycles)."""
        deps = self._deps.get(ref)
        if deps is None or len(deps) != len(inputs) or self.problems or ":" in "".join(inputs):
            return None
        values = self.values
        args: list[Any] = [values[d] for d in deps]
        for i, value in enumerate(args):
            if type(value) is not float:  # most arguments: a number, as it is
                import schedula as sh

                args[i] = _to_engine(value, sh.EMPTY)
        return args

    def _call(self, ref: Ref, function: Callable[..., Any], args: Sequence[Any]) -> Value:
        try:
            result = function(*args)
        except Exception as exc:
            self.problems[ref] = Problem(
                "unsupported", f"could not be evaluated by the engine ({exc})"
            )
            return CellError("#VALUE!")
        return _from_engine(result)

    def _argument(self, name: str, refs: Sequence[Ref]) -> Any:
        if len(refs) == 1 and ":" not in name:
            value = self.values[refs[0]]
            if type(value) is float:  # most arguments: a number, as it is
                return value
            import schedula as sh

            return _to_engine(value, sh.EMPTY)
        import numpy as np
        import schedula as sh
        from formulas import Ranges

        first, last = refs[0][1], refs[-1][1]
        min_col, min_row, max_col, max_row = a1.bounds(f"{first}:{last}")
        assert min_col and min_row and max_col and max_row
        cells = [_to_engine(self.values[r], sh.EMPTY) for r in refs]
        array = np.array(cells, dtype=object).reshape(max_row - min_row + 1, max_col - min_col + 1)
        return Ranges().push(f"{first}:{last}", array)


def _to_engine(value: Value, empty: object) -> object:
    import formulas

    if value is None:
        return empty
    if isinstance(value, CellError):
        return formulas.tokens.operand.XlError(value.code)
    return value


def _from_engine(result: object) -> Value:
    import numpy as np
    import schedula as sh
    from formulas.tokens.operand import XlError

    if isinstance(result, np.ndarray):
        result = result.ravel()[0] if result.size else None
    if type(result) is float:  # most results: a finite number, as it is
        return result if math.isfinite(result) else CellError("#NUM!")
    if isinstance(result, XlError):
        return CellError(str(result))
    if result is sh.EMPTY or result is None:
        return 0.0  # a formula that reads an empty cell shows 0, as in Excel
    if isinstance(result, bool | np.bool_):
        return bool(result)
    if isinstance(result, int | float | np.integer | np.floating):
        value = float(result)
        return value if math.isfinite(value) else CellError("#NUM!")
    return str(result)
