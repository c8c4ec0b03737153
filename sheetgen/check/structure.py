"""Structure, not only numbers: a right number counts only if it comes from the right cells.

A faux gradient that copies the real one (``K12 = C4``) shows a number within the tolerance of
the central difference, and checks nothing. So every checked cell that ``judge`` found right
must also depend, through the learner's own formulas, on what its quantity is computed from,
as the one description of the layout says it (``layouts.reads.formula_reads``: the quantities
each template formula reads; never a list typed per cell).

What is required is the parameters (the inputs, targets, weights, Tiny, the learning rate:
the cells the learner may edit) that the quantity depends on through the template's formulas:
a faux gradient on Tiny and on everything its nudged loss depends on, a loss on the targets.
A right cell depends on each of them through the learner's own formulas, whatever the route:
the cells the template names (the usual case, answered at once), a helper cell, another
sheet, a table moved in LibreOffice (the dependencies are the learner's, at the cells' current
addresses), or an inlined step (``=(F2-G2)^2/2`` for the loss needs no error cell). A constant
of the layout (``d net/d bias = 1``) may be typed. A cell that misses one gets the status
``structure``: a root cause, explained with the cells of its template formula that would have
brought the missing parameter. A wrong cell that misses one gets it too, said before its
number: the copy is the mistake to fix (``K9 = C4`` in the forward-difference sheet is off by
the difference's own error), and it stays a root cause whatever the cells it reads hold.

Cost: a cell that reads the cells its template names is told so from its own formula's
addresses, one cell at a time, so a right sheet never has the whole layout's requirements
worked out (:func:`requirements`: 39 MB of an 80-80-1 network's). Only when a cell does not
are they worked out, and which cells depend on each parameter found once per sheet, walking the
evaluator's dependency graph backwards (linear in its size); each cell is then a few set
lookups.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from ..engine.evaluate import Evaluator, Ref
from ..layouts.layout import ADDRESSES, TEMPLATE_REF, CellKind, CellSpec, Layout
from ..layouts.reads import FormulaReads, NamedReads, addresses_read, formula_reads
from ..maths.neuron import describe_in
from .results import CellResult, Verdicts

__all__ = ["KeptWithLayout", "Parameters", "Requirements", "requirements", "structure_faults"]


@dataclass(frozen=True)
class Requirements:
    """What each quantity of a layout is computed from, and where and what each quantity is."""

    reads: Mapping[str, tuple[str, ...]]
    at: Mapping[str, str]  # quantity -> its cell's current address
    kind: Mapping[str, CellKind]
    names: Mapping[str, tuple[str, ...]]  # quantity -> the defined names formulas read it by
    parameters: Parameters  # quantity -> the parameters it depends on


REMEMBERED_CELLS = 50_000
"""A layout of at most this many cells has its requirements remembered (the last few: a
class's workbooks share one, and a long training run's has 10,000 formulas to read). A larger
one's are worked out when asked and let go after (an 80-80-1 network's are 30 MB, held
through the diagnosis otherwise); asked again (explaining a wrong cell: thousands may be
explained), they are kept while the layout lives; kept from the first ask when its asker
knows they will be asked again (``requirements(layout, again=True)``)."""

_Kept = TypeVar("_Kept")


class KeptWithLayout(Generic[_Kept]):
    """What is worked out for each layout, kept while the layout lives and let go with it.
    By identity: layouts hold mappings, and equal ones are the same object (``resolve_layout``
    and ``relocated`` return one object per spec and placement)."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[weakref.ref[Layout], _Kept]] = {}

    def holds(self, layout: Layout) -> bool:
        """Whether something is kept for ``layout``."""
        kept = self._kept.get(id(layout))
        return kept is not None and kept[0]() is layout

    def get(self, layout: Layout) -> _Kept | None:
        """What is kept for ``layout``; None where nothing is."""
        kept = self._kept.get(id(layout))
        return kept[1] if kept is not None and kept[0]() is layout else None

    def put(self, layout: Layout, value: _Kept) -> None:
        """Keep ``value`` for ``layout`` until it dies."""
        key, kept = id(layout), self._kept
        kept[key] = (weakref.ref(layout, lambda _: kept.pop(key, None)), value)


