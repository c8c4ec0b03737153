"""Shared helpers for generated layouts: a grid of cells described once, then parsed.

A generated layout (a network, a training run) is written the way a template is, with
formulas naming quantities (``={n1_1.net}``), and resolved by what resolves a template
(:class:`layout.Resolver`), so generated and hand-written layouts are validated and resolved by
the same code. Where a generator knows the addresses a formula reads (a network's faux rows and
neuron blocks, most of a large network's cells), it gives the formula resolved
(:meth:`Grid.said`): the cell the template would make, without the template. A training run's
steps repeat one row of templates, worked out once (:class:`StepRow`) and written resolved at
each step's row.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from .. import a1
from ..errors import UsageError
from ..maths.losses import output_activation
from ..maths.neuron import ACTIVATIONS, LOSSES
from ..maths.optimizers import TITLES
from .layout import (
    ADDRESSES,
    TEMPLATE_REF,
    CellSpec,
    ChartSpec,
    Layout,
    Resolver,
    Tail,
    repeats_a_parameter,
)

ACTIVATION_FORMULAS: Mapping[str, tuple[str, str]] = {
    # name: (output from {net}, d output / d net from {net} and {output})
    "tanh": ("TANH({net})", "1-{output}^2"),
    "sigmoid": ("1/(1+EXP(-{net}))", "{output}*(1-{output})"),
    "relu": ("MAX(0,{net})", "IF({net}>0,1,0)"),
    "linear": ("{net}", "1"),
}
LOSS_FORMULAS: Mapping[str, tuple[str, str]] = {
    # name: (loss from {error}, {output}, {target}; d loss / d output from {error}, {output})
    "half-squared": ("{error}^2/2", "{error}"),
    "squared": ("{error}^2", "2*{error}"),
    # A sigmoid output's (sheetgen.maths.losses); several outputs take the softmax's, below.
    "cross-entropy": (
        "-({target}*LN({output})+(1-{target})*LN(1-{output}))",
        "{error}/({output}*(1-{output}))",
    ),
}
SOFTMAX_NOTE = (
    "Softmax and cross-entropy in the numerically stable form: every EXP takes net - max net "
    "(at most 0, so none overflows), and loss = max net + LN(Σ EXP(net - max net)) - Σ target * "
    "net, which is -Σ target * LN(output) for targets that sum to 1."
)


def activation_formulas(name: str) -> tuple[str, str]:
    if name not in ACTIVATION_FORMULAS or name not in ACTIVATIONS:
        known = ", ".join(sorted(ACTIVATION_FORMULAS))
        raise UsageError(f"Unknown activation {name!r} (known: {known}).")
    return ACTIVATION_FORMULAS[name]


def loss_formulas(name: str) -> tuple[str, str]:
    if name not in LOSS_FORMULAS or name not in LOSSES:
        known = ", ".join(sorted(LOSS_FORMULAS))
        raise UsageError(f"Unknown loss {name!r} (known: {known}).")
    return LOSS_FORMULAS[name]


@dataclass(frozen=True)
class Functions:
    """A spec's activation and loss, by name and as the cell formulas they stand for
    (``act_out``, ``act_slope`` in ``{net}``/``{output}``; ``loss_value``, ``loss_slope`` in
    ``{error}``, ``{output}``, ``{target}``); ``output``, the output layer's activation
    (``softmax``: no formula here, see ``SOFTMAX_NOTE``), with ``out_act``, ``out_slope``."""

    activation: str
    loss: str
    act_out: str
    act_slope: str
    loss_value: str
    loss_slope: str
    output: str
    out_act: str
    out_slope: str

    @property
    def softmax(self) -> bool:
        return self.output == "softmax"

    def loss_of(self, error: str, output: str, target: str) -> str:
        """The loss formula of one output, its cells' references given."""
        text = self.loss_value.replace("{error}", error).replace("{output}", output)
        return text.replace("{target}", target)

    def slope_of(self, error: str, output: str) -> str:
        """d loss / d output of one output, its cells' references given."""
        return self.loss_slope.replace("{error}", error).replace("{output}", output)


def functions(options: Mapping[str, str], outputs: int = 1) -> Functions:
    """The activation and loss a spec's options name (tanh and half-squared unless set),
    for ``outputs`` outputs; a usage error for one no sheet can compute."""
    activation = options.get("activation", "tanh")
    loss = options.get("loss", "half-squared")
    hidden = activation_formulas(activation)
    losses = loss_formulas(loss)
    output = output_activation(loss, activation, outputs)
    last = ("", "") if output == "softmax" else activation_formulas(output)
    return Functions(activation, loss, *hidden, *losses, output, *last)


def title(head: str, fx: Functions, optimizer: str = "sgd") -> str:
    """A network sheet's title: ``head`` (``Network 2-2-1 (tanh)``), then what else the
    learner must know before reading a formula, where it is not the default: the loss, with
    the output layer's activation where the loss chose it, and the optimizer
    (``…: sigmoid output, cross-entropy loss, Adam``). ``sheetgen.check.recognise`` reads
    ``head`` and lets the rest be."""
    parts = []
    if fx.loss != "half-squared":
        output = f"{fx.output} output, " if fx.output != fx.activation else ""
        parts.append(f"{output}{fx.loss} loss")
    if optimizer != "sgd":
        parts.append(TITLES[optimizer])
    return f"{head}: {', '.join(parts)}" if parts else head


