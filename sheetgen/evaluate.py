"""Evaluate a workbook's formulas ourselves, with the ``formulas`` engine's parser and functions.

We never trust the values cached in a file: a learner's file may be stale, and openpyxl writes
none. Rather than ``formulas.ExcelModel`` (which loads and solves every cell of every sheet),
we compile each distinct formula text once with ``formulas.Parser`` — cached across cells and
workbooks — and evaluate only the cells asked for and what they depend on, in dependency order.
Anything the engine cannot do is reported per cell, never guessed: an unknown function, a
reference to another workbook, a circular reference.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl.utils.cell import (
    column_index_from_string,
    coordinate_to_tuple,
    get_column_letter,
    range_boundaries,
)
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula

os.environ.setdefault("TQDM_DISABLE", "1")  # formulas draws progress bars otherwise


@dataclass(frozen=True)
class CellError:
    """An Excel error value such as ``#DIV/0!``, as a cell holds or a formula returns."""

    code: str

    def __str__(self) -> str:
        return self.code


Value = float | str | bool | CellError | None
"""What a cell evaluates to: a number, text, a boolean, an Excel error, or None (empty)."""

Ref = tuple[str, str]  # (sheet title, "B2")

MAX_RANGE_CELLS = 10_000


@dataclass(frozen=True)
class Problem:
    """Why a cell could not be evaluated faithfully: the engine's limit, not the learner's maths."""

    kind: str  # "unsupported", "external", "circular", "syntax", "reference"
    message: str


@dataclass(frozen=True)
class Compiled:
    """A formula compiled once: its input references (as the engine names them) and function."""

    inputs: tuple[str, ...]
    function: Callable[..., Any] | None
    problem: Problem | None = None


_EXTERNAL = re.compile(r"\[[^\]]*\]")


@functools.lru_cache(maxsize=4096)
def compile_formula(text: str) -> Compiled:
    """Parse and compile ``text`` (``"=B2*C2+D2"``) once; identical texts share the result."""
    import formulas
    from formulas.tokens.function import Function

    from . import functions
    from .straight import straighten

    functions.install()  # load only the function modules the formulas use
    from formulas.functions import get_functions, not_implemented

    try:
        tokens, ast = formulas.Parser().ast(text)
    except Exception as exc:  # the parser raises several unrelated types
        return Compiled(
            (), None, Problem("syntax", f"is not a formula the engine can read ({exc})")
        )
    known = get_functions()
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


# A cell reference inside a formula (not part of a name, a number or a function call).
_CELL_REF = re.compile(r"(?<![\w.$])(\$?)([A-Za-z]{1,3})(\$?)([0-9]{1,7})(?![\w(])")
_MAX_SHAPES = 4096
_shapes: dict[tuple[str, ...], str] = {}


def _refs_outside_strings(text: str) -> list[re.Match[str]]:
    parts = text.split('"')
    out: list[re.Match[str]] = []
    offset = 0
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.extend(_CELL_REF.finditer(text, offset, offset + len(part)))
        offset += len(part) + 1
    return out


def _shape(text: str, row: int, column: int) -> tuple[str, ...] | None:
    """The formula with its relative references as offsets from its cell (R1C1's idea).

    A formula filled down a column has one shape, however many texts: ``=A1*2`` in A2 and
    ``=A2*2`` in A3. None when a reference is out of the sheet (the engine must see it).
    """
    pieces: list[str] = []
    last = 0
    for m in _refs_outside_strings(text):
        col_abs, letters, row_abs, digits = m.groups()
        c, r = column_index_from_string(letters.upper()), int(digits)
        if not (1 <= r <= 1_048_576 and c <= 16_384):
            return None
        pieces.append(text[last : m.start()])
        pieces.append(
            f"{col_abs}{c if col_abs else c - column}|{row_abs}{r if row_abs else r - row}"
        )
        last = m.end()
    pieces.append(text[last:])
    return tuple(pieces)