_large: KeptWithLayout[Requirements | None] = KeptWithLayout()
"""Large layouts asked for, while they live: None once, their requirements after."""


def requirements(layout: Layout, *, again: bool = False) -> Requirements:
    """The requirements of ``layout`` (see ``REMEMBERED_CELLS``); ``again``: they will be
    asked for again (wrong cells to explain), so a large layout's are kept from now on."""
    if len(layout.cells) <= REMEMBERED_CELLS:
        return _requirements(_Key(layout))
    kept = _large.get(layout)
    if kept is not None:
        return kept
    made = _requirements.__wrapped__(_Key(layout))
    _large.put(layout, made if again or _large.holds(layout) else None)
    return made


def _will_ask(layout: Layout) -> None:
    """``layout``'s requirements will be asked for (wrong cells to explain): a large
    layout's kept from the first ask, as ``again`` would."""
    if len(layout.cells) > REMEMBERED_CELLS and not _large.holds(layout):
        _large.put(layout, None)


class _Key:
    """A layout hashed by identity: layouts hold mappings, and equal ones are the same object
    (``resolve_layout`` and ``relocated`` return one object per spec and placement)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def __hash__(self) -> int:
        return id(self.layout)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and other.layout is self.layout


@functools.lru_cache(maxsize=8)
def _requirements(key: _Key) -> Requirements:
    layout = key.layout
    at: dict[str, str] = {}
    kind: dict[str, CellKind] = {}
    for c in layout.cells:
        if c.quantity is not None:
            at[c.quantity] = c.at
            kind[c.quantity] = c.kind
    by_address = {a: q for q, a in at.items()}
    names: dict[str, tuple[str, ...]] = {}
    for name, where in layout.names.items():
        if (q := by_address.get(where)) is not None:
            names[q] = (*names.get(q, ()), name)
    reads = formula_reads(layout)
    return Requirements(reads, at, kind, names, Parameters(reads, kind))


class Parameters(Mapping[str, frozenset[str]]):
    """For each quantity, the parameters it depends on through the template's formulas, found
    when asked: a network's cells each depend on thousands of weights, and every quantity's
    set at once would hold parameters times cells (gigabytes for a 40-40-1 network). Whether a
    quantity depends on any parameter at all is known for every quantity (one linear pass)."""

    def __init__(self, reads: Mapping[str, tuple[str, ...]], kind: Mapping[str, CellKind]):
        self._reads, self._kind = reads, kind
        found = _depends_on_any(reads, kind)  # formulas of ``reads`` only
        # Held as the formulas that do not: a network's are a handful, the others 90,000 (4 MB).
        self._none = frozenset(
            q
            for q, k in kind.items()
            if k == "formula" and q not in found  # found: in reads
        )
        self._found: dict[str, frozenset[str]] = {}  # the few asked for: cells off the usual path
        # Each formula's parameters as bits (one per parameter, numbered as met), kept for
        # every formula a question walked through: a sheet whose rows all moved (a row
        # inserted by a program that leaves formulas be) asks for thousands of a training
        # run's cells, and walking each one's whole chain again was quadratic (minutes).
        self._bits: dict[str, int] = {}
        self._numbers: dict[str, int] = {}
        self._named: list[str] = []
        for q, k in kind.items():  # numbered up front: a sheet's cells are told by the same bits
            if k == "input":
                self.number(q)

    def any(self, quantity: str) -> bool:
        """Whether ``quantity`` depends on a parameter (an input, target, weight, Tiny...)."""
        return self._kind.get(quantity) == "formula" and quantity not in self._none

    def __getitem__(self, quantity: str) -> frozenset[str]:
        if quantity not in self._reads:
            raise KeyError(quantity)
        if quantity not in self._found:
            bits = self.bits(quantity)
            self._found[quantity] = self._collect(quantity) if bits is None else self.names(bits)
        return self._found[quantity]

    def bits(self, start: str) -> int | None:
        """``start``'s parameters as bits, from those of the formulas it reads, each worked
        out once, depth first (iteratively: a training run's chain is thousands deep); None
        where the template's formulas read one another in a cycle (:meth:`_collect` walks
        those)."""
        reads, kind = self._reads, self._kind

        def own(q: str) -> int:
            return 1 << self.number(q) if kind.get(q) == "input" else 0

        def read(q: str) -> Sequence[str]:
            return reads.get(q, ()) if q == start or kind.get(q) == "formula" else ()

        # A formula's bits are remembered; a start of another kind is worked out apart, since
        # its kind reads nothing where other formulas read it.
        return _reached(start, read, own, self._bits if kind.get(start) == "formula" else {})

    @property
    def number_of(self) -> Mapping[str, int]:
        """Every parameter's bit (see :meth:`bits`)."""
        return self._numbers

    def number(self, parameter: str) -> int:
        """``parameter``'s bit (see :meth:`bits`)."""
        number = self._numbers.get(parameter)
        if number is None:
            number = self._numbers[parameter] = len(self._named)
            self._named.append(parameter)
        return number

    def names(self, bits: int) -> frozenset[str]:
        """The parameters whose bits are set in ``bits``."""
        out = []
        while bits:
            low = bits & -bits
            out.append(self._named[low.bit_length() - 1])
            bits ^= low
        return frozenset(out)

    def __iter__(self) -> Iterator[str]:
        return iter(self._reads)

    def __len__(self) -> int:
        return len(self._reads)

    def _collect(self, start: str) -> frozenset[str]:
        """The parameters ``start``'s formulas reach, walked iteratively (a training run's
        chain of formulas is thousands of steps deep; a template cycle cannot loop)."""
        found: set[str] = set()
        seen = {start}
        stack = [start]
        while stack:
            for r in self._reads.get(stack.pop(), ()):
                kind = self._kind.get(r)
                if kind == "input":
                    found.add(r)
                elif kind == "formula" and r not in seen:
                    seen.add(r)
                    stack.append(r)
        return frozenset(found)


