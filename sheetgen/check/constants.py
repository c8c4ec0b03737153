"""Typed constants named: the number a learner typed into a formula, and the cell it copies.

``E4 = 0.559055*F4`` is wrong by a hair: 0.559055 is d output/d net (E3) rounded to what the
sheet shows. The verdict alone ("E4 is -0.0201054234; it should be -0.02010542943") does not
say why; this module does. The numbers a learner's formula types that its template formula
does not (``1-{output}^2`` types 1 and 2 itself) are each matched against the values of the
sheet's quantities: a number that is one of them as shown (rounded or cut to the digits typed)
is named with the cell that computes it, the quantities the cell's own formula reads first.
It is called *the* problem only when the learner's formula, with that cell in its place, gives
the right number (evaluated in memory, from the values already computed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace

from .. import a1
from ..engine.evaluate import Evaluator
from ..engine.plan import Ref
from ..layouts.layout import Layout
from ..maths.models import Reference
from ..maths.neuron import describe
from ..workbook.book import Cell, Value
from . import show
from .judge import reference_for, tolerance
from .results import CellResult, Verdicts, held_whole
from .structure import requirements
from .swaps import template_reads

__all__ = ["named_constants", "typed_numbers"]

# A number as a formula writes it, not the digits of a cell reference (B2), a name (w1_1) or
# a sheet (`'Sheet 2'!A1`: quoted text is removed first).
_NUMBER = re.compile(r"(?<![\w$.])(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?(?![\w.(])")
_QUOTED = re.compile(r'"[^"]*"|\'[^\']*\'|\{[^}]*\}')

_NAMED = ("wrong", "fragile", "structure")
"""The verdicts a typed number can explain: a number, not quite the right one or right by luck."""


def typed_numbers(formula: str, template: str | None = None) -> list[tuple[str, float]]:
    """The numbers ``formula`` types (as written, and their values) that ``template`` does not."""
    own = {value for _, value in _numbers(template)} if template else set()
    return [(text, value) for text, value in _numbers(formula) if value not in own]


def _numbers(formula: str) -> list[tuple[str, float]]:
    bare = _masked(formula)
    return [(m.group(0), float(m.group(0))) for m in _NUMBER.finditer(bare)]


def _masked(formula: str) -> str:
    """``formula`` with quoted text and sheet names blanked, each character at its place."""
    return _QUOTED.sub(lambda m: " " * len(m.group(0)), formula)


def named_constants(
    cells: Sequence[CellResult],
    layout: Layout,
    parameters: Mapping[str, object],
    ev: Evaluator,
    sheet: str,
) -> Verdicts:
    """``cells`` with each root cause that types a number into its formula told which one,
    and which cell computes it (when it copies one)."""
    if not any(c.root and c.formula and c.status in _NAMED for c in held_whole(cells)):
        return Verdicts.of(cells)
    numbers = {k: v for k, v in parameters.items() if isinstance(v, float)}
    ref = reference_for(layout, numbers) if len(numbers) == len(parameters) else None
    # What a cell's template reads is told from its own formula (``template_reads``), and
    # where each quantity is only once a typed number is one of them: the layout's
    # requirements are not worked out for these (17 MB of a 10,000-step training run's,
    # at the peak of a wrong sheet's verify). The cells by address, and so each address's
    # quantity, are the layout's index (``Layout.by_address``).
    specs = layout.by_address
    verdicts = Verdicts.of(cells)
    found = _Found(ev, sheet, parameters, layout, ref, verdicts)
    changes = {}
    for i, _, held in verdicts.entries():
        if isinstance(held, CellResult) and held.root and held.formula and held.status in _NAMED:
            spec = specs.get(held.cell)
            typed = typed_numbers(held.formula, layout.source(spec) if spec else None)
            if typed:
                reads = (
                    template_reads(layout, spec)
                    if spec is not None and spec.quantity == held.quantity
                    else requirements(layout).reads.get(held.quantity, ())
                )
                said = _said(held, typed, found, reads)
                changes[i] = replace(held, explanation=f"{said} {held.explanation}".strip())
    return verdicts.replaced(changes)


class _OneChanged(Mapping[str, Cell]):
    """A sheet's cells with the one at ``at`` replaced by ``cell``, the others read from
    ``cells`` in place: a copy of the sheet's dict to change one formula was 3.8 MB of a
    10,000-step training run's."""

    __slots__ = ("_at", "_cell", "_cells")

    def __init__(self, cells: Mapping[str, Cell], at: str, cell: Cell) -> None:
        self._cells, self._at, self._cell = cells, at, cell

    def __getitem__(self, at: str) -> Cell:
        return self._cell if at == self._at else self._cells[at]

    def __contains__(self, at: object) -> bool:
        return at == self._at or at in self._cells

    def __iter__(self) -> Iterator[str]:
        yield from self._cells
        if self._at not in self._cells:
            yield self._at

    def __len__(self) -> int:
        return len(self._cells) + (self._at not in self._cells)