@functools.lru_cache(maxsize=16384)
def _compile_like(text: str, base: str) -> Compiled | None:
    """``text`` compiled by reusing ``base``'s compiled function (same shape), or None.

    Only the references differ, position by position; the engine's input names for
    ``text`` are ``base``'s with each reference replaced by its counterpart. Anything that
    does not map one to one (``=$A1+A1`` filled right) is compiled on its own.
    """
    compiled = compile_formula(base)
    if compiled.problem is not None:
        return compiled
    mapping: dict[str, str] = {}
    for old, new in zip(_refs_outside_strings(base), _refs_outside_strings(text), strict=True):
        before = (old.group(2) + old.group(4)).upper()
        after = (new.group(2) + new.group(4)).upper()
        if mapping.setdefault(before, after) != after:
            return None
    inputs: list[str] = []
    for name in compiled.inputs:
        missing = False

        def swap(m: re.Match[str]) -> str:
            nonlocal missing
            key = (m.group(2) + m.group(4)).upper()
            if key not in mapping:
                missing = True
                return key
            return mapping[key]

        inputs.append(_CELL_REF.sub(swap, name))
        if missing:
            return None
    return Compiled(tuple(inputs), compiled.function, compiled.problem)


def compile_at(text: str, row: int, column: int) -> Compiled:
    """``text`` as it stands in cell (``row``, ``column``): compiled once per shape.

    The engine's compiler costs milliseconds a formula; a sheet filled down has thousands
    of texts but a handful of shapes, so each shape is compiled once and shared.
    """
    shape = _shape(text, row, column)
    if shape is None:
        return compile_formula(text)
    base = _shapes.get(shape)
    if base is None or base == text:
        if len(_shapes) >= _MAX_SHAPES:
            _shapes.clear()
        _shapes[shape] = text
        return compile_formula(text)
    return _compile_like(text, base) or compile_formula(text)


def formula_text(cell_value: object) -> str | None:
    """The formula a cell holds (plain, shared-translated or array), or None."""
    if isinstance(cell_value, ArrayFormula):
        return str(cell_value.text)
    if isinstance(cell_value, str) and cell_value.startswith("=") and len(cell_value) > 1:
        return cell_value
    return None


def raw_value(cell: Any) -> Value:
    """A non-formula cell's value in our terms (numbers as float, error cells as CellError)."""
    v = cell.value
    if cell.data_type == "e" and isinstance(v, str):
        return CellError(v)
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int | float):
        return float(v)
    return str(v)  # dates and times: not numbers this tool expects