def _depends_on_any(
    reads: Mapping[str, tuple[str, ...]], kind: Mapping[str, CellKind]
) -> frozenset[str]:
    """The quantities that depend on a parameter: each formula's answer from those of the
    formulas it reads, found once each, depth first (linear in the template's size, and
    holding one answer per formula: the readers of every quantity, for a network with
    dozens of terms per formula, were 25 MB more at the structure check's peak). A template
    whose formulas read one another in a cycle is left to :func:`_depends_on_any_forwards`."""
    found: dict[str, bool] = {}
    # Each formula's reads as names made when looked at (most walks stop at the first).
    read: Callable[[str], NamedReads | tuple[str, ...]] = (
        reads.named if isinstance(reads, FormulaReads) else reads.__getitem__
    )
    for start in reads:
        if start in found or kind.get(start) != "formula":
            continue
        path = {start}  # the formulas being worked out, each waiting on the next
        stack = [(start, read(start), 0)]  # each formula's reads asked for once
        while stack:
            q, rs, i = stack[-1]
            answer = waiting = False
            while i < len(rs):
                r = rs[i]
                k = kind.get(r)
                if k == "input":
                    answer = True
                    break
                if k == "formula" and r in reads:
                    known = found.get(r)
                    if known is None:
                        if r in path:
                            return _depends_on_any_forwards(reads, kind)
                        stack[-1] = (q, rs, i)  # back to r once its answer is known
                        stack.append((r, read(r), 0))
                        path.add(r)
                        waiting = True
                        break
                    if known:
                        answer = True
                        break
                i += 1
            if waiting:
                continue
            found[q] = answer
            path.discard(q)
            stack.pop()
    return frozenset(q for q, yes in found.items() if yes)


