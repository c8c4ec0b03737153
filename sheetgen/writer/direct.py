"""A built sheet's cells written straight into its XML, each formula with its cached value.

openpyxl makes an object of every cell (styles set through descriptors that hash fonts and
fills), serialises each through ElementTree, and writes formulas with an empty cache that
``cached_values`` then fills in with a second pass over the sheet's XML. For a layout's sheet,
whose every cell and value is known before anything is written, this module writes the
``<sheetData>`` in one pass instead, byte for byte as that path writes it (a test holds every
family to it), rows given a height included: openpyxl still writes the rest of the package
(styles, notes, charts, defined names, columns, panes), from a workbook that holds only the
cells with notes, and the ``<sheetData>`` and ``<dimension>`` are put in its place, the
``<sheetData>`` compressed into the package as it is written: a large network's sheet is tens
of megabytes of XML, never held whole.

What openpyxl 3.1 writes, and so what is written here (``openpyxl/cell/_writer.py``): a cell
``<c r="B2">``, with ``s=`` its index among the workbook's cell styles (``wb._cell_styles``,
numbered in the order the cells are written, row by row) when it has any style; text as an
inline string (``t="inlineStr"``, ``<is><t>``, ``xml:space="preserve"`` when it starts or ends
with white space); a number as ``t="n"`` with ``"%.16g"``; a formula as ``<f>`` without its
``=``, followed here by its cached value (``cached_values.cached_text``). Character data is
escaped as ElementTree escapes it (``&``, ``<``, ``>``). Cells openpyxl would store another
way (an empty cell, an error code, a text starting with ``=``, characters a sheet cannot
hold, more than 32,767 characters, any other type, an address not written as layouts write
them) are not :func:`writable`, and the caller then takes the openpyxl path, which writes
them as openpyxl does (or refuses them as openpyxl does).

A style is the ``StyleArray`` openpyxl gives a cell dressed as the layout says (``Cell._style``),
numbered through openpyxl's own register: both are openpyxl 3.1 internals (``pyproject.toml``
pins 3.1), and the byte-for-byte test fails on any release that changes them.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import ChainMap
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, cast

from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles.cell_style import StyleArray
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .. import a1
from .cached_values import cached_text, escape, sheet_parts
from .charts import cache_series
from .package import Pieces, tidy_parts, write_parts

if TYPE_CHECKING:
    from ..engine.evaluate import Value

_MOST_CHARACTERS = 32_767
_ERROR_TEXTS = frozenset(ERROR_CODES)
"""The texts openpyxl stores as errors, not text."""
_PLAIN_CELL = re.compile(r"(?:[A-Z]{1,2}|[A-W][A-Z]{2}|X[A-E][A-Z]|XF[A-D])[1-9][0-9]{0,6}")
"""A cell's address as layouts write it: column A to XFD (14 bits), no ``$``, no leading 0."""
_PLAIN_CELLS = re.compile(rf"(?:{_PLAIN_CELL.pattern}\n)*{_PLAIN_CELL.pattern}")
"""Such addresses, one a line."""
_DIMENSION = re.compile(rb"<dimension ref=\"[^\"]*\" />")
_SHEET_DATA = re.compile(rb"<sheetData />|<sheetData>.*?</sheetData>", re.DOTALL)


def writable(refs: Sequence[str], contents: Sequence[object]) -> bool:
    """Whether :func:`save_direct` writes the cells at ``refs`` holding ``contents`` as
    openpyxl would: each at a plain address (``B2``) of its own, holding a number (not a
    bool), or a text openpyxl keeps as it is: at most 32,767 characters, none that a sheet
    cannot hold, not an error code (``#N/A``) — a formula is such a text. Not ``None``:
    openpyxl writes an empty cell or leaves it out, by its style and note.

    Each test runs over all the cells at once (one pass in C each: the sheets are large)."""
    if not set(map(type, contents)) <= {float, int, str}:
        return False
    texts = [value for value in contents if type(value) is str]
    # "\n" is a character a sheet holds, and no address.
    return (
        max(map(len, texts), default=0) <= _MOST_CHARACTERS
        and _ERROR_TEXTS.isdisjoint(texts)
        and not any(map(ILLEGAL_CHARACTERS_RE.search, _lines(texts)))
        and all(map(_PLAIN_CELLS.fullmatch, _lines(refs)))
        and len(set(refs)) == len(refs)
    )


