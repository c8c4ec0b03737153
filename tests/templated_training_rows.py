"""Training steps written as templates and resolved one formula at a time: how
``sheetgen.layouts.training`` (a neuron's), ``sheetgen.layouts.network_training`` (a
network's) and ``sheetgen.layouts.batch_training`` (a network's on a data set) wrote them
before they wrote them resolved (their ``_step_rows`` and ``_blocks``, by ``grid.StepRow``),
kept here alone as what the fast way must equal (``tests/test_training_rows.py``).

Each formula is the template text naming quantities (``={input}*{step3.weight}+{step3.bias}``),
handed to ``Grid.formula``, which resolves it as a template's formula is resolved.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sheetgen.layouts.batch_training import EXPLAINED_EXAMPLES, MEAN
from sheetgen.layouts.grid import Functions, Grid
from sheetgen.layouts.network_training import TABLE_ROW, backward_cells, forward_cells
from sheetgen.layouts.optimized import put_state
from sheetgen.layouts.training import FIRST_ROW
from sheetgen.maths.dataset import batch, data_name, example_prefix
from sheetgen.maths.network import input_name, neuron, target_name
from sheetgen.maths.optimizers import Optimizer


def templated_step_rows(
    g: Grid, col: Mapping[str, int], steps: int, fx: Functions, optimizer: Optimizer
) -> None:
    """What ``training._step_rows`` is, each row written as templates."""
    for k in range(1, steps + 1):
        _step_row(g, col, k, fx, optimizer)


def _step_row(g: Grid, col: Mapping[str, int], k: int, fx: Functions, optimizer: Optimizer) -> None:
    """Step k's row: its weight and bias, the forward pass, the chain rule, the update."""
    activation, loss = fx.activation, fx.loss
    act_out, act_slope = fx.act_out, fx.act_slope
    row = FIRST_ROW + k - 1
    s = f"step{k}."

    def put(leaf: str, formula: str, note: str | None = None) -> None:
        source = formula.replace("{.", "{" + s)
        # A note on the first two rows is enough; a thousand copies only slow the file.
        g.formula(col[leaf], row, s + leaf, source, note if row < FIRST_ROW + 2 else None)

    g.value(1, row, s + "number", float(k), None)
    if k == 1:
        put("weight", "={weight}", "Step 1 starts from the start weight.")
        put("bias", "={bias}", "Step 1 starts from the start bias.")
    else:
        put("weight", f"={{step{k - 1}.new.weight}}", "The previous step's new weight.")
        put("bias", f"={{step{k - 1}.new.bias}}", "The previous step's new bias.")
    put("net", "={input}*{.weight}+{.bias}", "Net = input * weight + bias.")
    put("output", "=" + act_out.replace("{net}", "{.net}"), f"Output = {activation}(net).")
    put("error", "={.output}-{target}", "Error = output - target.")
    put("loss", "=" + fx.loss_of("{.error}", "{.output}", "{target}"), f"The {loss} loss.")
    put("global.output", "=" + fx.slope_of("{.error}", "{.output}"), "d loss / d output.")
    put(
        "local.net",
        "=" + act_slope.replace("{net}", "{.net}").replace("{output}", "{.output}"),
        "d output / d net.",
    )
    put("global.net", "={.local.net}*{.global.output}", "d loss / d net, the chain rule.")
    put("global.weight", "={input}*{.global.net}", "d loss / d weight = input * d loss / d net.")
    put("global.bias", "={.global.net}", "d loss / d bias = d loss / d net.")
    if optimizer.name == "sgd":
        put(
            "new.weight",
            "={.weight}-{learning_rate}*{.global.weight}",
            "Gradient descent: weight - learning rate * d loss / d weight.",
        )
        put(
            "new.bias",
            "={.bias}-{learning_rate}*{.global.bias}",
            "Gradient descent: bias - learning rate * d loss / d bias.",
        )
        return
    for p in ("weight", "bias"):
        put_state(put, optimizer, k, p)


def templated_network_step_rows(d: Any, steps: int) -> None:
    """What ``network_training._step_rows`` is, each row written as templates."""
    for k in range(1, steps + 1):
        d.g.notes = k <= 2  # two explained rows are enough; thousands of notes slow the file
        _network_step_row(_NetworkStepRow(d, k))


@dataclass(frozen=True)
class _NetworkStepRow:
    """One training step's row: where its cells go and how they name each other."""

    d: Any
    k: int

    @functools.cached_property
    def s(self) -> str:  # asked for by every formula of the row
        return f"step{self.k}."

    @property
    def row(self) -> int:
        return TABLE_ROW + self.k

    def put(self, leaf: str, formula: str, note: str) -> None:
        self.d.g.formula(self.d.col[leaf], self.row, self.s + leaf, formula, note)

    def out_of(self, layer: int, i: int) -> str:
        """Input i of a neuron in ``layer``: a network input or the layer before's output."""
        return (
            f"{{{input_name(i)}}}" if layer == 1 else f"{{{self.s}{neuron(layer - 1, i)}.output}}"
        )

    def param(self, name: str) -> str:
        return f"{{{self.s}{name}}}"

    def target(self, j: int) -> str:
        return f"{{{target_name(j)}}}"

    weights_note = ""


