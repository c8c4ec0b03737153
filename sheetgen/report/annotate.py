"""The feedback workbook: the learner's own file, with every wrong cell marked and explained.

It renders a ``Report`` (nothing is checked again): a root cause gets a red fill, a cell wrong
only because of another an orange one, a blank still to do a blue one, and each a comment
saying what it holds, why it is wrong and what it should be. An exercise's blank the learner
completed loses the hand-out's "to do" colour and note prefix. The learner's file is only read;
the copy is written atomically beside nothing it would overwrite unasked.

What the copy keeps of the learner's file: the values it cached beside each formula (previews,
pandas and Excel's Protected View show those and never compute), the size of every note, and
the chart's own XML (for the usual one chart). openpyxl drops or rewrites these on reading, so
they are read from the file and written back.
"""

from __future__ import annotations

import re
import sys
import zipfile
from functools import partial
from pathlib import Path
from typing import Any

from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils.cell import get_column_letter

from ..check.results import CellResult, Report
from ..engine.evaluate import Value
from ..errors import InputFileError, TooLargeError, UsageError, let_go, shown
from ..layouts.layout import TODO_NOTE
from ..workbook.safety import Limits, configured_limits, open_workbook, read_checked
from ..workbook.safety.messages import file_label, resave, too_large_to_copy
from ..writer.cached_values import sheet_parts, write_cached_values
from ..writer.files import write_atomically

FILLS = {
    "root": PatternFill("solid", fgColor="00F8CBAD"),  # red: fix this
    "inherited": PatternFill("solid", fgColor="00FFE699"),  # orange: follows from another cell
    "todo": PatternFill("solid", fgColor="00DDEBF7"),  # blue: still to do
    "review": PatternFill("solid", fgColor="00E7E6E6"),  # grey: not checked, look at it
}

TODO_PREFIX = f"{TODO_NOTE} "
"""How an exercise's hand-out begins the note of each blank (``sheetgen.teacher.exercise``)."""


def annotate(
    report: Report, out: Path | str, *, force: bool = False, limits: Limits | None = None
) -> Path:
    """Write a copy of ``report.path`` to ``out`` with the report's verdicts on its cells.

    ``limits``: the safety limits the workbook is read within, those it was verified within
    (default: ``safety.configured_limits()``).

    Running out of memory, reading the workbook or writing its copy, is told as
    :class:`~sheetgen.errors.TooLargeError` (``messages.too_large_to_copy``): the check is
    done, its copy could not be made here. No part of a copy is left behind.
    """
    source, target = Path(report.path), Path(out)
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise UsageError("The feedback copy must not overwrite the learner's workbook.")
    handled = sys.exc_info()[1]  # the caller's own, if it calls from an except block
    try:
        return _annotated(report, source, target, force, limits or configured_limits())
    except (MemoryError, TooLargeError) as exc:
        let_go(exc, handled)
        raise TooLargeError(too_large_to_copy(file_label(source))) from exc


def _annotated(report: Report, source: Path, target: Path, force: bool, limits: Limits) -> Path:
    """:func:`annotate`'s work, in a frame of its own: the memory its locals hold (the
    workbook openpyxl read) is let go when it runs out (``errors.let_go``)."""
    wb = open_workbook(source, limits)
    cached = _cached_values(source, limits)
    sizes = note_sizes(source)
    for ws in wb.worksheets:
        for (sheet, at), (width, height) in sizes.items():
            if sheet == ws.title and ws[at].comment is not None:
                ws[at].comment.width, ws[at].comment.height = width, height
    ws = wb[report.sheet]
    for c in report.cells:
        cell = ws[c.cell]
        if c.ok or c.status == "waiting":
            if report.exercise and not c.context and c.ok:
                _complete(cell)
            continue
        cell.fill = FILLS[kind(c)]
        cell.comment = Comment(comment(c), "sheetgen", width=360, height=150)
    # Not a closure: a function's frame, kept by the traceback of its running out, holds
    # the function, whose closure would hold the workbook when the frames are cleared.
    return write_atomically(target, partial(_save, wb, source, cached), force=force)


def _save(wb: Any, source: Path, cached: dict[str, dict[str, Value]], tmp: Path) -> None:
    """Write ``wb``, the copy of ``source``, to ``tmp`` with the values it ``cached``."""
    try:
        wb.save(tmp)
    except (ValueError, SyntaxError) as exc:  # lxml, when installed, refuses more than we do
        raise InputFileError(
            f"{shown(source)} could not be written back as a feedback copy: openpyxl, the "
            f"library sheetgen writes workbooks with, refuses something in it; {resave()}."
        ) from exc
    write_cached_values(tmp, cached)  # which also tidies the package (save_workbook)
    keep_chart(source, tmp)


_CHART = re.compile(r"xl/charts/chart[0-9]+\.xml")
_MAX_CHART_BYTES = 5_000_000


