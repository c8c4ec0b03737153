"""What checking a workbook finds: a verdict per cell (:class:`CellResult`) and the :class:`Report`.

Plain data: ``sheetgen.check.judge`` makes the verdicts, ``sheetgen.check.diagnose`` refines
them, ``sheetgen.check.verify`` assembles the one report, ``sheetgen.report`` shows it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from ..workbook.book import Value
from . import show

__all__ = ["CellResult", "Report", "Status"]

Status = Literal[
    "ok",
    "wrong",
    "error",
    "empty",
    "text",
    "typed",
    "structure",
    "unsupported",
    "uncomputed",
    "unchecked",
    "todo",
    "waiting",
    "fragile",
]
"""A cell's verdict: ``ok``; ``wrong`` (a number, not the right one); ``error`` (an Excel
error value); ``empty``; ``text`` (text or a boolean where a number belongs); ``typed`` (a
number typed where a formula must compute it); ``structure`` (computed from cells other than the
ones its quantity is computed from, whether its number is right or not: a root cause either way,
see ``sheetgen.check.structure``);
``unsupported`` (a formula no application
computes either: a function no application knows, a missing name or sheet, a circular
reference); ``uncomputed`` (not checked: the formula uses what Excel or LibreOffice computes
but sheetgen cannot, and the file saved no number for it: never wrong, never scored, listed
for review); ``unchecked`` (with no expected value: the sheet's parameters are unusable, a
parameter cell is wrong; with one: the parameters leave the value undefined, or rounding along
a long optimizer run may move it as far as a mistake, so no number there could be told right
from wrong: not checked, never wrong, never scored); ``todo`` (a blank an exercise left for
the learner, still empty);
``waiting`` (its only fault is that a blank it reads is still to do: neither wrong nor a root);
``fragile`` (right for the sheet's own inputs only: wrong when they change, see
``sheetgen.check.diagnose``)."""


@dataclass(frozen=True, slots=True)  # one per checked cell, and a copy per diagnosis step
class CellResult:
    """The verdict on one cell, with everything needed to explain it."""

    cell: str
    quantity: str
    meaning: str
    status: Status
    expected: float | None
    found: Value
    formula: str | None
    message: str = ""
    # Filled in by sheetgen.check.diagnose: why it is wrong in plain words, and the root cells it
    # is wrong because of (empty for a root cause or a right cell).
    explanation: str = ""
    causes: tuple[str, ...] = ()
    graded: bool = True  # False for a parameter cell: reported when unusable, never scored
    # True for a cell an exercise hands out already filled in: reported, never scored (the
    # learner is scored on the blanks alone, see sheetgen.teacher.grade).
    context: bool = False
    # False when the cell holds what the layout hands out (its own formula, or an exercise's
    # blank left empty): feedback then says nothing about "what you wrote".
    edited: bool = True
    # The cells whose values the learner's application saved stand in for sheetgen's own
    # computation in this verdict: the cell itself when the engine could not compute its
    # formula, or the cells it reads that way. The verdict is flagged for review.
    saved: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def checked(self) -> bool:
        """False for a cell sheetgen could not compute and the file saved no number for, and
        for one whose reference value cannot tell a right number from a mistake (``unchecked``
        with an expected value; without one, the parameters are unusable, and the parameter
        cell is the one wrong)."""
        if self.status == "unchecked":
            return self.expected is None
        return self.status != "uncomputed"

    @property
    def uncheckable(self) -> bool:
        """Not checked although sheetgen computed it: see :attr:`checked`."""
        return self.status == "unchecked" and self.expected is not None

    @property
    def review(self) -> bool:
        """Whether a person should look at the verdict: not checked, or checked from saved
        values."""
        return not self.checked or bool(self.saved)

    @property
    def scored(self) -> bool:
        """Whether the cell counts towards a score: a checked cell the learner had to fill."""
        return self.graded and not self.context and self.checked

    @property
    def pending(self) -> bool:
        """Unfinished rather than wrong: a blank still to do, or a cell waiting for one."""
        return self.status in ("todo", "waiting")

    def __reduce__(self) -> tuple[type[CellResult], tuple[Any, ...]]:
        """Pickled as its fields in order: a class's verdicts cross from the grading workers,
        and the dataclass's own state functions take twice as long each way."""
        return (CellResult, tuple(getattr(self, name) for name in _CELL_FIELDS))

    def unedited(self) -> CellResult:
        """This verdict with ``edited`` False (most cells of a sheet get one, a network has
        23,000)."""
        return self._with(self.explanation, self.causes, False)

    def explained(self, causes: tuple[str, ...], explanation: str) -> CellResult:
        """This verdict with its ``causes`` and ``explanation`` (a sheet whose every row moved
        has 85,000 wrong cells to explain)."""
        return self._with(explanation, causes, self.edited)

    def _with(self, explanation: str, causes: tuple[str, ...], edited: bool) -> CellResult:
        """This verdict with the fields diagnosis changes, made by :func:`_made` (half what
        ``dataclasses.replace``'s call of the constructor costs).
        ``tests/test_diagnose.py`` holds it to the fields (a new field must be passed on)."""
        return _made(
            (
                self.cell,
                self.quantity,
                self.meaning,
                self.status,
                self.expected,
                self.found,
                self.formula,
                self.message,
                explanation,
                causes,
                self.graded,
                self.context,
                edited,
                self.saved,
            )
        )

    @staticmethod
    def right(
        cell: str, quantity: str, meaning: str, expected: float, found: Value, formula: str | None
    ) -> CellResult:
        """``CellResult(cell, quantity, meaning, "ok", expected, found, formula)``, made as
        :func:`_made` makes it: the verdict on most cells of a sheet."""
        return _made(
            (
                cell,
                quantity,
                meaning,
                "ok",
                expected,
                found,
                formula,
                "",
                "",
                (),
                True,
                False,
                True,
                (),
            )
        )

    @property
    def holds(self) -> str:
        """What the learner wrote, and what it evaluates to: ``=B2*C2 → 0.2``, ``the text 'x'``."""
        if self.formula is not None:
            return f"{self.formula} → {show.value(self.found)}"
        if self.found is None:
            return "nothing"
        if isinstance(self.found, str):
            return f"the text {self.found!r}"  # a formula stored as text too: '=B2*C2'
        if isinstance(self.found, float) and not isinstance(self.found, bool):
            return f"the number {show.number(self.found)}"
        return show.value(self.found)

    @property
    def root(self) -> bool:
        """A wrong cell that is wrong in itself, not only because of a cell it uses.

        A blank still to do is not wrong, so it is no root cause (it is ``todo``).
        """
        return not self.ok and not self.causes and not self.pending and self.checked

    @property
    def cause(self) -> str | None:
        """The (first) root cell this cell is wrong because of, if it is only inherited."""
        return self.causes[0] if self.causes else None


