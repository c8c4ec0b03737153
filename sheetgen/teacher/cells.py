"""Where a class counts a learner's cell: at the address the builder gave its quantity.

Grading (its summary of common root causes) and the HTML class report (its heat map) both
count cells across a class; a learner who moved the table must count at the same cells as
the others.
"""

from __future__ import annotations

import functools

from ..check.results import CellResult, Report
from ..errors import SheetgenError
from ..layouts.families import resolve_layout

__all__ = ["class_cell"]


def class_cell(report: Report, cell: CellResult) -> str:
    """Where the builder put ``cell``'s quantity: the address a class is counted at, so that a
    learner who moved the table (rows inserted above it) counts at the same cell as the others.
    ``cell.cell`` itself when the report's layout cannot be rebuilt (a template file gone)."""
    return _built_addresses(report.spec or report.layout).get(cell.quantity, cell.cell)


@functools.lru_cache(maxsize=16)
def _built_addresses(spec: str) -> dict[str, str]:
    try:
        return {q: c.at for q, c in resolve_layout(spec).by_quantity.items()}
    except (SheetgenError, OSError):
        return {}