def _depends_on_any_forwards(
    reads: Mapping[str, tuple[str, ...]], kind: Mapping[str, CellKind]
) -> frozenset[str]:
    """What :func:`_depends_on_any` finds, forwards from the parameters through the formulas
    that read them (whatever cycles the formulas make; a reader list per quantity)."""
    readers: dict[str, list[str]] = {}
    for q, rs in reads.items():
        if kind.get(q) == "formula":  # only a formula passes a dependency on
            for r in rs:
                if r in readers:
                    readers[r].append(q)
                else:
                    readers[r] = [q]
    out: set[str] = set()
    stack = [q for q, k in kind.items() if k == "input"]
    while stack:
        for reader in readers.get(stack.pop(), ()):
            if reader not in out:
                out.add(reader)
                stack.append(reader)
    return frozenset(out)


def structure_faults(
    ev: Evaluator, sheet: str, layout: Layout, cells: Sequence[CellResult]
) -> Verdicts:
    """``cells`` with every right cell that misses a requirement marked ``structure``.

    A cell that reads every cell its template formula reads is told so from its own formula
    (:func:`~sheetgen.layouts.reads.addresses_read`), with nothing worked out for the whole
    layout: the layout's requirements (an 80-80-1 network's are 39 MB at the check's peak)
    only when a cell does not.
    """
    # A wrong cell with a formula is explained with them (what it reads in place of what,
    # the number it types): a large layout's are worked out once, not again for that.
    verdicts = Verdicts.of(cells)
    del cells
    again = any(c.status == "wrong" and c.formula for c in verdicts.whole())
    # An empty cell (an exercise's blank still to do) is taken to read what its template
    # formula reads: a wrong cell waiting for it is not missing what it will bring.
    empty = {c.cell: c.quantity for c in verdicts.whole() if c.status == "empty"}
    own = _own_addresses(layout)
    names_kept = _names_as_laid_out(ev, sheet, layout)
    # The verdicts come in the layout's order (a parameter's before): each met with its cell.
    specs, next_spec = layout.checked, 0
    needs: Requirements | None = None
    reach: _Reach | None = None
    order: dict[str, int] | None = None
    changes: dict[int, CellResult] = {}
    for i, laid, held in verdicts.entries():
        # A right verdict held as numbers (its formula ``held``) is made only if changed.
        if isinstance(held, CellResult):
            c: CellResult | None = held
            cell, formula, quantity = held.cell, held.formula, held.quantity
            ours = held.status in ("ok", "wrong") and held.graded
        else:
            assert laid is not None and laid.quantity is not None
            c, cell, formula, quantity, ours = None, laid.at, held, laid.quantity, True
        spec = None
        if next_spec < len(specs) and specs[next_spec].at == cell:
            spec, next_spec = specs[next_spec], next_spec + 1
        if not ours or formula is None:
            continue
        if spec is not None and spec.quantity == quantity:
            if names_kept and formula == spec.formula and spec.source is None and quantity:
                # Most cells of a right sheet: the template's very text, with the layout's
                # names where it puts them, reads what its template reads (``own(spec)``).
                continue
            wanted = own(spec)
            if wanted is not None and _reads_all(ev.dependencies((sheet, cell)), sheet, wanted):
                continue  # the usual case: the cell reads each of them itself
        if c is None:
            c = verdicts[i]
        if needs is None:
            needs = requirements(layout, again=again)
            reach = _Reach(ev, sheet, needs, empty)
        if needs.parameters.any(c.quantity):
            assert reach is not None
            missing, lost = reach.missing(c.cell, c.quantity)
            if missing and ev.compiled(formula).inputs:  # a typed one is judged as typed
                if order is None:  # the layout's order, once: thousands may be said
                    order = {q: i for i, q in enumerate(needs.at)}
                said = _message(ev, sheet, c, missing, lost, needs, order)
                # A right number is said to be right, so that the verdict does not look
                # contradictory beside it. A wrong number from the wrong cells: the structure
                # is said first, and the cell stays a root whatever the cells it reads hold.
                right = "The number is right but comes from the wrong cells."
                message = f"{right} {said}" if c.ok else f"{said} {c.message}"
                changes[i] = replace(c, status="structure", message=message)
    if needs is None and again:
        _will_ask(layout)  # its wrong cells will: kept from their first ask
    return verdicts.replaced(changes)