def keep_chart(source: Path, written: Path) -> bool:
    """Put the learner's own chart XML back where openpyxl rewrote it (lossily: styles, fonts,
    axis settings), when there is exactly one chart on each side and it refers to no other
    part. Returns whether it did."""
    try:
        with zipfile.ZipFile(source) as z:
            charts = [n for n in z.namelist() if _CHART.fullmatch(n)]
            if len(charts) != 1 or z.getinfo(charts[0]).file_size > _MAX_CHART_BYTES:
                return False
            original = z.read(charts[0])
        if b"r:id=" in original or b':id="rId' in original:
            return False  # it points at parts of its own (user shapes, embedded data)
        with zipfile.ZipFile(written) as z:
            items = [(info, z.read(info.filename)) for info in z.infolist()]
        ours = [info.filename for info, _ in items if _CHART.fullmatch(info.filename)]
        if len(ours) != 1:
            return False
        with zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED) as z:
            for info, data in items:
                z.writestr(info, original if info.filename == ours[0] else data)
        return True
    except (zipfile.BadZipFile, OSError, KeyError):
        return False


def _complete(cell: Any) -> None:
    """A blank the learner filled in right: no longer "to do" (fill and note prefix go)."""
    if cell.fill is not None and cell.fill.fgColor.rgb[-6:] == FILLS["todo"].fgColor.rgb[-6:]:
        cell.fill = PatternFill(fill_type=None)
    note = cell.comment
    if note is not None and note.text.startswith(TODO_PREFIX):
        hint = note.text.removeprefix(TODO_PREFIX)
        cell.comment = Comment(
            hint, note.author or "sheetgen", width=note.width, height=note.height
        )


def _cached_values(path: Path, limits: Any) -> dict[str, dict[str, Value]]:
    """The value the file saved beside each formula, by sheet and cell."""
    book = read_checked(path, limits).book
    return {
        sheet.title: {
            at: c.value
            for at, c in sheet.cells.items()
            if c.formula is not None and c.value is not None
        }
        for sheet in book.sheets
    }


_SHAPE = re.compile(rb"<(?:\w+:)?shape\b(?P<attrs>[^>]*)>(?P<body>.*?)</(?:\w+:)?shape>", re.S)
_STYLE = re.compile(rb'style="(?P<style>[^"]*)"')
_SIZE = re.compile(rb"(width|height):\s*([0-9.]+)\s*(px|pt)?", re.I)
_ROW = re.compile(rb"<(?:\w+:)?Row>\s*([0-9]+)\s*</(?:\w+:)?Row>")
_COLUMN = re.compile(rb"<(?:\w+:)?Column>\s*([0-9]+)\s*</(?:\w+:)?Column>")


def note_sizes(path: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """Each note's size in pixels, from the file's VML drawings (openpyxl does not read it).

    A drawing is matched to its sheet through the sheet's relationships; a size that cannot be
    read is left to openpyxl's default.
    """
    out: dict[tuple[str, str], tuple[float, float]] = {}
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            for member, title in _sheets(z).items():
                rels = str(Path(member).parent / "_rels" / (Path(member).name + ".rels"))
                if rels not in names:
                    continue
                for target in re.findall(rb'Target="([^"]+\.vml)"', z.read(rels)):
                    vml = _resolve(member, target.decode())
                    if vml in names and z.getinfo(vml).file_size < 50_000_000:
                        out.update(((title, at), size) for at, size in _shapes(z.read(vml)))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError):
        return {}  # XML parse errors (ElementTree's, or lxml's when installed) are SyntaxErrors
    return out


def _sheets(z: zipfile.ZipFile) -> dict[str, str]:
    return sheet_parts({n: z.read(n) for n in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")})


def _resolve(member: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = list(Path(member).parent.parts)
    for piece in target.split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _shapes(vml: bytes) -> list[tuple[str, tuple[float, float]]]:
    out: list[tuple[str, tuple[float, float]]] = []
    for shape in _SHAPE.finditer(vml):
        style = _STYLE.search(shape.group("attrs"))
        row, column = _ROW.search(shape.group("body")), _COLUMN.search(shape.group("body"))
        if style is None or row is None or column is None:
            continue
        size: dict[bytes, float] = {}
        for key, number, unit in _SIZE.findall(style.group("style")):
            px = float(number) * (4 / 3 if unit.lower() == b"pt" else 1)
            size[key.lower()] = px
        if b"width" in size and b"height" in size:
            at = f"{get_column_letter(int(column.group(1)) + 1)}{int(row.group(1)) + 1}"
            out.append((at, (round(size[b"width"]), round(size[b"height"]))))
    return out


def kind(c: CellResult) -> str:
    """Which fill a non-ok cell gets: ``root``, ``inherited``, ``todo`` or ``review`` (sheetgen
    could not compute it: never called wrong)."""
    if c.status == "todo":
        return "todo"
    if not c.checked:
        return "review"
    return "inherited" if c.causes else "root"


def comment(c: CellResult) -> str:
    """The comment text: the verdict, what the learner wrote (if they changed the cell), why."""
    lines = [f"sheetgen: {c.message}" if c.message else f"sheetgen: {c.status}"]
    if c.holds and c.edited:
        lines.append(f"You wrote: {c.holds}")
    if c.explanation:
        lines.append(c.explanation)
    return "\n".join(lines)
