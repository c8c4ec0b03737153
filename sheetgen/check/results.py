"""What checking a workbook finds: a verdict per cell (:class:`CellResult`) and the :class:`Report`.

Plain data: ``sheetgen.check.judge`` makes the verdicts, ``sheetgen.check.diagnose`` refines
them, ``sheetgen.check.verify`` assembles the one report, ``sheetgen.report`` shows it.
"""

from __future__ import annotations

import functools
import itertools
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload

from ..layouts.layout import CellSpec
from ..layouts.packed import Packed, described_fields
from ..workbook.book import Value
from . import show

__all__ = ["CellResult", "Report", "Status", "Verdicts", "addresses", "count_right", "held_whole"]

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


UNEDITED = 1
"""A right verdict's mark (:meth:`Verdicts.marked`): its cell holds what the layout put there."""
CONTEXT = 2
"""A right verdict's mark: its cell was handed out filled in (``CellResult.context``)."""
_MARKED_REST = tuple(
    _PLAIN["", "", (), (_SAME, True, bool(marks & CONTEXT), not marks & UNEDITED, ())]
    for marks in range(4)
)
"""The shared tail of a right verdict whose meaning is its quantity, by its marks."""


class Verdicts(Sequence[CellResult]):
    """A sheet's verdicts in order, each right one held as a few numbers rather than an object.

    Most cells of a sheet are right (a 10,000-step training run's 140,000), and a right
    verdict (``CellResult.right``) has nothing of its own but its two numbers and its formula:
    its cell, quantity and meaning are its layout cell's. So it is held as the book's formula
    string (a pointer), its expected and found numbers (in two ``array('d')``) and a byte of
    marks (:data:`UNEDITED`, :data:`CONTEXT`): 25 bytes, where a ``CellResult`` and its place in
    a tuple took 90 (11 MB of that training run's verify at its peak). A ``CellResult`` is made
    when one is asked for (indexing, iteration), equal to the one held whole would be; any
    other verdict is held whole.

    The verdicts from position ``offset`` on are those of ``specs`` (a layout's checked cells)
    in order, as ``judge.check`` makes them; those before it (its parameters') are held whole.
    Never changed: each step of the diagnosis makes another (:meth:`replaced`,
    :meth:`rejudged`, :meth:`marked`) sharing the numbers. It pickles as a tuple (a worker's
    report sent to ``grade``: without its layout's cells).
    """

    __slots__ = ("_expected", "_found", "_held", "_marks", "_offset", "_specs")

    def __init__(
        self,
        held: list[str | CellResult],
        specs: Sequence[CellSpec] = (),
        offset: int = 0,
        expected: array[float] | None = None,
        found: array[float] | None = None,
        marks: bytearray | None = None,
    ) -> None:
        """``held``: each position's verdict, or the formula of a right one whose numbers are
        ``expected[i]`` and ``found[i]`` and whose cell is ``specs[i - offset]``."""
        self._held = held
        self._specs = specs
        self._offset = offset
        self._expected = array("d") if expected is None else expected
        self._found = array("d") if found is None else found
        self._marks = bytearray(len(held)) if marks is None else marks

    @staticmethod
    def of(cells: Iterable[CellResult]) -> Verdicts:
        """``cells`` as verdicts: themselves if they are, else each held whole."""
        return cells if isinstance(cells, Verdicts) else Verdicts(list(cells))

    def __len__(self) -> int:
        return len(self._held)

    def _made(self, i: int, formula: str) -> CellResult:
        """The right verdict at ``i``, made."""
        spec = self._specs[i - self._offset]
        quantity = spec.quantity
        assert quantity is not None
        marks = self._marks[i]
        meaning = spec.note or quantity
        rest = (
            _MARKED_REST[marks]
            if meaning == quantity
            else ("", "", (), (meaning, True, bool(marks & CONTEXT), not marks & UNEDITED, ()))
        )
        made: CellResult = _new(CellResult)
        _set(made, spec.at, quantity, "ok", self._expected[i], self._found[i], formula, rest)
        return made

    @overload
    def __getitem__(self, i: int) -> CellResult: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[CellResult, ...]: ...

    def __getitem__(self, i: int | slice) -> CellResult | tuple[CellResult, ...]:
        if isinstance(i, slice):
            return tuple(self[k] for k in range(*i.indices(len(self._held))))
        held = self._held[i]  # an IndexError as a tuple's
        if type(held) is str:
            return self._made(i if i >= 0 else i + len(self._held), held)
        assert isinstance(held, CellResult)
        return held

    def __iter__(self) -> Iterator[CellResult]:
        made = self._made
        for i, held in enumerate(self._held):
            if type(held) is str:
                yield made(i, held)
            else:
                assert isinstance(held, CellResult)
                yield held

    def __eq__(self, other: object) -> bool:
        """Equal to any list, tuple or verdicts of the same verdicts in the same order."""
        if not isinstance(other, Verdicts | tuple | list):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        """A tuple's of the same verdicts (equal to it, and never changed)."""
        return hash(tuple(self))

    def __add__(self, other: object) -> tuple[CellResult, ...]:
        """Joined as a tuple is: a teacher's script that adds verdicts to ``Report.cells``."""
        if not isinstance(other, Verdicts | tuple):
            return NotImplemented
        return tuple(self) + tuple(other)

    def __radd__(self, other: object) -> tuple[CellResult, ...]:
        if not isinstance(other, tuple):
            return NotImplemented
        return other + tuple(self)

    def __repr__(self) -> str:
        return f"Verdicts({tuple(self)!r})"

    def __reduce__(self) -> tuple[type[tuple[CellResult, ...]], tuple[tuple[CellResult, ...]]]:
        return (tuple, (tuple(self),))

    def whole(self) -> Iterator[CellResult]:
        """The verdicts held whole, in order: every one that is not right (and a few that are)."""
        for held in self._held:
            if type(held) is not str:
                assert isinstance(held, CellResult)
                yield held

    @property
    def held_right(self) -> int:
        """How many right verdicts are held as numbers."""
        return len(self._held) - sum(1 for _ in self.whole())

    def addresses(self) -> Iterator[str]:
        """Each verdict's cell, in order, without the verdict made."""
        specs, offset = self._specs, self._offset
        for i, held in enumerate(self._held):
            if type(held) is str:
                yield specs[i - offset].at
            else:
                assert isinstance(held, CellResult)
                yield held.cell

    def entries(self) -> Iterator[tuple[int, CellSpec | None, str | CellResult]]:
        """Each position and its verdict held whole (with None), or for a right one held as
        numbers, its layout cell and formula (a ``str``; its found number is :meth:`found_at`)."""
        specs, offset = self._specs, self._offset
        for i, held in enumerate(self._held):
            yield i, specs[i - offset] if type(held) is str else None, held

    def found_at(self, i: int) -> float:
        """The found number of the right verdict held as numbers at ``i``."""
        return self._found[i]

    def expected_at(self, i: int) -> float:
        """The expected number of the right verdict held as numbers at ``i``."""
        return self._expected[i]

    def replaced(self, changes: Mapping[int, CellResult]) -> Verdicts:
        """These verdicts with the one at each position of ``changes`` replaced."""
        if not changes:
            return self
        held = self._held.copy()
        for i, c in changes.items():
            held[i] = c
        return self._with(held, self._marks)

    def rejudged(
        self,
        change: Callable[[CellResult], CellResult],
        keep: Callable[[CellSpec, str], bool] | None = None,
    ) -> Verdicts:
        """Each verdict through ``change``; a right one held as numbers only where ``keep``
        of its layout cell and formula is False (``keep`` None: never), and kept so if
        ``change`` gives it back as it is."""
        return self.rejudged_laid(lambda c, _laid: change(c), keep)

    def rejudged_laid(
        self,
        change: Callable[[CellResult, CellSpec | None], CellResult],
        keep: Callable[[CellSpec, str], bool] | None = None,
    ) -> Verdicts:
        """:meth:`rejudged`, ``change`` given each verdict's layout cell too (None for one
        before ``offset``, a parameter's, or none known): a step that needs the cell of a
        verdict held whole need not look it up by address."""
        held = self._held.copy()
        specs, offset, made = self._specs, self._offset, self._made
        n = len(specs)
        for i, h in enumerate(held):
            if type(h) is str:
                spec = specs[i - offset]
                if keep is None or keep(spec, h):
                    continue
                c = made(i, h)
                new = change(c, spec)
                if new is not c:
                    held[i] = new
            else:
                assert isinstance(h, CellResult)
                laid = specs[i - offset] if 0 <= i - offset < n else None
                held[i] = change(h, laid if laid is not None and laid.at == h.cell else None)
        return self._with(held, self._marks)

    def marked(self, marks: Callable[[CellSpec, str], int]) -> Verdicts:
        """These verdicts with each right one held as numbers given ``marks`` of its layout
        cell and formula (:data:`UNEDITED`, :data:`CONTEXT`) besides its own."""
        new = self._marks.copy()
        specs, offset = self._specs, self._offset
        for i, h in enumerate(self._held):
            if type(h) is str:
                new[i] |= marks(specs[i - offset], h)
        return self._with(self._held, new)

    def _with(self, held: list[str | CellResult], marks: bytearray) -> Verdicts:
        return Verdicts(held, self._specs, self._offset, self._expected, self._found, marks)


