"""Training a network on a data set: one block of rows per step, one row per example.

The data live in the sheet as an editable table (each example's inputs and targets), beside
the learning rate and the start weights: edit an example and the whole training re-runs. Each
step's block has one row per example of its batch, showing that example's forward pass, loss
and backpropagation down to its own ``d loss / d`` every weight and bias, then one row with
the batch's mean loss and mean gradients (each cell the mean of the cells above it), the
optimizer's state, and the updated weights and biases the next block starts from. The loss
chart draws the mean loss of every step.

Why one row per example rather than one column block per example: a row reads left to right
as the network sheet's row does (the article's order: forward, loss, backward), whatever the
number of examples, and the mean of a gradient sits directly below the gradients it averages,
so a learner sees the averaging as a column.

Spec: ``training:layers=2-2-1,examples=4,batch=2,steps=200,...``. It records the data's shape
only: the values are parameters read from the sheet (``example{m}.x{i}``,
``example{m}.target{j}``; see ``sheetgen.maths.dataset``). Step k's quantities are named
``step{k}.`` + the network training sheet's leaves, an example's ``step{k}.example{m}.`` + the
network sheet's names.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..maths.batch import batch_pass, batch_passes, example_parameters
from ..maths.dataset import (
    batch,
    data_name,
    default_data,
    example_prefix,
    parse_batch,
    parse_examples,
)
from ..maths.models import Reference
from ..maths.network import (
    default_parameters,
    input_name,
    layers_text,
    learnable,
    neuron,
    parse_layers,
    target_name,
)
from ..maths.optimizers import EPS, ONE_STEP_REL, Optimizer, default_rate, parse_optimizer
from ..maths.training import parse_rate, parse_steps
from .grid import Grid, NetworkSheet, StepRow, at, functions, title
from .layout import ChartSpec, Layout, SeriesSpec, generated_family
from .network_training import (
    MAX_CELLS,
    MAX_COLUMNS,
    OPTIONS,
    backward_cells,
    classification,
    columns,
    forward_cells,
    step_scales,
)
from .optimized import optimized_model, put_state, settings_inputs

BATCH_OPTIONS = (*OPTIONS, "examples", "batch")
DEFAULT_RATE = 0.1
DATA_ROW = 5  # the data table's header row; example m is the row DATA_ROW + m
MEAN = "Mean, step {k}"
"""What column B says on a step's last row, the row of means and the update (each label of a
sheet is unique: the verifier finds the table by them)."""


def _rows(examples: int) -> tuple[int, int]:
    """The start parameters' row and the step table's header row, below the data table."""
    params_row = DATA_ROW + examples + 4
    return params_row, params_row + 3


@dataclass(frozen=True)
class _Sheet(NetworkSheet):
    """A data set's training sheet: its shape, its columns and where its rows go."""

    col: Mapping[str, int]  # each leaf's column; ``mean.loss`` the batch's mean loss
    params: Sequence[str]
    optimizer: Optimizer
    examples: int
    batch: int
    table_row: int

    def row(self, k: int, b: int) -> int:
        """The row of step k's b-th example (b from 1); b = batch + 1 is the mean row."""
        return self.table_row + (k - 1) * (self.batch + 1) + b


def table_columns(
    sizes: Sequence[int], optimizer: Optimizer, softmax: bool = False
) -> list[tuple[str, str, str]]:
    """The step table's columns from C on, as (leaf, header, group): the example's inputs and
    targets, then the network training sheet's columns (``network_training.columns``, a
    ``softmax`` output's included) with the batch's mean loss beside each example's loss."""
    cols = [(input_name(i), f"x{i}", "Example") for i in range(1, sizes[0] + 1)]
    cols += [(target_name(j), f"target{j}", "Example") for j in range(1, sizes[-1] + 1)]
    for leaf, header, group in columns(sizes, optimizer, softmax):
        cols.append((leaf, header, group))
        if leaf == "loss":
            cols.append(("mean.loss", "Mean loss", group))
    return cols