def at(column: int, row: int) -> str:
    return f"{_letters(column)}{row}"


_letters = functools.lru_cache(maxsize=1024)(a1.column_letter)
"""A column's letters, worked out once: a generated sheet names 30,000 cells in 50 columns."""

_Waiting = tuple[str, str, str, str | None]
"""A formula cell whose template names a quantity described after it: (at, quantity,
template, note), resolved by :meth:`Grid.layout`."""


class Grid:
    """A generated layout's cells, described as a template's are (``at``, ``quantity``,
    ``formula`` naming quantities), each resolved as it is described (``layout.Resolver``).

    The templates of a large sheet are most of what making it costs: an 80-80-1 network's
    faux rows are 13,000 formulas of 1 KB naming quantities above them, which :meth:`said`
    takes resolved instead. A cell is kept in template form only while its formula names a
    quantity not described yet (a hidden neuron's gradient reads the next layer's, below it:
    :meth:`later`).
    """

    def __init__(self, origin: str = "a generated layout") -> None:
        self._resolver = Resolver(origin)
        self._made: list[CellSpec | _Waiting] = []
        self.notes = True  # off for repeated blocks: one explained copy is enough, and
        # thousands of comments make the file slow to write and to open

    def _place(self, column: int, row: int, quantity: str | None) -> str:
        # Interned: a workbook read before the layout (verify) holds the same name.
        return self._resolver.place(sys.intern(f"{_letters(column)}{row}"), quantity)

    def _note(self, note: str | None) -> str | None:
        return note if self.notes else None

    def text(self, column: int, row: int, text: str, style: str = "header") -> None:
        where = self._place(column, row, None)
        self._made.append(self._resolver.resolve(where, "text", None, text=text, style=style))

    def input(self, column: int, row: int, quantity: str, note: str | None = None) -> None:
        where = self._place(column, row, quantity)
        self._made.append(self._resolver.resolve(where, "input", quantity, note=self._note(note)))

    def value(self, column: int, row: int, quantity: str, value: float, note: str | None) -> None:
        where = self._place(column, row, quantity)
        note = self._note(note)
        self._made.append(
            self._resolver.resolve(where, "constant", quantity, value=float(value), note=note)
        )

    def formula(
        self, column: int, row: int, quantity: str, formula: str, note: str | None = None
    ) -> None:
        where = self._place(column, row, quantity)
        note = self._note(note)
        cell = self._resolver.formula_if_known(where, quantity, formula, note)
        self._made.append((where, quantity, formula, note) if cell is None else cell)

    def later(
        self, column: int, row: int, quantity: str, formula: str, note: str | None = None
    ) -> None:
        """A formula cell as :meth:`formula` makes it, of a template that names a quantity
        described after it: it waits for the end untried. (A method of its own, not a flag
        of :meth:`formula`: a keyword-only flag costs each of a training run's 39,000 calls
        CPython's slower call path, 1 % of making its layout.)"""
        where = self._place(column, row, quantity)
        self._made.append((where, quantity, formula, self._note(note)))

    def said(
        self, column: int, row: int, quantity: str, formula: str, note: str | None = None
    ) -> str:
        """A formula cell given resolved, the cell :meth:`formula` makes of its template:
        ``formula`` has, for each quantity the template names, that quantity's address
        (:meth:`address`, or where the generator placed it), and the template has no other
        text that reads as an address, so ``Layout.source`` says it and none is kept (nor for
        a copy of a parameter, ``={x1}``, whose template must be: see ``CellSpec``). For a
        generator that knows where what it reads is (a faux row: no template of a kilobyte
        written to be taken apart again). Returns the cell's address, for the formulas that
        read it."""
        where = sys.intern(f"{_letters(column)}{row}")  # as _place, in one call less
        self._made.append(
            self._resolver.said(where, quantity, formula, note if self.notes else None)
        )
        return where

    def row_tail(self, leaf: str, note: str | None = None) -> Tail:
        """What the formula cells of a repeated row's column share, for :meth:`row_said`:
        their quantities end in ``leaf``, and each has ``note``."""
        return self._resolver.row_tail("formula", leaf, note)

    def row_said(self, column: int, row: int, prefix: str, formula: str, tail: Tail) -> str:
        """The cell :meth:`said` makes, of quantity ``prefix`` + the leaf of ``tail``
        (:meth:`row_tail`, the column's, made once). Returns the cell's address."""
        where = sys.intern(f"{_letters(column)}{row}")
        self._made.append(self._resolver.row_said(where, prefix, formula, tail))
        return where

    def address(self, quantity: str) -> str:
        """Where ``quantity`` is (placed already; a KeyError otherwise)."""
        return self._resolver.address_of[quantity]

    def layout(
        self,
        *,
        name: str,
        title: str,
        sheet: str,
        description: str,
        defaults: Mapping[str, float],
        settings: Mapping[str, str],
        spec: str,
        names: Mapping[str, str] | None = None,
        charts: tuple[ChartSpec, ...] = (),
    ) -> Layout:
        """The cells as a :class:`Layout` that records ``spec`` and ``settings``. Called
        once: the grid hands its cells over and keeps none."""
        resolver = self._resolver
        resolver.origin = spec
        made = tuple(
            c
            if isinstance(c, CellSpec)
            else resolver.resolve(c[0], "formula", c[1], template=c[2], note=c[3])
            for c in self._made
        )
        self._made = []
        data: dict[str, object] = {"name": name, "title": title, "sheet": sheet}
        data |= {"description": description, "names": dict(names or {}), "defaults": defaults}
        parsed = resolver.layout(data, made)
        return replace(parsed, settings=dict(settings), spec=spec, charts=charts)