class Evaluator:
    """Computes cells of one workbook on demand, memoising every value it computes."""

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook
        self.sheets = {ws.title.upper(): ws for ws in workbook.worksheets}
        self.names = _defined_names(workbook)
        self.values: dict[Ref, Value] = {}
        self.problems: dict[Ref, Problem] = {}
        self._formulas: dict[Ref, str | None] = {}
        self._resolved: dict[tuple[str, str], list[Ref] | Problem] = {}
        self._compiled_at: dict[Ref, Compiled] = {}
        logging.getLogger("schedula").setLevel(logging.CRITICAL)
        logging.getLogger("formulas").setLevel(logging.CRITICAL)

    def formula(self, ref: Ref) -> str | None:
        if ref in self._formulas:
            return self._formulas[ref]
        cell = self._cell(ref)
        text = None if cell is None else formula_text(cell.value)
        self._formulas[ref] = text
        return text

    def _cell(self, ref: Ref) -> Any:
        """The cell at ``ref`` or None, read without creating it (``ws[...]`` would)."""
        ws = self.sheets.get(ref[0].upper())
        if ws is None:
            return None
        cells = getattr(ws, "_cells", None)  # openpyxl's own {(row, col): Cell}
        if cells is None:
            return ws[ref[1]]
        return cells.get(_row_col(ref[1]))

    def evaluate(self, refs: Iterable[Ref]) -> dict[Ref, Value]:
        """Values of ``refs`` (and, memoised, of all cells they depend on)."""
        wanted = list(refs)
        for ref in wanted:
            self._solve(ref)
        return {ref: self.values[ref] for ref in wanted}

    def dependencies(self, ref: Ref) -> list[Ref]:
        """The cells a formula cell reads directly (empty for a value cell)."""
        text = self.formula(ref)
        if text is None:
            return []
        compiled = self._compiled(ref, text)
        deps: list[Ref] = []
        for name in compiled.inputs:
            resolved = self._resolve(ref[0], name)
            if isinstance(resolved, list):
                deps.extend(resolved)
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
            on_path.add(ref)
            stack.append((ref, True))
            for dep in self.dependencies(ref):
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
                r, Problem("circular", f"is part of a circular reference ({names})")
            )
            self.values[r] = CellError("#CIRC!")
            on_path.discard(r)

    def _title(self, sheet: str) -> str:
        ws = self.sheets.get(sheet.upper())
        return ws.title if ws is not None else sheet

    def _raw(self, ref: Ref) -> Value:
        if ref[0].upper() not in self.sheets:
            return CellError("#REF!")
        cell = self._cell(ref)
        return None if cell is None else raw_value(cell)

    def _resolve(self, sheet: str, name: str) -> list[Ref] | Problem:
        """Turn an engine input name (``B2``, ``TINY``, ``'S 1'!A1:B2``) into cell references."""
        key = (sheet, name)
        if key not in self._resolved:
            self._resolved[key] = self._resolve_uncached(sheet, name)
        return self._resolved[key]

    def _resolve_uncached(self, sheet: str, name: str) -> list[Ref] | Problem:
        if _EXTERNAL.search(name):
            return Problem(
                "external", f"refers to another workbook ({name}), which is never opened"
            )
        target = self.names.get(name.upper())
        if target is not None:
            sheet, name = target
        if "!" in name:
            sheet, name = name.rsplit("!", 1)
            sheet = sheet.strip("'").replace("''", "'")
            if sheet.upper() not in self.sheets:
                return Problem("reference", f"refers to a sheet that does not exist ({sheet})")
        name = name.replace("$", "")
        try:
            min_col, min_row, max_col, max_row = range_boundaries(name)
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
            (title, f"{get_column_letter(c)}{r}")
            for r in range(min_row, max_row + 1)
            for c in range(min_col, max_col + 1)
        ]

    def _compiled(self, ref: Ref, text: str) -> Compiled:
        compiled = self._compiled_at.get(ref)
        if compiled is None:
            row, column = _row_col(ref[1])
            compiled = self._compiled_at[ref] = compile_at(text, row, column)
        return compiled

    def _compute(self, ref: Ref, text: str) -> Value:
        compiled = self._compiled(ref, text)
        if compiled.problem is not None or compiled.function is None:
            self.problems[ref] = compiled.problem or Problem("syntax", "could not be compiled")
            return CellError("#NAME?")
        args: list[Any] = []
        for name in compiled.inputs:
            resolved = self._resolve(ref[0], name)
            if isinstance(resolved, Problem):
                self.problems[ref] = resolved
                return CellError("#REF!")
            inherited = [
                r for r in resolved if r in self.problems and self.problems[r].kind == "circular"
            ]
            if inherited:
                self.problems.setdefault(ref, self.problems[inherited[0]])
                return CellError("#CIRC!")
            args.append(self._argument(name, resolved))
        try:
            result = compiled.function(*args)
        except Exception as exc:
            self.problems[ref] = Problem(
                "unsupported", f"could not be evaluated by the engine ({exc})"
            )
            return CellError("#VALUE!")
        return _from_engine(result)

    def _argument(self, name: str, refs: Sequence[Ref]) -> Any:
        import numpy as np
        import schedula as sh

        if len(refs) == 1 and ":" not in name:
            return _to_engine(self.values[refs[0]], sh.EMPTY)
        from formulas import Ranges

        first, last = refs[0][1], refs[-1][1]
        min_col, min_row, max_col, max_row = range_boundaries(f"{first}:{last}")
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


@functools.lru_cache(maxsize=65536)
def _row_col(coordinate: str) -> tuple[int, int]:
    row, column = coordinate_to_tuple(coordinate)
    return row, column


def _defined_names(workbook: Workbook) -> dict[str, Ref]:
    """Workbook-level defined names that point at a single cell, by upper-case name."""
    out: dict[str, Ref] = {}
    for name, defn in workbook.defined_names.items():
        try:
            destinations = list(defn.destinations)
        except Exception:
            continue
        if len(destinations) == 1:
            sheet, coord = destinations[0]
            out[name.upper()] = (sheet, coord.replace("$", ""))
    return out