@generated_family("training", BATCH_OPTIONS)
def batch_training_layout(options: dict[str, str]) -> Layout:
    """The layout for ``training:layers=...,examples=M[,batch=B]``."""
    sizes = parse_layers(options["layers"])
    if "examples" not in options:
        raise UsageError("batch takes examples from a data set: give --data (or examples=M).")
    examples = parse_examples(options["examples"])
    size = parse_batch(options.get("batch", str(examples)), examples)
    steps = parse_steps(options.get("steps", "50"))
    rate = parse_rate(options.get("learning_rate", str(default_rate(options, DEFAULT_RATE))))
    fx = functions(options, sizes[-1])
    optimizer = parse_optimizer(options)
    cols = table_columns(sizes, optimizer, fx.softmax)
    _check_size(sizes, steps, size, len(cols))
    col = {leaf: c for c, (leaf, _, _) in enumerate(cols, start=3)}
    params = [name for name, _, _ in learnable(sizes)]
    table_row = _rows(examples)[1]
    d = _Sheet(Grid(), sizes, fx, col, params, optimizer, examples, size, table_row)
    _settings_data_and_start(d)
    _table_header(d, cols)
    _blocks(d, steps)
    start = {k: v for k, v in default_parameters(sizes).items() if k in params}
    layers = layers_text(sizes)
    spec = (
        f"training:layers={layers},examples={examples},batch={size},steps={steps},"
        f"learning_rate={rate!r},activation={fx.activation},loss={fx.loss}" + optimizer.spec
    )
    return d.g.layout(
        name="training",
        title=f"Training a {layers} network on {examples} examples: {steps} steps",
        sheet="Training",
        description="A network trained on a data set, one block of rows per step: each "
        "example's pass, then the batch's mean gradients and the update.",
        defaults=start
        | default_data(sizes[0], sizes[-1], examples, classes=fx.softmax)
        | {"learning_rate": rate}
        | dict(optimizer.defaults),
        settings={
            "model": "batch_training",
            "layers": layers,
            "examples": str(examples),
            "batch": str(size),
            "steps": str(steps),
            "activation": fx.activation,
            "loss": fx.loss,
        }
        | ({"output": fx.output} if fx.output != fx.activation else {})
        | ({"optimizer": optimizer.name} if optimizer.name != "sgd" else {}),
        spec=spec,
        charts=(_loss_chart(d, steps),),
    )


def _check_size(sizes: tuple[int, ...], steps: int, size: int, width: int) -> None:
    """Refuse a sheet too wide for the applications learners use, or too large to open."""
    if width + 2 > MAX_COLUMNS:
        raise UsageError(
            f"A {layers_text(sizes)} network's training sheet needs {width + 2:,} columns, "
            f"more than the {MAX_COLUMNS:,} a table may have in Apple Numbers: train a "
            "network with fewer neurons."
        )
    cells = steps * (size + 1) * width
    if cells > MAX_CELLS:
        fit = MAX_CELLS // ((size + 1) * width)
        fewer = f"at most {fit:,} steps" if fit else "fewer steps"
        raise UsageError(
            f"{steps} steps of a {layers_text(sizes)} network on batches of {size} make about "
            f"{cells:,} cells; at most {MAX_CELLS:,} fit a sheet that opens quickly. Use "
            f"{fewer}, a smaller batch (--batch) or fewer neurons."
        )


def _settings_data_and_start(d: _Sheet) -> None:
    """The title, the settings, the data table, the note on batches, the start parameters."""
    g, sizes = d.g, d.sizes
    head = (
        f"Training network {layers_text(sizes)} ({d.fx.activation}) on {d.examples} "
        f"example{'s' if d.examples != 1 else ''}, batches of {d.batch}"
    )
    g.text(1, 1, title(head, d.fx, d.optimizer.name), "label")
    g.text(1, 3, "Settings:", "label")
    g.text(2, 2, "Learning rate")
    g.input(2, 3, "learning_rate", "How far each step moves against the mean gradient.")
    settings_inputs(g, d.optimizer, 3, 3)
    g.text(1, DATA_ROW, "Data:", "label")
    heads = [(input_name(i), f"Input {i}") for i in range(1, sizes[0] + 1)]
    heads += [(target_name(j), f"Target {j}") for j in range(1, sizes[-1] + 1)]
    for c, (_, header) in enumerate(heads, start=2):
        g.text(c, DATA_ROW, header)
    for m in range(1, d.examples + 1):
        g.text(1, DATA_ROW + m, f"Example {m}")
        for c, (leaf, header) in enumerate(heads, start=2):
            g.input(
                c,
                DATA_ROW + m,
                data_name(m, leaf),
                f"Example {m}'s {header.lower()}. Edit it: the whole training re-runs.",
            )
    g.text(
        1,
        DATA_ROW + d.examples + 1,
        f"Each step trains on a batch of {d.batch} example{'s' if d.batch != 1 else ''}, taken "
        f"in order and cycling back to example 1 after example {d.examples}; its last row "
        "averages their loss and gradients and updates the weights.",
        "note",
    )
    params_row, _ = _rows(d.examples)
    g.text(1, params_row, "Start:", "label")
    for p in d.params:
        g.text(d.col[p], params_row - 1, p)
        g.input(d.col[p], params_row, p, f"{p} before step 1. Edit it: the training re-runs.")