_BATCH = 4096


def _lines(texts: Sequence[str]) -> Iterator[str]:
    """``texts`` one a line, a few thousand lines at a time: a large network's formulas all
    at once would be tens of megabytes more, and so would the state the regular expression
    engine keeps while matching one repeat per address."""
    return ("\n".join(texts[i : i + _BATCH]) for i in range(0, len(texts), _BATCH))


def save_direct(
    wb: Workbook,
    path: Path,
    cells: tuple[Sequence[str], Sequence[object], Sequence[StyleArray | None]],
    values: Mapping[str, Value],
) -> None:
    """Save ``wb`` to ``path`` with its first sheet's cells written here: ``cells`` holds their
    references, contents and styles (cells :func:`writable` accepts), ``values`` each
    formula's cached value (every formula must have one). ``wb``'s sheet holds only the cells
    with notes, which openpyxl writes the notes of; its charts get the numbers they draw
    (``cache_series``).

    The ``<sheetData>`` goes into the package as it is written, a few hundred cells at a
    time, so the sheet's XML is never held whole (``package.Pieces``)."""
    ws = wb.worksheets[0]
    assert isinstance(ws, Worksheet)
    refs, contents, looks = cells
    # Row by row, each row's cells by column; the keys are plain numbers, as are the cell
    # numbers sorted by them (tens of thousands of tuples would keep the collector busy).
    numbers = _Columns()
    keys = [
        int(ref[len(letters) :]) << 14 | numbers[letters]  # columns stop at XFD, 16,384
        for ref in refs
        for letters in (ref.rstrip("0123456789"),)
    ]
    order = sorted(range(len(refs)), key=keys.__getitem__)
    if keys:  # openpyxl's ``calculate_dimension``: the box round the cells
        low, high = min(k & 0x3FFF for k in keys), max(k & 0x3FFF for k in keys)
        first, last = keys[order[0]] >> 14, keys[order[-1]] >> 14
        box = f"{numbers.letters[low]}{first}:{numbers.letters[high]}{last}".encode()
    else:
        box = b"A1:A1"
    del keys
    shown = {refs[i]: v for i, v in enumerate(contents) if type(v) is not str}
    # As {**shown, **values} without the copy; cache_series only reads the ChainMap.
    cache_series(ws, ChainMap(cast("MutableMapping[str, object]", values), shown))
    del shown
    # openpyxl numbers styles as it writes the cells, and writes the styles before the sheet.
    numbered = _numbered_styles(wb, (looks[i] for i in order))
    tall = {
        r: "".join(f' {k}="{v}"' for k, v in dims)
        for r, d in ws.row_dimensions.items()
        if (dims := list(d))
    }
    buffer = io.BytesIO()
    wb.save(buffer)
    with zipfile.ZipFile(buffer) as package:
        parts = {info.filename: package.read(info.filename) for info in package.infolist()}
    del buffer
    member = next(m for m, title in sheet_parts(parts).items() if title == ws.title)
    xml = _DIMENSION.sub(lambda _: b'<dimension ref="' + box + b'" />', parts[member], count=1)
    span = _SHEET_DATA.search(xml)
    assert span is not None
    tidied = tidy_parts(parts)
    assert tidied[member] == parts[member]  # worksheets are kept as openpyxl wrote them
    body = _sheet_data(order, cells, values, numbered, tall)
    # An upper bound of the sheet's size: each cell's markup, its text escaped (5 bytes a
    # character at most: "&amp;", or 4 in UTF-8), each row's, and a text value's.
    most = (
        len(xml)
        + 256 * (len(refs) + len(tall))
        + 5 * sum(len(v) for v in contents if type(v) is str)
        + 5 * sum(len(v) for v in values.values() if type(v) is str)
    )
    sheet = Pieces(chain((xml[: span.start()],), body, (xml[span.end() :],)), most)
    write_parts(path, {n: sheet if n == member else data for n, data in tidied.items()})