def held_whole(cells: Iterable[CellResult]) -> Iterable[CellResult]:
    """The verdicts among ``cells`` that may be anything but right and plain: of
    :class:`Verdicts`, those held whole (none made); else all of them."""
    return cells.whole() if isinstance(cells, Verdicts) else cells


def addresses(cells: Iterable[CellResult]) -> Iterator[str]:
    """Each verdict's cell, in order, none made for :class:`Verdicts` held as numbers."""
    return cells.addresses() if isinstance(cells, Verdicts) else (c.cell for c in cells)


def count_right(cells: Iterable[CellResult]) -> int:
    """How many of ``cells`` are right, without a verdict made for those held as numbers."""
    if isinstance(cells, Verdicts):
        return cells.held_right + sum(1 for c in cells.whole() if c.ok)
    return sum(1 for c in cells if c.ok)


@dataclass(frozen=True)
class Report:
    """Everything ``verify`` found; rendered as text or JSON by ``sheetgen.report.render``."""

    path: str
    layout: str
    sheet: str
    parameters: Mapping[str, Value]
    cells: Sequence[CellResult]
    """In the layout's order (its parameters' first): :class:`Verdicts` from ``verify``."""
    warnings: tuple[str, ...] = field(default=())
    choice: str = ""
    """Which sheet was judged and why, naming the others that hold the layout ("" if one)."""
    spec: str = ""  # the layout's spec when it is generated (``resolve_layout`` rebuilds it)
    blanks: tuple[str, ...] = ()  # the cells an exercise left for the learner to fill in

    @property
    def ok(self) -> bool:
        """Every cell computed by sheetgen itself, and right."""
        return all(c.ok and not c.saved for c in held_whole(self.cells))

    @property
    def review(self) -> tuple[CellResult, ...]:
        """Cells a person should look at: not checked, or checked from the values the file saved."""
        return tuple(c for c in held_whole(self.cells) if c.review)

    @property
    def exit_code(self) -> int:
        """What ``verify`` exits with: 0 every cell computed and right; 1 a cell wrong (or still
        to do); 3 nothing wrong, but some cells not computed by sheetgen (see :attr:`review`)."""
        if self.ok:
            return 0
        if all(c.ok or not c.checked for c in held_whole(self.cells)):
            return 3
        return 1

    @property
    def wrong(self) -> tuple[CellResult, ...]:
        return tuple(c for c in held_whole(self.cells) if not c.ok)

    @property
    def todo(self) -> tuple[CellResult, ...]:
        """Blanks of an exercise still to fill in."""
        return tuple(c for c in held_whole(self.cells) if c.status == "todo")

    @property
    def waiting(self) -> tuple[CellResult, ...]:
        """Cells right as soon as the blanks they read are filled in."""
        return tuple(c for c in held_whole(self.cells) if c.status == "waiting")

    @property
    def attention(self) -> tuple[CellResult, ...]:
        """Cells that are wrong (not merely unfinished, nor left unchecked)."""
        return tuple(c for c in held_whole(self.cells) if not c.ok and not c.pending and c.checked)

    @property
    def exercise(self) -> bool:
        """Whether the workbook is an exercise (it records blanks for the learner to fill)."""
        return bool(self.blanks)

    @property
    def roots(self) -> tuple[CellResult, ...]:
        """The cells to fix first: wrong in themselves, not only through a cell they use."""
        return tuple(c for c in held_whole(self.cells) if c.root)

    def inherited_from(self, cell: str) -> tuple[CellResult, ...]:
        """The cells wrong only because of root cell ``cell``."""
        return self._inherited.get(cell, ())

    @functools.cached_property
    def _inherited(self) -> Mapping[str, tuple[CellResult, ...]]:
        """Every root's inherited cells, in one pass: the report of a sheet whose rows all
        moved asks for thousands of roots', and a pass over every cell for each was
        quadratic (20 s of a 200-step training run's)."""
        out: dict[str, list[CellResult]] = {}
        for c in held_whole(self.cells):
            for cause in dict.fromkeys(c.causes):
                out.setdefault(cause, []).append(c)
        return {cause: tuple(cs) for cause, cs in out.items()}