def _names_as_laid_out(ev: Evaluator, sheet: str, layout: Layout) -> bool:
    """Whether every defined name of ``layout`` points from ``sheet`` where the layout says."""
    return all(ev.points_to(sheet, name) == (sheet, at) for name, at in layout.names.items())


ADDRESSES_REMEMBERED = 5_000
"""A layout of at most this many cells has its formulas' addresses remembered (the article's
50, a class's hand-out): what a class's workbooks save by sharing them is what each workbook
costs to check. A larger one's would hold a list per formula (17 MB for a 40-40-1 network's
23,000) for a saving of a few per cent of its own verify."""


def _own_addresses(layout: Layout) -> Callable[[CellSpec], Sequence[str] | None]:
    """:func:`~sheetgen.layouts.reads.addresses_read` of ``layout``: a small layout's
    remembered (a class's workbooks share one: no formula split again for each), a large
    one's worked out cell by cell and let go, a cell that keeps its template's text told by
    its formula too where that says the same (see :func:`_told_by_formula`; a small layout's
    requirements are remembered, and cost its next workbooks nothing)."""
    if len(layout.cells) > min(REMEMBERED_CELLS, ADDRESSES_REMEMBERED):
        return _told_by_formula(layout, addresses_read(layout))
    table = _remembered_addresses(_Key(layout))
    return lambda spec: table.get(spec.at)


def _told_by_formula(
    layout: Layout, own: Callable[[CellSpec], Sequence[str] | None]
) -> Callable[[CellSpec], Sequence[str] | None]:
    """``own``, and for a cell that keeps its template's text (``CellSpec.source``) whose
    formula is that text with each quantity at its current address, what
    :func:`~sheetgen.layouts.reads.formula_reads` finds it reads, as addresses: those of its
    formula, then where the layout's names it uses point. Such cells are every formula of a
    moved layout (``relocated`` keeps each one's text: a row inserted above the table) and a
    training run's first weights (``={weight}``, a parameter repeated): they are told cell by
    cell, without the layout's requirements worked out for all (an 80-80-1 network's held
    46 MB more at verify's peak, a 2,000-step training run's 9 MB); any other cell is left
    to them (None)."""
    address_of: dict[str, str] | None = None
    every = False  # whether ``address_of`` holds every quantity, or the parameters only
    said: Callable[[CellSpec], Sequence[str] | None] | None = None

    def read(spec: CellSpec) -> Sequence[str] | None:
        nonlocal address_of, said, every
        found = own(spec)
        source, formula = spec.source, spec.formula
        if found is not None or source is None or formula is None or spec.quantity is None:
            return found
        template = TEMPLATE_REF.split(source)
        parts = ADDRESSES.split(formula)
        # The same texts between the references, and each address the quantity's own.
        if len(parts) != len(template) or parts[0::2] != template[0::2]:
            return None
        if address_of is None or said is None:
            # The parameters' first: a repeated parameter names one (a training run's first
            # weights: no map of every cell, 5.8 MB of a 10,000-step run's verify at its
            # peak); every quantity's once a template names another (a moved layout).
            address_of = {c.quantity: c.at for c in layout.inputs if c.quantity is not None}
            said = addresses_read(layout)
        named = template[1::2]
        if not every and not all(map(address_of.__contains__, named)):
            address_of = {c.quantity: c.at for c in layout.cells if c.quantity is not None}
            every = True
        if [address_of.get(q) for q in named] != parts[1::2]:
            return None  # a relative {.quantity}, one left out, or another address
        # What the cell's formula says, as a cell whose formula says its template.
        return said(CellSpec(spec.at, spec.kind, spec.quantity, formula=formula))

    return read