class _Columns(dict[str, int]):
    """Column letters -> number, worked out once for each of a sheet's few columns; and back
    (``letters``)."""

    def __init__(self) -> None:
        super().__init__()
        self.letters: dict[int, str] = {}

    def __missing__(self, letters: str) -> int:
        number = self[letters] = a1.column_number(letters)
        self.letters[number] = letters
        return number


def _numbered_styles(wb: Workbook, looks: Iterable[StyleArray | None]) -> dict[int, str]:
    """Each style of ``looks`` (in the order the cells are written) registered with ``wb``
    in the order openpyxl would register them: id of the StyleArray -> its `` s="N"``, or
    nothing for a cell without style."""
    styles = wb._cell_styles  # openpyxl's own register of cell styles, numbered as it writes
    numbered: dict[int, str] = {}
    for style in looks:
        if id(style) not in numbered:
            styled = style is not None and any(style)  # openpyxl's ``Cell.has_style``
            numbered[id(style)] = f' s="{styles.add(style)}"' if styled else ""
    return numbered


PIECE = 1024
"""Strings (cells, rows) gathered into one piece of a sheet's XML before it is encoded and
written: a few hundred kilobytes, and few enough pieces that each costs nothing."""


def _sheet_data(
    order: Sequence[int],
    cells: tuple[Sequence[str], Sequence[object], Sequence[StyleArray | None]],
    values: Mapping[str, Value],
    numbered: Mapping[int, str],
    tall: Mapping[int, str],
) -> Iterator[bytes]:
    """The ``<sheetData>`` element of ``cells`` taken in ``order`` (row by row), in pieces:
    ``numbered`` holds each style's `` s="N"``, ``tall`` the attributes of the rows given a
    height (a chart's own row, empty), which openpyxl writes, and such a row even without
    cells (``<row ...></row>``)."""
    refs, contents, looks = cells
    if not order and not tall:
        yield b"<sheetData />"
        return
    pending = sorted(tall)  # the rows with a height not written yet, in order
    out: list[str] = ["<sheetData>"]
    row = ""
    for i in order:
        ref, value = refs[i], contents[i]
        r = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        if r != row:
            if row:
                out.append("</row>")
                if len(out) >= PIECE:
                    yield "".join(out).encode()
                    out.clear()
            height = ""
            if pending:
                while pending and pending[0] < int(r):
                    empty = pending.pop(0)
                    out.append(f'<row r="{empty}"{tall[empty]}></row>')
                if pending and pending[0] == int(r):
                    height = tall[pending.pop(0)]
            out.append(f'<row r="{r}"{height}>')
            row = r
        s = numbered[id(looks[i])]
        if value == "":
            out.append(f'<c r="{ref}"{s} t="inlineStr" />')
        elif type(value) is str and value[0] == "=" and len(value) > 1:
            cached = values[ref]
            if type(cached) is float:
                out.append(f'<c r="{ref}"{s}><f>{escape(value[1:])}</f><v>{cached!r}</v></c>')
            else:
                kind, text = cached_text(cached)
                kind = f' t="{kind}"' if kind else ""
                formula = escape(value[1:])
                out.append(f'<c r="{ref}"{s}{kind}><f>{formula}</f><v>{escape(text)}</v></c>')
        elif type(value) is str:
            space = ' xml:space="preserve"' if value.strip() not in ("", value) else ""
            out.append(f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{escape(value)}</t></is></c>')
        else:
            out.append(f'<c r="{ref}"{s} t="n"><v>{value:.16g}</v></c>')
    if row:
        out.append("</row>")
    out.extend(f'<row r="{empty}"{tall[empty]}></row>' for empty in pending)
    out.append("</sheetData>")
    yield "".join(out).encode()