_CELL_FIELDS = tuple(f.name for f in fields(CellResult))
_new = object.__new__
(
    _cell,
    _quantity,
    _meaning,
    _status,
    _expected,
    _found,
    _formula,
    _message,
    _explanation,
    _causes,
    _graded,
    _context,
    _edited,
    _saved,
) = (getattr(CellResult, name).__set__ for name in _CELL_FIELDS)


def _made(values: tuple[Any, ...]) -> CellResult:
    """A verdict of every field's value, in the fields' order, each set straight through its
    slot: what ``CellResult(*values)`` makes at half the cost (a frozen dataclass's
    ``__init__`` goes through ``object.__setattr__`` once a field), for the verdicts made by
    the ten thousand. Unpacking the fields above fails if one is added and not named there."""
    result: CellResult = _new(CellResult)
    (
        cell,
        quantity,
        meaning,
        status,
        expected,
        found,
        formula,
        message,
        explanation,
        causes,
        graded,
        context,
        edited,
        saved,
    ) = values
    _cell(result, cell)
    _quantity(result, quantity)
    _meaning(result, meaning)
    _status(result, status)
    _expected(result, expected)
    _found(result, found)
    _formula(result, formula)
    _message(result, message)
    _explanation(result, explanation)
    _causes(result, causes)
    _graded(result, graded)
    _context(result, context)
    _edited(result, edited)
    _saved(result, saved)
    return result


@dataclass(frozen=True)
class Report:
    """Everything ``verify`` found; rendered as text or JSON by ``sheetgen.report.render``."""

    path: str
    layout: str
    sheet: str
    parameters: Mapping[str, Value]
    cells: tuple[CellResult, ...]
    warnings: tuple[str, ...] = field(default=())
    choice: str = ""
    """Which sheet was judged and why, naming the others that hold the layout ("" if one)."""
    spec: str = ""  # the layout's spec when it is generated (``resolve_layout`` rebuilds it)
    blanks: tuple[str, ...] = ()  # the cells an exercise left for the learner to fill in

    @property
    def ok(self) -> bool:
        """Every cell computed by sheetgen itself, and right."""
        return all(c.ok and not c.saved for c in self.cells)

    @property
    def review(self) -> tuple[CellResult, ...]:
        """Cells a person should look at: not checked, or checked from the values the file saved."""
        return tuple(c for c in self.cells if c.review)

    @property
    def exit_code(self) -> int:
        """What ``verify`` exits with: 0 every cell computed and right; 1 a cell wrong (or still
        to do); 3 nothing wrong, but some cells not computed by sheetgen (see :attr:`review`)."""
        if self.ok:
            return 0
        if all(c.ok or not c.checked for c in self.cells):
            return 3
        return 1

    @property
    def wrong(self) -> tuple[CellResult, ...]:
        return tuple(c for c in self.cells if not c.ok)

    @property
    def todo(self) -> tuple[CellResult, ...]:
        """Blanks of an exercise still to fill in."""
        return tuple(c for c in self.cells if c.status == "todo")

    @property
    def waiting(self) -> tuple[CellResult, ...]:
        """Cells right as soon as the blanks they read are filled in."""
        return tuple(c for c in self.cells if c.status == "waiting")

    @property
    def attention(self) -> tuple[CellResult, ...]:
        """Cells that are wrong (not merely unfinished, nor left unchecked)."""
        return tuple(c for c in self.cells if not c.ok and not c.pending and c.checked)

    @property
    def exercise(self) -> bool:
        """Whether the workbook is an exercise (it records blanks for the learner to fill)."""
        return bool(self.blanks)

    @property
    def roots(self) -> tuple[CellResult, ...]:
        """The cells to fix first: wrong in themselves, not only through a cell they use."""
        return tuple(c for c in self.cells if c.root)

    def inherited_from(self, cell: str) -> tuple[CellResult, ...]:
        """The cells wrong only because of root cell ``cell``."""
        return self._inherited.get(cell, ())

    @functools.cached_property
    def _inherited(self) -> Mapping[str, tuple[CellResult, ...]]:
        """Every root's inherited cells, in one pass: the report of a sheet whose rows all
        moved asks for thousands of roots', and a pass over every cell for each was
        quadratic (20 s of a 200-step training run's)."""
        out: dict[str, list[CellResult]] = {}
        for c in self.cells:
            for cause in dict.fromkeys(c.causes):
                out.setdefault(cause, []).append(c)
        return {cause: tuple(cs) for cause, cs in out.items()}