def _table_header(d: _Sheet, cols: Sequence[tuple[str, str, str]]) -> None:
    """The table's two header rows: each group of columns named once, then every column."""
    g = d.g
    g.text(1, d.table_row, "Step")
    g.text(2, d.table_row, "Example")
    group = ""
    for leaf, header, grp in cols:
        if grp != group:
            g.text(d.col[leaf], d.table_row - 1, grp, "label")
            group = grp
        g.text(d.col[leaf], d.table_row, header)


EXPLAINED_EXAMPLES = 4
"""How many of a batch's rows carry notes, as only the first step does: XOR's four examples
each explained, while a batch of a thousand is not a note on each of 30,000 cells (noise, and
a drawing so repetitive when LibreOffice saves it that the verifier's zip-bomb guard would
refuse the learner's file). Every example's data cells keep theirs: a verdict on a cell
borrows a missing note from the same column above, and a data cell's names its example."""


def _blocks(d: _Sheet, steps: int) -> None:
    """Every step's block, each row written resolved (``grid.StepRow``): step 1's from its own
    templates (its notes name its examples), every later step's from step 2's, as the rows of
    a step read the same rows of their block, the data and the block above."""
    example_cols = _example_columns(d)
    mean_cols = {"number": 1, **d.col, "loss": d.col["mean.loss"]}

    def example_row(k: int, m: int) -> StepRow:
        r = _ExampleRow(d, k, m, [])
        rows = [(r.s, d.col), (example_prefix(m), example_cols), (f"step{k}.", mean_cols)]
        return StepRow(d.g, rows, _example_templates(r))

    def mean_row(k: int) -> StepRow:
        rows: list[tuple[str, Mapping[str, int]]] = [(f"step{k}.", mean_cols)]
        rows += [(f"step{k - 1}.", mean_cols)] if k > 1 else []
        members = batch(k, d.batch, d.examples)
        rows += [(f"step{k}.{example_prefix(m)}", d.col) for m in members]
        return StepRow(d.g, rows, _mean_templates(d, k, members))

    later = (example_row(2, batch(2, d.batch, d.examples)[0]), mean_row(2)) if steps > 1 else None
    g = d.g
    for k in range(1, steps + 1):
        g.notes = k == 1  # one explained block is enough; thousands of notes slow the file
        members = batch(k, d.batch, d.examples)
        mean_at = d.row(k, d.batch + 1)
        for b, m in enumerate(members, start=1):
            row = d.row(k, b)
            g.notes = k == 1 and b <= EXPLAINED_EXAMPLES
            g.value(2, row, f"step{k}.{example_prefix(m)}number", float(m), None)
            example = example_row(k, m) if later is None or k == 1 else later[0]
            example.write(f"step{k}.{example_prefix(m)}", (row, DATA_ROW + m, mean_at), g.notes)
        g.notes = k == 1
        s = f"step{k}."
        g.value(1, mean_at, s + "number", float(k), None)
        g.text(2, mean_at, MEAN.format(k=k), "label")
        rows = [mean_at] + ([d.row(k - 1, d.batch + 1)] if k > 1 else [])
        rows += [d.row(k, b) for b in range(1, d.batch + 1)]
        mean = mean_row(k) if later is None or k == 1 else later[1]
        mean.write(s, rows, g.notes)


def _example_columns(d: _Sheet) -> dict[str, int]:
    """The data table's column of each of an example's inputs and targets (as
    ``_settings_data_and_start`` places them)."""
    leaves = [input_name(i) for i in range(1, d.sizes[0] + 1)]
    leaves += [target_name(j) for j in range(1, d.sizes[-1] + 1)]
    return {leaf: c for c, leaf in enumerate(leaves, start=2)}