def _network_step_row(r: _NetworkStepRow) -> None:
    """One step: its parameters, the forward pass and loss, backpropagation, the update."""
    d, k = r.d, r.k
    d.g.value(1, r.row, r.s + "number", float(k), None)
    for p in d.params:
        if k == 1:
            r.put(p, f"={{{p}}}", f"Step 1 starts from the start value of {p}.")
        else:
            r.put(p, f"={{step{k - 1}.new.{p}}}", f"The previous step's new {p}.")
    forward_cells(r)
    backward_cells(r)
    for p in d.params:
        if d.optimizer.name != "sgd":
            put_state(r.put, d.optimizer, k, p)
            continue
        r.put(
            f"new.{p}",
            f"={{{r.s}{p}}}-{{learning_rate}}*{{{r.s}global.{p}}}",
            f"Gradient descent: {p} - learning rate * d loss / d {p}.",
        )


def templated_blocks(d: Any, steps: int) -> None:
    """What ``batch_training._blocks`` is, each row written as templates."""
    for k in range(1, steps + 1):
        d.g.notes = k == 1  # one explained block is enough; thousands of notes slow the file
        _block(d, k)


def _block(d: Any, k: int) -> None:
    """Step k: a row per example of its batch, then the mean row with the update."""
    members = batch(k, d.batch, d.examples)
    g = d.g
    notes = g.notes
    for b, m in enumerate(members, start=1):
        g.notes = notes and b <= EXPLAINED_EXAMPLES
        _example_row(d, k, m, d.row(k, b))
    g.notes = notes
    row, s = d.row(k, d.batch + 1), f"step{k}."
    g.value(1, row, s + "number", float(k), None)
    g.text(2, row, MEAN.format(k=k), "label")

    def put(leaf: str, formula: str, note: str) -> None:
        column = d.col["mean.loss" if leaf == "loss" else leaf]
        g.formula(column, row, s + leaf, formula, note)

    for p in d.params:
        if k == 1:
            put(p, f"={{{p}}}", f"Step 1 starts from the start value of {p}.")
        else:
            put(p, f"={{step{k - 1}.new.{p}}}", f"The previous step's new {p}.")
    prefixes = [f"{s}{example_prefix(m)}" for m in members]

    def mean(leaf: str) -> str:
        terms = "+".join(f"{{{prefix}{leaf}}}" for prefix in prefixes)
        return f"=({terms})/{d.batch}" if d.batch > 1 else f"={terms}"

    put("loss", mean("loss"), "The batch's mean loss: its examples' losses added, / batch size.")
    for p in d.params:
        put(
            f"global.{p}",
            mean(f"global.{p}"),
            f"The mean of the examples' d loss/d {p} above: what the step descends along.",
        )
        put_state(put, d.optimizer, k, p)


@dataclass(frozen=True)
class _ExampleRow:
    """Example m's row in step k: its data, forward pass, loss and backpropagation, with the
    step's weights and biases (in the step's mean row, below): a ``PassRow`` whose formulas
    are the network training sheet's."""

    d: Any
    k: int
    m: int
    row: int
    weights_note = ", with this step's weights (its mean row)"

    @functools.cached_property
    def s(self) -> str:  # asked for by every formula of the row
        return f"step{self.k}.{example_prefix(self.m)}"

    def put(self, leaf: str, formula: str, note: str) -> None:
        self.d.g.formula(self.d.col[leaf], self.row, self.s + leaf, formula, note)

    def out_of(self, layer: int, i: int) -> str:
        if layer == 1:
            return f"{{{self.s}{input_name(i)}}}"
        return f"{{{self.s}{neuron(layer - 1, i)}.output}}"

    def param(self, name: str) -> str:
        return f"{{step{self.k}.{name}}}"

    def target(self, j: int) -> str:
        return f"{{{self.s}{target_name(j)}}}"


def _example_row(d: Any, k: int, m: int, row: int) -> None:
    """Example m's pass in step k: its data, then the network training sheet's cells."""
    r = _ExampleRow(d, k, m, row)
    d.g.value(2, row, r.s + "number", float(m), None)
    for i in range(1, d.sizes[0] + 1):
        r.put(input_name(i), f"={{{data_name(m, input_name(i))}}}", f"Example {m}'s input {i}.")
    for j in range(1, d.sizes[-1] + 1):
        r.put(target_name(j), f"={{{data_name(m, target_name(j))}}}", f"Example {m}'s target {j}.")
    forward_cells(r)
    backward_cells(r)
