"""What an evaluator works out from a book's structure alone, and the key that names it.

Books of one hand-out (a class's submissions) have the same formulas in the same cells, so
their evaluators share one :class:`Plan` through the :class:`~.compiled.FormulaCache` they
share, found by :func:`structure`: each formula's text, references resolved, dependencies.
Nothing in a plan depends on a cell's value.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from ..workbook.book import Book
from .compiled import Compiled, Form, Problem

__all__ = ["SHARED_CELLS", "Plan", "Ref", "structure"]

Ref = tuple[str, str]  # (sheet title, "B2")


class Plan:
    """What an evaluator works out from a book's structure alone (see ``Evaluator.__init__``)."""

    __slots__ = ("arrays", "calls", "deps", "extents", "formulas", "memo", "resolved", "singles")

    def __init__(self) -> None:
        # By sheet (as a ref names it), then by address: see ``Evaluator._share``.
        self.formulas: dict[str, dict[str, str | Compiled | Form | None]] = {}
        self.resolved: dict[str, dict[str, Ref | str | list[Ref] | Problem]] = {}
        self.singles: dict[str, dict[str, Ref]] = {}  # see ``References.single``
        self.deps: dict[Ref, list[Ref]] = {}
        self.calls: dict[tuple[str, str], tuple[Compiled, list[list[Ref]]] | Problem] = {}
        self.arrays: dict[str, dict[str, tuple[str, int, int]]] = {}
        self.extents: dict[str, tuple[int, int]] = {}
        self.memo: dict[Hashable, Any] = {}  # see ``Evaluator.remembered``


SHARED_CELLS = 5_000
"""Books of at most this many cells share their plan with books of the same structure: a
class's hand-outs (the article has 150). A larger book keeps its own, so that the plans a
long-lived server worker holds stay a few megabytes."""


def structure(book: Book) -> tuple[Any, ...] | None:
    """Everything a :class:`Plan` depends on: the names, each sheet's title and names, and
    each cell's address, formula and array range, in order; None for a large book."""
    if sum(len(sheet.cells) for sheet in book.sheets) > SHARED_CELLS:
        return None
    return (
        "plan",
        tuple(book.names.items()),
        tuple(
            (
                sheet.title,
                tuple(sheet.names.items()),
                tuple([(at, cell.formula, cell.array) for at, cell in sheet.cells.items()]),
            )
            for sheet in book.sheets
        ),
    )
