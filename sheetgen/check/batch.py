"""Verify a class's worth of workbooks in one process, one verdict at a time.

Each workbook is opened, checked and dropped before the next is read; what carries over is
only what makes the next one fast and stays bounded: the compiled formulas (an LRU cache by
formula text), the parsed layouts and the engine's function modules. So a batch of thousands
needs no more memory than a batch of ten, and a consumer sees each verdict as soon as it is
known.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import SheetgenError
from ..layouts.families import resolve_layout
from ..layouts.layout import Layout
from .verify import Report, verify_workbook


def verify_each(
    paths: Iterable[Path | str], layout: Layout | str | None = None
) -> Iterator[tuple[Path, Report | SheetgenError]]:
    """Yield ``(path, report)`` for each workbook, or ``(path, error)`` if it could not be checked.

    One unreadable or foreign file does not stop the batch: its ``SheetgenError`` (the one
    sentence ``sheetgen verify`` would print) is yielded in place of a report.
    """
    resolved = resolve_layout(layout) if isinstance(layout, str) else layout
    for item in paths:
        path = Path(item)
        try:
            report = verify_workbook(path, resolved)
        except SheetgenError as exc:
            yield path, exc
        else:
            yield path, report
