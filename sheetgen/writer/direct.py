"""A built sheet's cells written straight into its XML, each formula with its cached value.

openpyxl makes an object of every cell (styles set through descriptors that hash fonts and
fills), serialises each through ElementTree, and writes formulas with an empty cache that
``cached_values`` then fills in with a second pass over the sheet's XML. For a layout's sheet,
whose every cell and value is known before anything is written, this module writes the
``<sheetData>`` in one pass instead, byte for byte as that path writes it (a test holds every
family to it): openpyxl still writes the rest of the package (styles, notes, charts, defined
names, columns, panes), from a workbook that holds only the cells with notes, and the
``<sheetData>`` and ``<dimension>`` are put in its place.

What openpyxl 3.1 writes, and so what is written here (``openpyxl/cell/_writer.py``): a cell
``<c r="B2">``, with ``s=`` its index among the workbook's cell styles (``wb._cell_styles``,
numbered in the order the cells are written, row by row) when it has any style; text as an
inline string (``t="inlineStr"``, ``<is><t>``, ``xml:space="preserve"`` when it starts or ends
with white space); a number as ``t="n"`` with ``"%.16g"``; a formula as ``<f>`` without its
``=``, followed here by its cached value (``cached_values.cached_text``). Character data is
escaped as ElementTree escapes it (``&``, ``<``, ``>``). A value openpyxl would store another
way (an error code, a text starting with ``=``, characters a sheet cannot hold, more than
32,767 characters, any other type) is not :func:`plain`, and the caller then takes the
openpyxl path, which writes it as openpyxl does (or refuses it as openpyxl does).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles.cell_style import StyleArray
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .cached_values import cached_text, escape, sheet_parts
from .charts import cache_series
from .package import tidy_parts, write_parts

if TYPE_CHECKING:
    from ..engine.evaluate import Value

_MOST_CHARACTERS = 32_767
_PLAIN_CELL = re.compile(r"[A-Z]{1,3}[1-9][0-9]{0,6}")
_DIMENSION = re.compile(rb"<dimension ref=\"[^\"]*\" />")
_SHEET_DATA = re.compile(rb"<sheetData />|<sheetData>.*?</sheetData>", re.DOTALL)


def writable(cells: Iterable[tuple[str, object]]) -> bool:
    """Whether :func:`save_direct` writes ``cells`` (reference, value) as openpyxl would:
    each at a plain address (``B2``) of its own, holding a :func:`plain` value."""
    seen: set[str] = set()
    for ref, value in cells:
        if ref in seen or not plain(value) or _PLAIN_CELL.fullmatch(ref) is None:
            return False
        seen.add(ref)
    return True


def plain(value: object) -> bool:
    """Whether openpyxl would store ``value`` as this module writes it (see the docstring).
    Not ``None``: openpyxl writes an empty cell or leaves it out, by its style and note."""
    if type(value) in (float, int):
        return True
    if type(value) is not str:
        return False
    return (
        len(value) <= _MOST_CHARACTERS
        and value not in ERROR_CODES
        and ILLEGAL_CHARACTERS_RE.search(value) is None
    )


def split(ref: str) -> tuple[str, int]:
    """A plain address's column letters and row: ``"AB12"`` -> ``("AB", 12)``."""
    letters = ref.rstrip("0123456789")
    return letters, int(ref[len(letters) :])


def save_direct(
    wb: Workbook,
    path: Path,
    cells: Sequence[tuple[str, object, StyleArray | None]],
    values: Mapping[str, Value],
) -> None:
    """Save ``wb`` to ``path`` with its first sheet's cells written here: ``cells`` holds each
    cell's reference, value and style (cells :func:`writable` accepts), ``values`` each
    formula's cached value (every formula must have one). ``wb``'s sheet holds only the cells
    with notes, which openpyxl writes the notes of; its charts get the numbers they draw
    (``cache_series``)."""
    ws = wb.worksheets[0]
    assert isinstance(ws, Worksheet)
    placed = sorted(
        # Row, then column: columns sort as their letters do, the shorter first (Z, AA).
        ((row, len(letters), letters), ref, value, style)
        for ref, value, style in cells
        for letters in (ref.rstrip("0123456789"),)
        for row in (int(ref[len(letters) :]),)
    )
    numbers = {ref: v for _, ref, v, _ in placed if type(v) is not str}
    cache_series(ws, {**numbers, **values})
    body = _sheet_data(wb, placed, values)
    buffer = io.BytesIO()
    wb.save(buffer)
    with zipfile.ZipFile(buffer) as package:
        parts = {info.filename: package.read(info.filename) for info in package.infolist()}
    member = next(m for m, title in sheet_parts(parts).items() if title == ws.title)
    xml = parts[member]
    dimension = _dimension([spot for spot, *_ in placed]).encode()
    xml = _DIMENSION.sub(lambda _: b'<dimension ref="' + dimension + b'" />', xml, count=1)
    parts[member] = _SHEET_DATA.sub(lambda _: body, xml, count=1)
    write_parts(path, tidy_parts(parts))


def _dimension(spots: Sequence[tuple[int, int, str]]) -> str:
    """openpyxl's ``calculate_dimension`` of the cells at ``spots`` (row, then the column's
    letters sorting as columns do), in order: the box round them, ``A1:A1`` for none."""
    if not spots:
        return "A1:A1"
    columns = {spot[1:] for spot in spots}
    return f"{min(columns)[1]}{spots[0][0]}:{max(columns)[1]}{spots[-1][0]}"


def _sheet_data(
    wb: Workbook,
    placed: Sequence[tuple[tuple[int, int, str], str, object, StyleArray | None]],
    values: Mapping[str, Value],
) -> bytes:
    """The ``<sheetData>`` element of ``placed`` (in row order), registering each style with
    ``wb`` in the order openpyxl would."""
    styles = wb._cell_styles  # openpyxl's own register of cell styles, numbered as it writes
    numbered: dict[int, str] = {}  # id of a StyleArray -> its ' s="N"'
    out: list[str] = []
    row = 0
    for (r, _, _), ref, value, style in placed:
        if r != row:
            out.append(f'</row><row r="{r}">' if row else f'<row r="{r}">')
            row = r
        s = numbered.get(id(style))
        if s is None:
            styled = style is not None and any(style)  # openpyxl's ``Cell.has_style``
            s = numbered[id(style)] = f' s="{styles.add(style)}"' if styled else ""
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
    return ("<sheetData>" + "".join(out) + "</sheetData>").encode() if out else b"<sheetData />"
