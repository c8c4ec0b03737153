"""Find a layout on a sheet where it is now: by the sheet's own labels and headers.

Learners insert and delete rows and columns, add a title row, cut the table and paste it
elsewhere, rename or copy the sheet. Spreadsheet applications keep the formulas right through
all of that, so the verdict must not depend on the template's addresses. A layout is found as
a map from its rows and columns to the sheet's:

- each row of the layout that holds text (a row label such as ``Neuron maths:``, or a row of
  headers) is the sheet row holding most of the same texts (at least half of them); a text
  that two rows share goes to the row that no other row of the layout claims;
- each column is where its headers are now, looked up in the rows already found (so a header
  repeated by every block of a network, ``In 1``, is read in its own block's row);
- a row with no text (a training step) is found by the number in its label column (the
  step number), else it keeps its distance from the row above;
- a defined name the layout uses (``Tiny``) points to its cell wherever it is.

Cells are then read and reported at their current addresses (``Layout.relocated``). When the
map cannot be made (a label deleted, or found twice), :class:`Miss` says which label and where
it was looked for.
"""

from __future__ import annotations

import bisect
import math
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from .. import a1
from ..layouts.layout import Layout, relocated
from ..workbook.book import Book, Sheet, destination


@dataclass(frozen=True)
class Placement:
    """A layout found on a sheet: the layout with its cells at their current addresses.

    Where nothing moved (the usual case) ``layout`` is ``template`` itself; otherwise it is
    the template relocated (``Layout.relocated``), which says where each cell is now.
    """

    sheet: Sheet
    layout: Layout
    template: Layout
    notes: tuple[str, ...] = field(default=(), kw_only=True)
    """Keyword-only: a caller that gave a fourth field positionally meant ``moved``,
    which the placed layout holds now (see :attr:`moved`)."""

    @property
    def moved(self) -> Mapping[str, str]:
        """Template address -> current address of each cell that moved, as the placed
        layout holds it (``Layout.moved``): empty where nothing moved, so that a placement
        (kept for the submissions of one hand-out) holds no map of every cell (a 200-200-1
        network's was 7.7 MB). ``placement.layout.current(at)`` says where a cell is
        whether or not it moved."""
        return self.layout.moved

    @property
    def shifted(self) -> bool:
        """Whether a cell is somewhere other than where the template puts it."""
        return self.layout is not self.template


@dataclass(frozen=True)
class Miss:
    """Why a layout could not be placed on a sheet: one sentence, and how close it came."""

    sheet: str
    reason: str
    found: float  # the share of the layout's labels found on the sheet, 0..1


@dataclass(frozen=True)
class _Shape:
    """What locating needs from a layout, computed once per layout."""

    row_texts: Mapping[int, tuple[tuple[int, str, str], ...]]  # row -> (col, norm, shown)
    col_texts: Mapping[int, tuple[tuple[int, str], ...]]  # col -> (row, norm), not decorations
    needed_rows: frozenset[int]
    needed_cols: frozenset[int]
    row_keys: Mapping[int, tuple[int, float]]  # textless needed row -> (col, number)
    # Every cell's address, row and column, in the layout's order: arrays of numbers rather
    # than a (row, col) pair per cell (a pair each was 16 MB of an 80-80-1 network's check).
    addresses: tuple[str, ...]
    rows: array[int]
    cols: array[int]
    texts: Mapping[str, str]  # address of a text cell -> its text, normalised
    named_rows: Mapping[int, set[str]]  # row -> its needed cells, where a name may point
    label_count: int


_SHAPES: dict[int, tuple[Layout, _Shape]] = {}

_split = a1.split.__wrapped__
"""``a1.split`` without its cache: a layout's every address once would fill it (65,536 pairs
and their keys, 9 MB, for a large network) with what the shape keeps anyway."""


_PUNCTUATION = re.compile(r"[^\w]+")


def _norm(text: str) -> str:
    """A label as compared: case, spaces and punctuation aside (``Neuron maths`` matches
    ``Neuron maths:``, ``Faux gradient of output`` matches ``Faux gradient of 'output':``)."""
    return " ".join(_PUNCTUATION.sub(" ", text).split()).lower()