class _Found:
    """What naming a typed number needs: the sheet's values by quantity (each verdict's right
    one, then the parameters'), the cells, and the evaluator and reference to confirm a copy
    with.

    For a sheet with one typed number nothing is held per cell: the values it could be, and
    the right values of the cells a confirming formula reads, are looked for in the verdicts
    when asked (a typed number is one of a few quantities', a formula reads a few cells). From
    the second ask on, a map of every quantity's value and one of every cell's right value are
    kept (``_values``, ``_right``), so a sheet typing hundreds of numbers passes over the
    verdicts a few times, not twice a number. No copy of the sheet's cells or of the values
    the evaluator computed is made (with the two maps, 21 MB of a 10,000-step run's verify)."""

    def __init__(
        self,
        ev: Evaluator,
        sheet: str,
        given: Mapping[str, object],
        layout: Layout,
        ref: Reference | None,
        cells: Verdicts,
    ) -> None:
        self.ev, self.sheet, self.ref = ev, sheet, ref
        self.layout = layout
        self._at: dict[str, str] = {}
        self._asked: set[str] = set()
        self.cells = cells
        self.given = given
        self.parameters = frozenset(given)  # the quantities the learner may edit
        # Every quantity's value and every cell's right one, made on the second ask: a sheet
        # typing one number asks once and keeps neither; one typing hundreds (a learner who
        # typed the weight into every formula) would otherwise pass over every verdict for
        # each, twice (2,000 typed weights on 1,000 steps: 103 s of CPU to verify, not 29).
        self._values: dict[str, float] | None = None
        self._right: dict[str, float] | None = None
        self._passed: set[str] = set()  # "values", "right": passed over for once already

    def _numbered(self) -> Iterator[tuple[str, float]]:
        """Each quantity and its value: each verdict's right number, then each parameter's
        number (a quantity met again takes the later value, keeping its first place)."""
        verdicts = self.cells
        for i, spec, held in verdicts.entries():
            if spec is not None:  # a right verdict held as numbers
                assert spec.quantity is not None
                yield spec.quantity, verdicts.expected_at(i)
            else:
                assert isinstance(held, CellResult)
                if isinstance(held.expected, float):
                    yield held.quantity, held.expected
        for q, v in self.given.items():
            if isinstance(v, float) and not isinstance(v, bool):
                yield q, v

    def values(self, wanted: Callable[[float], bool]) -> dict[str, float]:
        """The quantities whose value is ``wanted``, with their values, in the order of their
        first place among :meth:`_numbered`'s."""
        if self._values is None and self._again("values"):
            self._values = dict(self._numbered())  # the later value, in the first place
        if self._values is not None:
            return {q: v for q, v in self._values.items() if wanted(v)}
        near = {q for q, v in self._numbered() if wanted(v)}
        if not near:
            return {}
        last: dict[str, float] = {}
        for q, v in self._numbered():
            if q in near:
                last[q] = v
        return {q: v for q, v in last.items() if wanted(v)}

    def _again(self, what: str) -> bool:
        """Whether the verdicts have been passed over for ``what`` once already (see
        ``_values``)."""
        if what in self._passed:
            return True
        self._passed.add(what)
        return False

    def right(self, addresses: Collection[str] | None = None) -> dict[str, float]:
        """The right value of each verdict's cell (on :attr:`sheet`) among ``addresses``
        (None: every one)."""
        if self._right is None and (addresses is None or self._again("right")):
            self._right = self._right_among(None)
        if self._right is None:
            return self._right_among(addresses)
        if addresses is None:
            return self._right
        right = self._right
        return {a: right[a] for a in addresses if a in right}

    def _right_among(self, addresses: Container[str] | None) -> dict[str, float]:
        verdicts, out = self.cells, {}
        for i, spec, held in verdicts.entries():
            if spec is not None:
                if addresses is None or spec.at in addresses:
                    out[spec.at] = verdicts.expected_at(i)
            else:
                assert isinstance(held, CellResult)
                if held.expected is not None and (addresses is None or held.cell in addresses):
                    out[held.cell] = held.expected
        return out

    def at(self, quantities: Iterable[str]) -> Mapping[str, str]:
        """Where each of ``quantities`` is (``Requirements.at``), found by a pass over the
        layout's cells for those not asked before: a typed number is one of a few
        quantities' values, and a map of every quantity's cell was 5.8 MB of an 80-80-1
        network's verify, held through :meth:`confirmed`'s evaluation, its peak."""
        wanted = {q for q in quantities if q not in self._asked}
        if wanted:
            self._asked |= wanted
            for c in self.layout.cells:
                if c.quantity in wanted:
                    self._at[c.quantity] = c.at
        return self._at

    def confirmed(self, c: CellResult, text: str, source: str, value: float) -> bool:
        """Whether ``c``'s formula with ``source``'s cell (whose value is ``value``) in place
        of the typed ``text`` gives the right number once every cell it reads is right (as
        root causes are found): the workbook is never touched, the one formula is evaluated
        in a book that differs from it there, from the values of the cells it reads."""
        if c.formula is None or c.expected is None or self.ref is None:
            return False
        match = next((m for m in _NUMBER.finditer(_masked(c.formula)) if m.group(0) == text), None)
        if match is None:
            return False
        at = self.at((source,))[source]
        cell = at if value > 0 else f"-{at}"
        formula = f"{c.formula[: match.start()]}({cell}){c.formula[match.end() :]}"
        book = self.ev.book
        ws = book.sheet(self.sheet)
        if ws is None:
            return False
        changed = replace(ws, cells=_OneChanged(ws.cells, c.cell, Cell(None, formula)))
        other = replace(book, sheets=tuple(changed if s is ws else s for s in book.sheets))
        here = (ws.title, c.cell)
        child = Evaluator(other)
        known = self._known(child.dependencies(here), here)
        got = child.with_overrides(known).evaluate([here])[here]
        if not isinstance(got, float) or isinstance(got, bool):
            return False
        return abs(got - c.expected) <= tolerance(c.quantity, c.expected, self.ref)

    def _known(self, reads: Sequence[Ref], here: Ref) -> dict[Ref, Value]:
        """The values the cells ``reads`` hold once every verdict's cell is right, but the
        cell ``here`` (whose formula is asked): each verdict's right one, else the value the
        evaluator computed. Should one have neither, every value computed and every right one
        (what a cell the evaluator has not computed is then computed from)."""
        values = self.ev.values
        wanted = [r for r in reads if r != here]
        right = self.right({r[1] for r in wanted if r[0] == self.sheet})
        known: dict[Ref, Value] = {}
        for r in wanted:
            if r[0] == self.sheet and r[1] in right:
                known[r] = right[r[1]]
            elif r in values:
                known[r] = values[r]
            else:
                every: dict[Ref, Value] = {r: v for r, v in values.items() if r != here}
                every.update(
                    ((self.sheet, a), v) for a, v in self.right().items() if (self.sheet, a) != here
                )
                return every
        return known


