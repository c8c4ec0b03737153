"""What checking a workbook finds: a verdict per cell (:class:`CellResult`) and the :class:`Report`.

Plain data: ``sheetgen.check.judge`` makes the verdicts, ``sheetgen.check.diagnose`` refines
them, ``sheetgen.check.verify`` assembles the one report, ``sheetgen.report`` shows it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..layouts.packed import Packed, described_fields
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


class CellResult(Packed):
    """The verdict on one cell, with everything needed to explain it.

    A frozen dataclass to its users (``sheetgen.layouts.packed``): one per checked cell, and a
    large network has 85,000, most of them right, so the fields a right verdict leaves alike
    (its message, explanation, causes, flags) are one tuple that those verdicts share.
    """

    __slots__ = ("_rest", "cell", "expected", "formula", "found", "quantity", "status")
    FIELDS = (
        "cell",
        "quantity",
        "meaning",
        "status",
        "expected",
        "found",
        "formula",
        "message",
        "explanation",
        "causes",
        "graded",
        "context",
        "edited",
        "saved",
    )
    if TYPE_CHECKING:  # slots of their own, read-only as a frozen dataclass's fields

        @property
        def cell(self) -> str: ...

        @property
        def quantity(self) -> str: ...

        @property
        def status(self) -> Status: ...

        @property
        def expected(self) -> float | None: ...

        @property
        def found(self) -> Value: ...

        @property
        def formula(self) -> str | None: ...

    # message, explanation, causes, and the flags: meaning (or _SAME: the quantity), graded,
    # context, edited, saved. A wrong verdict's own words take a tail of four; its flags, as a
    # right verdict's whole tail, are shared.
    _rest: tuple[str, str, tuple[str, ...], tuple[Any, bool, bool, bool, tuple[str, ...]]]

    def __init__(
        self,
        cell: str,
        quantity: str,
        meaning: str,
        status: Status,
        expected: float | None,
        found: Value,
        formula: str | None,
        message: str = "",
        explanation: str = "",
        causes: tuple[str, ...] = (),
        graded: bool = True,
        context: bool = False,
        edited: bool = True,
        saved: tuple[str, ...] = (),
    ) -> None:
        flags = (_SAME if meaning == quantity else meaning, graded, context, edited, saved)
        if saved == () and meaning == quantity:  # then hashable: one of the shared ones
            flags = _FLAGS.get(flags, flags)
        rest = (message, explanation, causes, flags)
        if message == "" and explanation == "" and causes == ():
            rest = _PLAIN.get(rest, rest)
        _set(self, cell, quantity, status, expected, found, formula, rest)

    @property
    def meaning(self) -> str:
        meaning: str = self._rest[3][0]
        return self.quantity if meaning is _SAME else meaning

    @property
    def message(self) -> str:
        return self._rest[0]

    @property
    def explanation(self) -> str:
        """Filled in by ``sheetgen.check.diagnose``: why it is wrong in plain words."""
        return self._rest[1]

    @property
    def causes(self) -> tuple[str, ...]:
        """The root cells it is wrong because of (empty for a root cause or a right cell)."""
        return self._rest[2]

    @property
    def graded(self) -> bool:
        """False for a parameter cell: reported when unusable, never scored."""
        return self._rest[3][1]

    @property
    def context(self) -> bool:
        """True for a cell an exercise hands out already filled in: reported, never scored
        (the learner is scored on the blanks alone, see ``sheetgen.teacher.grade``)."""
        return self._rest[3][2]

    @property
    def edited(self) -> bool:
        """False when the cell holds what the layout hands out (its own formula, or an
        exercise's blank left empty): feedback then says nothing about "what you wrote"."""
        return self._rest[3][3]

    @property
    def saved(self) -> tuple[str, ...]:
        """The cells whose values the learner's application saved stand in for sheetgen's own
        computation in this verdict: the cell itself when the engine could not compute its
        formula, or the cells it reads that way. The verdict is flagged for review."""
        return self._rest[3][4]

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

    def unedited(self) -> CellResult:
        """This verdict with ``edited`` False (most cells of a sheet get one, a network has
        23,000)."""
        return self._with(self.explanation, self.causes, False)

    def explained(self, causes: tuple[str, ...], explanation: str) -> CellResult:
        """This verdict with its ``causes`` and ``explanation`` (a sheet whose every row moved
        has 85,000 wrong cells to explain)."""
        return self._with(explanation, causes, self.edited)

    def _with(self, explanation: str, causes: tuple[str, ...], edited: bool) -> CellResult:
        """This verdict with the fields diagnosis changes, made without ``__init__`` (half what
        ``dataclasses.replace``'s call of the constructor costs), sharing the tail of the
        verdicts alike."""
        rest = self._rest
        plain = _PLAIN_BY_ID.get(id(rest))
        if plain is not None and explanation == "" and causes == () and type(edited) is bool:
            new = plain[edited]  # a right verdict's, marked unedited: most cells of a sheet
        else:
            message, _, _, flags = rest
            if flags[3] is not edited:
                meaning, graded, context, _, saved = flags
                flags = (meaning, graded, context, edited, saved)
                if saved == () and meaning is _SAME:
                    flags = _FLAGS.get(flags, flags)
            new = (message, explanation, causes, flags)
            if explanation == "" and causes == () and message == "":
                new = _PLAIN.get(new, new)
        made: CellResult = _new(CellResult)
        _set(
            made,
            self.cell,
            self.quantity,
            self.status,
            self.expected,
            self.found,
            self.formula,
            new,
        )
        return made

    @staticmethod
    def right(
        cell: str, quantity: str, meaning: str, expected: float, found: Value, formula: str | None
    ) -> CellResult:
        """``CellResult(cell, quantity, meaning, "ok", expected, found, formula)``, made
        without ``__init__``: the verdict on most cells of a sheet."""
        made: CellResult = _new(CellResult)
        rest = _RIGHT if meaning == quantity else ("", "", (), (meaning, True, False, True, ()))
        _set(made, cell, quantity, "ok", expected, found, formula, rest)
        return made

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


CellResult.__dataclass_fields__ = described_fields(
    "CellResult",
    {
        "cell": "str",
        "quantity": "str",
        "meaning": "str",
        "status": "Status",
        "expected": "float | None",
        "found": "Value",
        "formula": "str | None",
        "message": "str",
        "explanation": "str",
        "causes": "tuple[str, ...]",
        "graded": "bool",
        "context": "bool",
        "edited": "bool",
        "saved": "tuple[str, ...]",
    },
    {
        "message": "",
        "explanation": "",
        "causes": (),
        "graded": True,
        "context": False,
        "edited": True,
        "saved": (),
    },
)
_new = object.__new__
_SAME: Any = object()
"""In a verdict's tail in place of a meaning that is its quantity: one tail for them all."""
_FLAGS: dict[tuple[Any, ...], tuple[Any, ...]] = {
    flags: flags
    for graded, context, edited in itertools.product((True, False), repeat=3)
    for flags in [(_SAME, graded, context, edited, ())]
}
"""The flags of a verdict whose meaning is its quantity, one object each."""
_PLAIN: dict[tuple[Any, ...], tuple[Any, ...]] = {
    rest: rest for flags in _FLAGS for rest in [("", "", (), flags)]
}
"""The tails of the verdicts with nothing to say, one object each (a right sheet's verdicts)."""
_PLAIN_BY_ID = {
    id(rest): tuple(
        _PLAIN["", "", (), (_SAME, graded, context, edited, ())] for edited in (False, True)
    )
    for rest in _PLAIN
    for _, _, _, (_, graded, context, _, _) in [rest]
}
"""Each shared tail (by its identity: they live as long as the module) as it is with ``edited``
False and True."""
_RIGHT = _PLAIN["", "", (), (_SAME, True, False, True, ())]
"""The tail of a right verdict, the most common one."""
_SETTERS = tuple(
    getattr(CellResult, name).__set__
    for name in ("cell", "quantity", "status", "expected", "found", "formula", "_rest")
)


def _set(
    made: CellResult,
    cell: str,
    quantity: str,
    status: Status,
    expected: float | None,
    found: Value,
    formula: str | None,
    rest: tuple[Any, ...],
) -> None:
    """Each slot of ``made`` set through its descriptor (the class refuses assignment)."""
    put_cell, put_quantity, put_status, put_expected, put_found, put_formula, put_rest = _SETTERS
    put_cell(made, cell)
    put_quantity(made, quantity)
    put_status(made, status)
    put_expected(made, expected)
    put_found(made, found)
    put_formula(made, formula)
    put_rest(made, rest)


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