def _shape(layout: Layout) -> _Shape:
    cached = _SHAPES.get(id(layout))
    if cached is not None and cached[0] is layout:
        return cached[1]
    row_texts: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    col_texts: dict[int, list[tuple[int, str]]] = defaultdict(list)
    rows: array[int] = array("l")
    cols: array[int] = array("l")
    texts: dict[str, str] = {}
    needed_rows: set[int] = set()
    needed_cols: set[int] = set()
    first_in_row: dict[int, tuple[int, object]] = {}
    labels = 0
    for c in layout.cells:
        row, col = _split(c.at)
        rows.append(row)
        cols.append(col)
        if c.kind == "text":
            norm = _norm(c.text or "")
            if norm:
                texts[c.at] = norm
                row_texts[row].append((col, norm, c.text or ""))
                if not c.decoration:  # a chart's headers must not move the table's columns
                    col_texts[col].append((row, norm))
                    labels += 1
            continue
        if not c.decoration:
            needed_rows.add(row)
            needed_cols.add(col)
        if row not in first_in_row or col < first_in_row[row][0]:
            first_in_row[row] = (col, c.value if c.kind == "constant" else None)
    named_rows: dict[int, set[str]] = defaultdict(set)
    for c, row in zip(layout.cells, rows, strict=True):
        if c.kind != "text" and not c.decoration:
            named_rows[row].add(c.at)
    named_rows = {r: ats for r, ats in named_rows.items() if ats <= set(layout.names.values())}
    row_keys = {}
    for row in needed_rows - set(row_texts):
        col, value = first_in_row[row]
        if isinstance(value, float):
            row_keys[row] = (col, value)
            needed_cols.add(col)
    shape = _Shape(
        row_texts={r: tuple(v) for r, v in row_texts.items()},
        col_texts={c: tuple(v) for c, v in col_texts.items()},
        needed_rows=frozenset(needed_rows),
        needed_cols=frozenset(needed_cols),
        row_keys=row_keys,
        addresses=tuple(c.at for c in layout.cells),
        rows=rows,
        cols=cols,
        texts=texts,
        named_rows=named_rows,
        label_count=max(labels, 1),
    )
    if len(_SHAPES) > 16:
        _SHAPES.clear()
    _SHAPES[id(layout)] = (layout, shape)
    return shape