def _said(
    c: CellResult, typed: list[tuple[str, float]], found: _Found, reads: tuple[str, ...]
) -> str:
    sentences = []
    for text, number in typed:
        copied = _copied(text, number, found, reads, c)
        source, value = copied if copied is not None else (None, 0.0)
        at = found.at(() if source is None else (source,))
        if source is None:
            sentences.append(
                f"Check the number {text} typed in its formula: it is none of the sheet's "
                f"values, and the formula of {describe(c.quantity)} has no {text}."
            )
        elif found.confirmed(c, text, source, value):
            sentences.append(
                f"The typed {text} in its formula is the problem: it is {describe(source)} "
                f"({at[source]} = {show.number(value)}) copied as a number; refer to "
                f"{at[source]} instead, so that it is exact and follows when an input changes."
            )
        else:
            sentences.append(
                f"Its formula types {text}, which is {describe(source)} ({at[source]} = "
                f"{show.number(value)}) as shown: refer to {at[source]} rather than "
                "copy it."
            )
    return " ".join(sentences)


def _copied(
    text: str, number: float, found: _Found, reads: tuple[str, ...], c: CellResult
) -> tuple[str, float] | None:
    """The quantity whose value ``number`` is, rounded or cut to the digits typed, and that
    value, or None. 0 and whole numbers up to 10 are read as what they are: factors.

    Several cells may hold that value (the target, and each faux row's copy of it): the one
    named is the most direct, the cell's own reads first, then the closest value, then a
    parameter, then a quantity of the main rows (``target`` over ``nudge.weight.target``),
    then the cell nearest to ``c``."""
    if number == 0 or (number.is_integer() and abs(number) <= 10):
        return None
    step = _last_digit(text)
    values = found.values(lambda v: v != 0 and -step / 2 <= abs(v) - number < step * (1 + 1e-9))
    values.pop(c.quantity, None)
    if not values:
        return None
    matches = list(values)
    here = a1.split(c.cell) if a1.within(c.cell) else (0, 0)
    where = found.at(matches)

    def distance(q: str) -> int:
        at = where.get(q, "")
        if not a1.within(at):
            return 1 << 40
        there = a1.split(at)
        return abs(there[0] - here[0]) + abs(there[1] - here[1])

    source = min(
        matches,
        key=lambda q: (
            q not in reads,
            abs(abs(values[q]) - number),
            q not in found.parameters,
            q.count("."),
            distance(q),
        ),
    )
    return source, values[source]


def _last_digit(text: str) -> float:
    """The value of the last digit typed: 0.559055 -> 1e-6, 1.5e-3 -> 1e-4."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))