def _mean_templates(d: _Sheet, k: int, members: Sequence[int]) -> list[tuple[str, str, str | None]]:
    """Step k's mean row as templates (``(leaf, template, note)``): its parameters, the batch's
    mean loss and gradients, the optimizer's state and the update."""
    s = f"step{k}."
    made: list[tuple[str, str, str | None]] = []

    def put(leaf: str, formula: str, note: str) -> None:
        made.append((leaf, formula, note))

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
    return made


@dataclass(frozen=True)
class _ExampleRow:
    """Example m's row in step k as templates: its data, forward pass, loss and
    backpropagation, with the step's weights and biases (in the step's mean row, below): a
    ``PassRow`` whose formulas are the network training sheet's, each ``(leaf, template,
    note)`` in ``made`` in the order they are placed."""

    d: _Sheet
    k: int
    m: int
    made: list[tuple[str, str, str | None]]
    weights_note = ", with this step's weights (its mean row)"

    @functools.cached_property
    def s(self) -> str:  # asked for by every formula of the row
        return f"step{self.k}.{example_prefix(self.m)}"

    def put(self, leaf: str, formula: str, note: str) -> None:
        self.made.append((leaf, formula, note))

    def out_of(self, layer: int, i: int) -> str:
        if layer == 1:
            return f"{{{self.s}{input_name(i)}}}"
        return f"{{{self.s}{neuron(layer - 1, i)}.output}}"

    def param(self, name: str) -> str:
        return f"{{step{self.k}.{name}}}"

    def target(self, j: int) -> str:
        return f"{{{self.s}{target_name(j)}}}"


def _example_templates(r: _ExampleRow) -> list[tuple[str, str, str | None]]:
    """Example m's pass in step k as templates: its data, then the network training sheet's
    cells."""
    d, m = r.d, r.m
    for i in range(1, d.sizes[0] + 1):
        r.put(input_name(i), f"={{{data_name(m, input_name(i))}}}", f"Example {m}'s input {i}.")
    for j in range(1, d.sizes[-1] + 1):
        r.put(target_name(j), f"={{{data_name(m, target_name(j))}}}", f"Example {m}'s target {j}.")
    forward_cells(r)
    backward_cells(r)
    return r.made


def _loss_chart(d: _Sheet, steps: int) -> ChartSpec:
    """The mean loss of every step, above the data and the table: the step numbers and mean
    losses sit on the mean rows only, and the chart joins them across the example rows between."""
    first, last = d.row(1, 1), d.row(steps, d.batch + 1)
    return ChartSpec(
        title="Mean loss over the training steps",
        series=(
            SeriesSpec(
                "Mean loss",
                x=f"{at(1, first)}:{at(1, last)}",
                y=f"{at(d.col['mean.loss'], first)}:{at(d.col['mean.loss'], last)}",
            ),
        ),
        anchor=at(2, DATA_ROW - 1),  # the empty row between the settings and the data
        own_row=True,
        x_title="Step",
        x_format="0",
        y_title="Mean loss",
        span_blanks=True,
    )


def example_leaves(sizes: Sequence[int], softmax: bool = False) -> list[str]:
    """What an example's row shows, as the network's names (``batch_pass`` prefixes them)."""
    cols = table_columns(sizes, Optimizer("sgd", {}), softmax)
    shown = ("Example", "Forward", "Backpropagation", "Gradients")
    return ["number"] + [leaf for leaf, _, group in cols if group in shown and leaf != "mean.loss"]