class _Index:
    """A sheet's plain text cells by text and by row (formulas' results are not labels)."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        self.where: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.rows: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for at, cell in sheet.cells.items():
            value = cell.value
            if cell.formula is None and isinstance(value, str) and value.strip():
                row, col = a1.split(at)
                norm = _norm(value)
                self.where[norm].append((row, col))
                self.rows[row][norm].append(col)
        self._numbers: dict[int, dict[float, list[int]]] = {}

    def number_rows(self, col: int) -> dict[float, list[int]]:
        """Rows of column ``col`` by the number they hold (typed numbers only)."""
        if col not in self._numbers:
            found: dict[float, list[int]] = defaultdict(list)
            letters = a1.column_letter(col)
            for at, cell in self.sheet.cells.items():
                if (
                    cell.formula is None
                    and isinstance(cell.value, float)
                    and not isinstance(cell.value, bool)
                    and at.rstrip("0123456789") == letters
                ):
                    found[cell.value].append(a1.split(at)[0])
            for rows in found.values():
                rows.sort()
            self._numbers[col] = found
        return self._numbers[col]


def place(book: Book, sheet: Sheet, layout: Layout) -> Placement | Miss:
    """Map ``layout`` onto ``sheet`` by its labels and headers (see the module docstring).

    Where every row of the layout has a label, the map depends only on the sheet's title, its
    texts and where the layout's names point: the submissions of one hand-out share it, so it
    is remembered by all of that (a few layouts' worth).
    """
    shape = _shape(layout)
    if shape.needed_rows - set(shape.row_texts):  # rows found by their numbers too
        return _place(book, sheet, layout)
    texts = tuple(
        [
            (at, c.value)
            for at, c in sheet.cells.items()
            if c.formula is None and isinstance(c.value, str)
        ]
    )
    if len(texts) > _PLACED_TEXTS:  # a large sheet's key would cost what it saves
        return _place(book, sheet, layout)
    names = tuple([sheet.name(name) or book.name(name) for name in layout.names])
    key = (id(layout), sheet.title, texts, names)
    found = _PLACED.get(key)
    if found is None or found[0] is not layout:
        if len(_PLACED) >= 64:
            _PLACED.clear()
        found = _PLACED[key] = (layout, _place(book, sheet, layout))
    result = found[1]
    return replace(result, sheet=sheet) if isinstance(result, Placement) else result


_PLACED: dict[tuple[object, ...], tuple[Layout, Placement | Miss]] = {}
_PLACED_TEXTS = 2_000  # the most text cells of a sheet whose placement is remembered


def _place(book: Book, sheet: Sheet, layout: Layout) -> Placement | Miss:
    shape = _shape(layout)
    index = _Index(sheet)
    title = sheet.title

    # Rows with text: the sheet row holding most of the same texts, at least half of them.
    best: dict[int, list[int]] = {}
    scores: dict[int, Counter[int]] = {}
    for row, items in shape.row_texts.items():
        texts = {norm for _, norm, _ in items}
        count: Counter[int] = Counter()
        for norm in texts:
            for r in {r for r, _ in index.where.get(norm, ())}:
                count[r] += 1
        need = max(1, math.ceil(len(texts) / 2))
        top = max(count.values(), default=0)
        scores[row] = count
        best[row] = sorted(r for r, n in count.items() if n == top) if top >= need else []
    rows: dict[int, int] = {}
    progress = True
    while progress:
        progress = False
        taken = set(rows.values())
        for row, candidates in best.items():
            if row in rows:
                continue
            free = [r for r in candidates if r not in taken]
            if len(free) == 1:
                rows[row] = free[0]
                taken.add(free[0])
                progress = True
    found_share = _share(shape, rows)
    named = _named_here(book, sheet, layout)
    for row in sorted(shape.needed_rows & set(shape.row_texts)):
        if row in rows or (row in shape.named_rows and shape.named_rows[row] <= set(named)):
            continue  # found, or holds only cells a defined name points to (Tiny)
        items = shape.row_texts[row]
        col, _, shown = min(items)
        where = a1.name(row, col)
        if best[row]:
            places = [
                a1.name(r, c)
                for r in best[row]
                for c in index.rows[r].get(_norm(shown), [])[:1] or [col]
            ]
            return Miss(
                title,
                f"sheet {title!r} has the label {shown!r} (built in {where}) more than once, "
                f"in {' and '.join(places[:3])}, so it is not clear which table to check",
                found_share,
            )
        return Miss(
            title,
            f"sheet {title!r} has no label {shown!r} (built in {where}; looked for it in "
            "every cell of the sheet)",
            found_share,
        )

    # Columns: where their headers are now, each read in its own (found) row.
    cols: dict[int, int] = {}
    for col in sorted(shape.needed_cols):
        votes: Counter[int] = Counter()
        for row, norm in shape.col_texts.get(col, ()):
            if row in rows:
                hits = index.rows[rows[row]].get(norm, [])
                if len(hits) == 1:
                    votes[hits[0]] += 1
        if votes:
            (first, n), *rest = votes.most_common(2)
            if rest and rest[0][1] == n:
                header = shape.col_texts[col][0][1]
                return Miss(
                    title,
                    f"sheet {title!r} has the headers of column {a1.column_letter(col)} "
                    f"({header!r}) in two columns, so it is not clear which one to check",
                    found_share,
                )
            cols[col] = first
    for col in sorted(shape.needed_cols - set(cols)):
        guess = _between(col, cols)
        if guess is None:
            heading = next((n for _, n in shape.col_texts.get(col, ())), None)
            what = f"its header {heading!r}" if heading else "a header"
            return Miss(
                title,
                f"sheet {title!r} has no column for column {a1.column_letter(col)} of the "
                f"layout: {what} was not found in the rows of its labels",
                found_share,
            )
        cols[col] = guess

    # Rows without text (a training step): by the number in their label column.
    anchored = dict(rows)
    found_rows = sorted(rows)
    last: int | None = None  # the row before, among those placed here (they go in order)
    confirmed = 0  # the last sheet row known to be a row of the layout (a label, a step number)
    for row in sorted(shape.needed_rows - set(shape.row_texts)):
        i = bisect.bisect_left(found_rows, row)
        prev = max(
            (r for r in (found_rows[i - 1] if i else None, last) if r is not None), default=None
        )
        predicted = row + (anchored[prev] - prev if prev is not None else 0)
        last = row
        key = shape.row_keys.get(row)
        if predicted < 1:
            return Miss(title, f"sheet {title!r} has no room above its table for row {row}", 0.0)
        if prev is not None and prev in rows:
            confirmed = max(confirmed, rows[prev])
        if key is not None:
            kcol, number = key
            there = sheet.cells.get(a1.name(predicted, cols[kcol]))
            if there is None or there.formula is not None or there.value != number:
                later = [r for r in index.number_rows(cols[kcol]).get(number, []) if r > confirmed]
                if later:
                    predicted = later[0]
                elif there is not None and isinstance(there.value, float):
                    # Where this row should be, another numbered row is: this one was deleted.
                    return Miss(
                        title,
                        f"sheet {title!r} has no row numbered {number:g} in column "
                        f"{a1.column_letter(cols[kcol])} (built as row {row}): a row of the "
                        "table was deleted",
                        found_share,
                    )
            else:
                confirmed = predicted
        anchored[row] = predicted

    moved: dict[str, str] = {}
    for at, row, col in zip(shape.addresses, shape.rows, shape.cols, strict=True):
        if row in anchored and col in cols:
            if anchored[row] == row and cols[col] == col:  # where it was built (the usual)
                moved[at] = at
                continue
            if not (1 <= anchored[row] <= a1.MAX_ROW and 1 <= cols[col] <= a1.MAX_COLUMN):
                return Miss(title, f"sheet {title!r} has no room for {at}", found_share)
            moved[at] = a1.name(anchored[row], cols[col])
        elif at in shape.texts and row in anchored:
            here = index.rows[anchored[row]].get(shape.texts[at], [])
            if len(here) == 1:
                moved[at] = a1.name(anchored[row], here[0])
    if len(set(moved.values())) != len(moved):
        moved = _deduplicated(layout, moved)
    notes: list[str] = []
    for name, at in layout.names.items():
        target = _named_cell(book, sheet, name)
        if target is None:
            continue
        where_sheet, cell = target
        if where_sheet.upper() != title.upper():
            if at in moved:
                notes.append(
                    f"The name {name} points to {cell} of sheet {where_sheet!r}, not to this "
                    f"sheet's {moved[at]}: formulas using {name} read that cell."
                )
            continue
        if moved.get(at) != cell and cell not in moved.values():
            if at in moved:
                notes.append(
                    f"{name} is read from {cell} of sheet {title!r}, where the defined name "
                    f"{name} points (the cell beside its label is {moved[at]})."
                )
            moved[at] = cell
    missing = [c.at for c in layout.cells if not c.decoration and c.kind != "text"]
    lost = [at for at in missing if at not in moved]
    if lost:  # a needed cell whose row or column was not found: cannot happen after the above
        return Miss(title, f"sheet {title!r} has no place for {lost[0]}", found_share)
    # Unmoved (the usual case): the layout itself, whose unplaced decorations stay put too.
    placed = layout if all(a == b for a, b in moved.items()) else relocated(layout, moved)
    return Placement(sheet, placed, layout, notes=tuple(notes))


def _share(shape: _Shape, rows: Mapping[int, int]) -> float:
    found = sum(len(shape.row_texts[r]) for r in rows)
    total = sum(len(v) for v in shape.row_texts.values()) or 1
    return found / total


def _between(col: int, cols: Mapping[int, int]) -> int | None:
    """A column without a header, by its neighbours' shift (when they agree)."""
    left = max((c for c in cols if c < col), default=None)
    right = min((c for c in cols if c > col), default=None)
    shifts = {cols[c] - c for c in (left, right) if c is not None}
    if len(shifts) != 1:
        return None
    guess = col + shifts.pop()
    return guess if guess >= 1 else None


def _deduplicated(layout: Layout, moved: Mapping[str, str]) -> dict[str, str]:
    """Two cells mapped to one address: the checked and input cells keep it."""
    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    order = sorted(layout.cells, key=lambda c: c.kind == "text" or c.decoration)
    for c in order:
        if c.at in moved and moved[c.at] not in owner:
            out[c.at] = moved[c.at]
            owner[moved[c.at]] = c.at
    return out


def _named_here(book: Book, sheet: Sheet, layout: Layout) -> dict[str, str]:
    """The layout's names that point to one cell of ``sheet``: built address -> that cell."""
    out = {}
    for name, at in layout.names.items():
        target = _named_cell(book, sheet, name)
        if target is not None and target[0].upper() == sheet.title.upper():
            out[at] = target[1]
    return out


def _named_cell(book: Book, sheet: Sheet, name: str) -> tuple[str, str] | None:
    """Where a defined name points (the sheet's own names first), if it is one cell."""
    text = sheet.name(name) or book.name(name)
    if text is None:
        return None
    target = destination(text)
    if target is None or ":" in target[1]:
        return None
    return target


def candidates(
    book: Book, layouts: Iterable[Layout], only: str | None = None
) -> tuple[list[Placement], list[Miss]]:
    """Every sheet (or only the one called ``only``) on which a layout can be placed."""
    placed: list[Placement] = []
    missed: list[Miss] = []
    layouts = list(layouts)
    for sheet in book.sheets:
        if only is not None and sheet.title.upper() != only.upper():
            continue
        for lay in layouts:
            result = place(book, sheet, lay)
            if isinstance(result, Placement):
                placed.append(result)
                break
            missed.append(result)
    for lay in layouts:
        if len(lay.cells) > _REMEMBERED_SHAPE:
            _SHAPES.pop(id(lay), None)
    return placed, missed


_REMEMBERED_SHAPE = 50_000
"""The most cells of a layout whose shape is remembered once its workbook is placed (a
class's workbooks share a few layouts); a larger one's is let go (an 80-80-1 network's is
5 MB, held through the whole check otherwise), to be worked out again if asked."""