@functools.lru_cache(maxsize=8)
def _remembered_addresses(key: _Key) -> dict[str, list[str]]:
    own = addresses_read(key.layout)
    return {c.at: a for c in key.layout.checked if (a := own(c)) is not None}


def _reads_all(reads: list[Ref], sheet: str, addresses: Sequence[str]) -> bool:
    """Whether ``reads`` (a cell's) holds each of ``addresses`` on ``sheet``."""
    direct = set(reads) if len(reads) > 8 else reads  # a few: looked through as they are
    return all((sheet, a) in direct for a in addresses)


class _Reach:
    """Which cells depend on each parameter's cell, found on the first cell that needs it."""

    def __init__(
        self, ev: Evaluator, sheet: str, needs: Requirements, empty: Mapping[str, str]
    ) -> None:
        self.ev, self.sheet, self.needs, self.empty = ev, sheet, needs, empty
        self._readers: dict[Ref, list[Ref]] | None = None
        self._dependents: dict[str, set[Ref]] = {}
        self._starts: dict[Ref, int] | None = None  # cell -> the parameters it is the cell of
        self._blank_reads: dict[Ref, list[Ref]] = {}
        self._has_bits: dict[Ref, int] = {}

    def missing(self, cell: str, quantity: str) -> tuple[tuple[str, ...], frozenset[str]]:
        """The quantities ``quantity``'s template formula reads that would have brought a
        parameter the learner's ``cell`` does not depend on (none when it depends on all),
        and those parameters."""
        needs, sheet = self.needs, self.sheet
        wanted = needs.reads[quantity]
        reads = self.ev.dependencies((sheet, cell))
        direct = set(reads) if len(reads) > 8 else reads  # a few: looked through as they are
        at = needs.at
        for q in wanted:
            if q in at and (sheet, at[q]) not in direct:
                break
        else:
            return (), frozenset()  # the usual case: the cell reads each of them itself
        direct = set(reads)
        here = (sheet, cell)
        params = needs.parameters
        want, have = params.bits(quantity), self._has(here)
        if want is not None and have is not None:  # no cycle: told by bits
            lost_bits = want & ~have
            if not lost_bits:
                return (), frozenset()
            return tuple(
                q
                for q in wanted
                if (q in params.number_of and lost_bits >> params.number_of[q] & 1)
                or ((sheet, at.get(q, "")) not in direct and (params.bits(q) or 0) & lost_bits)
            ), params.names(lost_bits)
        lost = frozenset(p for p in params[quantity] if here not in self.dependents(p))
        if not lost:
            return (), lost
        return tuple(
            q
            for q in wanted
            if q in lost
            or ((sheet, at.get(q, "")) not in direct and lost & params.get(q, frozenset()))
        ), lost

    def _has(self, start: Ref) -> int | None:
        """The parameters whose cells ``start`` depends on, as bits (``Parameters.bits``),
        each evaluated cell's worked out once from those of the cells it reads, depth first;
        None where the sheet's formulas read one another in a cycle (:meth:`dependents`
        walks those). A cell reads what the evaluator found it reads, and an exercise's
        blank what its template formula reads."""
        if self._starts is None:
            starts: dict[Ref, int] = {}
            params = self.needs.parameters
            for p, number in params.number_of.items():
                for ref in self._starts_of(p):
                    starts[ref] = starts.get(ref, 0) | 1 << number
            self._starts = starts
            for cell, quantity in self.empty.items():
                self._blank_reads[(self.sheet, cell)] = [
                    (self.sheet, self.needs.at[q])
                    for q in self.needs.reads.get(quantity, ())
                    if q in self.needs.at
                ]
        starts = self._starts
        return _reached(start, self._reads_of, lambda d: starts.get(d, 0), self._has_bits)

    def _reads_of(self, ref: Ref) -> list[Ref]:
        """What ``ref`` reads in :meth:`_graph`'s graph: an evaluated cell its inputs, an
        exercise's blank its template formula's. Evaluated: among the evaluator's values,
        asked of them (a set of their references was a pair and a slot per cell, 16 MB of a
        training run's 140,000)."""
        reads = self.ev.dependencies(ref) if ref in self.ev.values else []
        blank = self._blank_reads.get(ref)
        return [*reads, *blank] if blank else reads

    def _starts_of(self, parameter: str) -> list[Ref]:
        """``parameter``'s cell, and where each name the layout gives it points (``Tiny`` in a
        copy of a sheet may name the first sheet's)."""
        starts = [(self.sheet, self.needs.at[parameter])] if parameter in self.needs.at else []
        for name in self.needs.names.get(parameter, ()):
            if (target := self.ev.points_to(self.sheet, name)) is not None:
                starts.append(target)
        return starts

    def dependents(self, parameter: str) -> set[Ref]:
        """Every evaluated cell that depends on ``parameter``'s cell (or where a name the
        layout gives it points: ``Tiny`` in a copy of a sheet may name the first sheet's)."""
        if parameter not in self._dependents:
            readers = self._graph()
            seen: set[Ref] = set()
            stack = self._starts_of(parameter)
            while stack:
                for reader in readers.get(stack.pop(), ()):
                    if reader not in seen:
                        seen.add(reader)
                        stack.append(reader)
            self._dependents[parameter] = seen
        return self._dependents[parameter]

    def _graph(self) -> dict[Ref, list[Ref]]:
        """The evaluator's dependency graph, backwards: cell -> the formulas that read it."""
        if self._readers is None:
            readers: dict[Ref, list[Ref]] = {}
            # Each evaluated cell, walked by the values' own sheets and addresses (a list of
            # every reference first held a pair per cell beside the graph).
            for sheet, found in list(self.ev.values.sheets.items()):
                for at in list(found):
                    ref = (sheet, at)
                    for dep in self.ev.dependencies(ref):
                        readers.setdefault(dep, []).append(ref)
            for cell, quantity in self.empty.items():
                for q in self.needs.reads.get(quantity, ()):
                    if q in self.needs.at:
                        readers.setdefault((self.sheet, self.needs.at[q]), []).append(
                            (self.sheet, cell)
                        )
            self._readers = readers
        return self._readers