class StepRow:
    """A training step's row of formulas, described once as templates and written resolved
    (:meth:`Grid.said`) at each step's row: a step's formulas differ from the last step's
    only in the rows they sit on and read (their own, the step before's, a batch's examples').

    The templates are one step's, in the order the cells are placed (``(leaf, template,
    note)``). ``rows`` are the rows they read, each as the prefix of its quantities and each
    leaf's column (``("step2.", columns)``, ``("step1.", columns)``), the row's own first; a
    quantity of none of them (a parameter, a setting) is placed already, named by its address.
    Each template becomes the formula's text with the row numbers left to fill in
    (``=B2*C{0}+D{0}``: ``{0}`` the row's own, ``{1}`` the next row given...), so a step's row
    is a string format per cell, not a template split by a regular expression and looked up
    quantity by quantity (a 10,000-step run's 130,000 formulas). A copy of a parameter
    (``={weight}``) keeps its template, as :meth:`Grid.formula` makes it (see
    ``CellSpec.repeats_a_parameter``).
    """

    def __init__(
        self,
        g: Grid,
        rows: Sequence[tuple[str, Mapping[str, int]]],
        templates: Iterable[tuple[str, str, str | None]],
    ) -> None:
        self._g = g
        own = rows[0][1]
        # The longest prefix first: a step's example's (``step2.example3.``) before its own.
        slots = sorted(enumerate(rows), key=lambda slot: -len(slot[1][0]))
        # (column, leaf, formula pattern or template, said, note, tails with and without note)
        self._cells: list[tuple[int, str, str, bool, str | None, tuple[Tail, ...]]] = []
        for leaf, template, note in templates:
            parts = TEMPLATE_REF.split(template)
            texts, refs = parts[0::2], parts[1::2]
            wheres = [_where(g, ref, slots) for ref in refs]
            if len(refs) == 1 and repeats_a_parameter(template):
                if "{" in wheres[0]:  # its template would name another quantity in each row
                    raise ValueError(f"{template!r} copies a parameter of the rows it reads.")
                self._cells.append((own[leaf], leaf, template, False, note, ()))
                continue
            pieces = [t.replace("{", "{{").replace("}", "}}") for t in texts]
            for i, where in enumerate(wheres):
                pieces.insert(2 * i + 1, where)
            pattern = "".join(pieces)
            if ADDRESSES.split(pattern.format(*range(2, len(rows) + 2)))[0::2] != texts:
                # Then the formula does not say its template (Layout.source), which Grid.said
                # takes it to: a template of text that reads as an address.
                raise ValueError(f"{template!r} has text that reads as an address.")
            tails = (g.row_tail(leaf, note), g.row_tail(leaf))
            self._cells.append((own[leaf], leaf, pattern, True, note, tails))

    def write(self, prefix: str, rows: Sequence[int], notes: bool) -> None:
        """The row's cells at ``rows[0]``, each quantity ``prefix`` + its leaf (``step3.net``),
        reading the rows given when it was made at ``rows``; with their notes where
        ``notes``."""
        g, row, numbers = self._g, rows[0], [str(r) for r in rows]
        noted = 0 if notes and g.notes else 1  # the tail with its note, or without
        for column, leaf, text, said, note, tails in self._cells:
            if said:
                g.row_said(column, row, prefix, text.format(*numbers), tails[noted])
            else:
                g.formula(column, row, prefix + leaf, text, note if notes else None)


def _where(g: Grid, ref: str, slots: Sequence[tuple[int, tuple[str, Mapping[str, int]]]]) -> str:
    """Where quantity ``ref`` is: its column and a row number to fill in, of the slot whose
    prefix it has, or its address, placed already."""
    for i, (prefix, columns) in slots:
        if ref.startswith(prefix) and ref[len(prefix) :] in columns:
            return _letters(columns[ref[len(prefix) :]]) + "{" + str(i) + "}"
    return g.address(ref)


@dataclass(frozen=True)
class NetworkSheet:
    """What every block of a network's sheet needs: its cells, its shape and its functions."""

    g: Grid
    sizes: tuple[int, ...]
    fx: Functions

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1