def batch_training_model(params: Mapping[str, float], settings: Mapping[str, str]) -> Reference:
    """Train the reference network on the sheet's data, batch by batch.

    Every step is ``sheetgen.maths.batch.batch_pass`` on the step's examples (each example's
    ``Network`` forward pass and backpropagation, then their means) and the optimizer's step
    (``sheetgen.maths.optimizers``; plain gradient descent is one of them), run through
    ``sheetgen.layouts.optimized.optimized_model``, whose running error analysis carries each
    step's rounding on to the next through the slopes of the step map.

    Tolerances: the network sheet's scales, the largest over every example of every step.
    A mean's cell carries what its terms' cells may (see :func:`_mean_allowance`). A sigmoid
    output with binary cross-entropy conditions each example's cells as the network training
    sheet's steps (``network_training.classification``), the mean loss by the mean of its
    terms' conditioning; a softmax is stable.
    """
    sizes = parse_layers(settings["layers"])
    examples = int(settings["examples"])
    size = int(settings["batch"])
    steps = parse_steps(settings.get("steps", "50"))
    activation = settings.get("activation", "tanh")
    loss = settings.get("loss", "half-squared")
    names = [name for name, _, _ in learnable(sizes)]
    per_example = example_leaves(sizes, settings.get("output") == "softmax")
    means = ["loss", *(f"global.{p}" for p in names)]

    rows: dict[tuple[int, ...], tuple[BatchRow, list[str]]] = {}  # a batch's, made once

    def at_step(k: int) -> tuple[BatchRow, list[str]]:
        members = batch(k, size, examples)
        if tuple(members) not in rows:
            shown = [f"{example_prefix(m)}{leaf}" for m in members for leaf in per_example]
            rows[tuple(members)] = BatchRow(sizes, members, activation, loss), shown + means
        return rows[tuple(members)]

    def scales(current: Mapping[str, float], row: Mapping[str, float]) -> tuple[float, float]:
        if not all(map(math.isfinite, row.values())):
            return 1.0, 0.0
        found = [
            step_scales(sizes, example_parameters(sizes, current, m), own)
            for m, own in _by_example(row).items()
        ]
        return max(s for s, _ in found), max(v for _, v in found)

    reference = optimized_model(
        params,
        settings.get("optimizer", "sgd"),
        names,
        steps,
        at_step(1)[0],
        at_step(1)[1],
        scales,
        at_step=at_step,
        extra=lambda k, values: _mean_allowances(values, k, means, size, examples),
    )
    return classification(
        reference,
        sizes,
        settings,
        lambda k: [example_prefix(m) for m in batch(k, size, examples)],
    )


@dataclass(frozen=True)
class BatchRow:
    """A step's rows, from the parameters: each example's pass and the batch's means."""

    sizes: tuple[int, ...]
    members: Sequence[int]
    activation: str
    loss: str

    def __call__(self, current: Mapping[str, float]) -> Mapping[str, float]:
        out = batch_pass(self.sizes, current, self.members, self.activation, self.loss)
        for m in self.members:
            out[f"{example_prefix(m)}number"] = float(m)
        return out

    def many(self, columns: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The same for many sets of parameters at once, as arrays (the tolerances' slopes):
        ``columns`` holds each parameter's values, one per set."""
        return batch_passes(self.sizes, columns, self.members, self.activation, self.loss)


def _by_example(row: Mapping[str, float]) -> dict[int, dict[str, float]]:
    """Each example's cells of a step's row (``example<m>.<leaf>``), by leaf, examples in
    order: one pass over the row, not one per example."""
    out: dict[str, dict[str, float]] = {}
    for key, v in row.items():
        if key.startswith("example"):
            head, _, leaf = key.partition(".")
            mine = out.get(head)
            if mine is None:
                mine = out[head] = {}
            mine[leaf] = v
    return dict(sorted((int(head[7:]), mine) for head, mine in out.items()))


def _mean_allowances(
    values: Mapping[str, float], k: int, means: Sequence[str], size: int, examples: int
) -> dict[str, float]:
    """What each batch mean's cell of step k (``means``: the loss and the gradients) may differ
    from the reference's by, beyond its own rounding; an example's own cells, nothing more.

    Each term's cell may be off by its own allowance, ``REL |term| + 64 eps S`` (``S`` the
    value scale, which the mean's own allowance already holds), and the sum of ``B`` terms
    rounds by at most ``B eps Σ|term| / B`` in each of the sheet and the reference. Their mean
    is off by at most ``REL max|term| + 2 B eps max|term|`` more than the mean's own
    allowance, which is relative to the mean alone: when the examples' gradients cancel (XOR's
    do), the mean is far smaller than its terms.
    """
    heads = [f"step{k}.{example_prefix(m)}" for m in batch(k, size, examples)]
    out = {}
    for leaf in means:
        largest = max(abs(values[head + leaf]) for head in heads)
        out[leaf] = (ONE_STEP_REL + 2 * size * EPS) * largest
    return out