def _message(
    ev: Evaluator,
    sheet: str,
    c: CellResult,
    missing: tuple[str, ...],
    lost: frozenset[str],
    needs: Requirements,
    order: Mapping[str, int],
) -> str:
    deps = ev.dependencies((sheet, c.cell))

    def named(qs: Sequence[str]) -> str:
        return _either([f"{describe_in(q, c.quantity)} ({needs.at[q]})" for q in qs])

    names = named(missing)
    # The parameters that never reach the cell, when they are not the cells just named (a
    # loss that skips the error loses the target): at most a few, in the layout's order. The
    # cells named are what would have brought them.
    unsaid = sorted((q for q in lost if q in order and q not in missing), key=order.__getitem__)
    through = f"through {'it' if len(missing) == 1 else 'them'}"
    said = 0 < len(unsaid) <= 3
    where = ", ".join(d[1] if d[0] == sheet else f"{d[0]}!{d[1]}" for d in deps)
    # How the cell misses them, said one way for one cell named and others it would have
    # brought ("neither ... nor, through it, ..."), another way otherwise ("not ..., nor").
    if len(deps) == 1 and c.formula is not None and _BARE.fullmatch(c.formula):
        head, neither, negated, source = (
            f"copies {where}, which",
            "comes neither",
            "does not come",
            "from ",
        )
    elif len(deps) == 1:
        head, neither, negated, source = f"reads {where} but", "neither", "not", ""
    else:
        head, neither, negated, source = "", "uses neither", "does not use", ""
    lead = f"{c.cell} {head} " if head else f"{c.cell} "
    if said and len(missing) == 1:
        did = f"{lead}{neither} {source}{names} nor, {through}, {source}{named(unsaid)}"
    else:
        did = f"{lead}{negated} {source}{names}"
        did += f", nor, {through}, {source}{named(unsaid)}" if said else ""
    return f"{did}: {reason(c.quantity)}."


