"""Shared helpers for generated layouts: a grid of cells described once, then parsed.

A generated layout (a network, a training run) is written the way a template is, with
formulas naming quantities (``={n1_1.net}``), and handed to :func:`layout.parse_layout`, so
generated and hand-written layouts are validated and resolved by the same code.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .. import a1
from ..errors import UsageError
from ..maths.losses import output_activation
from ..maths.neuron import ACTIVATIONS, LOSSES
from ..maths.optimizers import TITLES
from .layout import ChartSpec, Layout, parse_layout

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


class Grid:
    """Cells accumulated in template form (``at``, ``quantity``, ``formula`` with refs)."""

    def __init__(self) -> None:
        self.cells: list[dict[str, Any]] = []
        self.notes = True  # off for repeated blocks: one explained copy is enough, and
        # thousands of comments make the file slow to write and to open

    def _entry(self, column: int, row: int, quantity: str, note: str | None) -> dict[str, Any]:
        """A cell's entry, its note only where one is kept (an entry holds no None)."""
        entry: dict[str, Any] = {"at": at(column, row), "quantity": quantity}
        if note is not None and self.notes:
            entry["note"] = note
        return entry

    def text(self, column: int, row: int, text: str, style: str = "header") -> None:
        self.cells.append({"at": at(column, row), "text": text, "style": style})

    def input(self, column: int, row: int, quantity: str, note: str | None = None) -> None:
        entry = self._entry(column, row, quantity, note)
        entry["input"] = True
        self.cells.append(entry)

    def value(self, column: int, row: int, quantity: str, value: float, note: str | None) -> None:
        entry = self._entry(column, row, quantity, note)
        entry["value"] = value
        self.cells.append(entry)

    def formula(
        self, column: int, row: int, quantity: str, formula: str, note: str | None = None
    ) -> None:
        entry = self._entry(column, row, quantity, note)
        entry["formula"] = formula
        self.cells.append(entry)

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
        """Resolve the cells into a :class:`Layout` that records ``spec`` and ``settings``."""
        data = {"name": name, "title": title, "sheet": sheet, "description": description}
        parsed = parse_layout(
            data | {"cells": self.cells, "names": dict(names or {}), "defaults": dict(defaults)},
            origin=spec,
        )
        return replace(parsed, settings=dict(settings), spec=spec, charts=charts)


@dataclass(frozen=True)
class NetworkSheet:
    """What every block of a network's sheet needs: its cells, its shape and its functions."""

    g: Grid
    sizes: tuple[int, ...]
    fx: Functions

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1