# A formula that is one reference and nothing else (=C4, =$C$4, ='Sheet 2'!C4, =Tiny):
# only such a formula copies a cell.
_BARE = re.compile(r"=?\s*(?:(?:'[^']+'|[\w.]+)!)?(?:\$?[A-Za-z]{1,3}\$?\d+|[A-Za-z_][\w.]*)\s*")


_DATA = re.compile(r"x\d+|target\d*")  # an example's inputs and targets, as its row copies them
_PARAMETER = re.compile(r"weight|bias|[wb]\d+(?:_\d+)+")  # what a step's update trains


def reason(quantity: str) -> str:
    """Why a cell holding ``quantity`` must come from what its formula reads, in plain words."""
    leaf = quantity.rsplit(".", 1)[-1]
    head = quantity.split(".", 2)
    kind = head[1] if head[0].startswith("step") and len(head) > 1 else head[0]
    if kind == "nudge" and leaf == "gradient":
        return "a faux gradient must come from the nudged losses, or it checks nothing"
    if kind == "nudge" and leaf == "distance":
        return "the distance must compare the faux gradient with the real one, or it checks nothing"
    if kind == "global":
        return (
            "a global gradient must multiply the gradients of the chain it follows, "
            "or it does not check the chain rule"
        )
    if kind == "local":
        return "a local gradient must come from its own step's values"
    if kind == "new":
        return (
            "a gradient-descent step must come from the parameter, the learning rate and the "
            "gradient, or the steps after it do not follow them"
        )
    if kind == "nudge":
        return "a nudged value must come from the nudged parameter, or the row nudges nothing"
    if kind.startswith("example") and _DATA.fullmatch(leaf):
        return "an example's row must copy that example's data, or the step trains on another"
    if head[0].startswith("step") and len(head) == 2 and _PARAMETER.fullmatch(leaf):
        return (
            "a step's weight or bias must be the one the step before it updated, or the "
            "training does not follow the updates"
        )
    if leaf == "loss":
        return "a loss must come from the errors, and so from the targets"
    if leaf == "error":
        return "an error must compare the output with its target"
    return "it must be computed from what it depends on, or a right number there is a coincidence"


def _either(items: Sequence[str]) -> str:
    """``items`` in a sentence that denies each of them: "A, B or C"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


_Node = TypeVar("_Node", str, Ref)


def _reached(
    start: _Node,
    reads: Callable[[_Node], Sequence[_Node]],
    own: Callable[[_Node], int],
    memo: dict[_Node, int],
) -> int | None:
    """The bits ``own`` gives every node ``start`` reaches through ``reads`` (``start``'s own
    left out), each node's worked out once into ``memo`` from those of the nodes it reads,
    depth first (iteratively: a training run's chain is thousands deep); None where the nodes
    read one another in a cycle (the callers then walk those).

    What :meth:`Parameters.bits` asks of the template's formulas and ``_Reach`` of the sheet's
    cells: one walk, each with its own nodes, bits and memory."""
    if start in memo:
        return memo[start]
    path = {start}  # the nodes being worked out, each waiting on the next
    # A node, what it reads (asked for once), the next to look at, the bits found so far.
    stack = [(start, reads(start), 0, 0)]
    while stack:
        node, read, i, found = stack.pop()
        while i < len(read):
            d = read[i]
            i += 1
            found |= own(d)
            known = memo.get(d)
            if known is None:
                if d in path:
                    return None
                d_reads = reads(d)
                if d_reads:
                    stack += [(node, read, i, found), (d, d_reads, 0, 0)]  # node after d
                    path.add(d)
                    break
                memo[d] = known = 0
            found |= known
        else:
            memo[node] = found
            path.discard(node)
            if stack:  # the node waiting on this one takes its bits
                w, w_read, j, so_far = stack.pop()
                stack.append((w, w_read, j, so_far | found))
    return memo[start]
