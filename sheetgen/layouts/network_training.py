"""The network training sheet: a small network trained by gradient descent, one row per step.

Each row holds every weight and bias of that step, the forward pass neuron by neuron, the
loss, the chain rule back through the layers (``d loss / d output``, ``d output / d net``,
``d loss / d net`` per neuron, then ``d loss / d`` every weight and bias) and the updated
parameters ``p - learning rate * d loss / d p``, which the next row starts from. All live
formulas, as in the one-neuron training sheet: edit an input, a target, a start weight or the
learning rate and the spreadsheet re-runs the whole training, and the loss chart redraws.

Spec: ``training:layers=2-2-1,steps=30,learning_rate=0.1,activation=tanh,loss=half-squared``
(the ``training`` family hands a spec with ``layers`` to this module). Parameter names are
the network sheet's (``x1``, ``target1``, ``w1_2_1``, ``b2_1``; see ``sheetgen.maths.network``);
the quantities of step k are the network's names prefixed ``step{k}.``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import UsageError
from ..maths.losses import CROSS_ENTROPY
from ..maths.models import Reference, cross_entropy_steps
from ..maths.network import (
    Network,
    bias,
    default_parameters,
    input_name,
    layers_text,
    learnable,
    neuron,
    parse_layers,
    target_name,
    weight,
)
from ..maths.optimizers import OPTIMIZER_OPTIONS, Optimizer, default_rate, parse_optimizer
from ..maths.steps import Steps, Stepwise
from ..maths.training import amplification as amplified
from ..maths.training import parse_rate, parse_steps, update_norm
from .grid import SOFTMAX_NOTE, Grid, NetworkSheet, StepRow, at, functions, title
from .layout import ChartSpec, Layout, SeriesSpec, generated_family
from .network import classifier_targets
from .optimized import optimized_model, put_state, settings_inputs, state_columns

OPTIONS = ("layers", "steps", "learning_rate", "activation", "loss", *OPTIMIZER_OPTIONS)
SGD = Optimizer("sgd", {})
MAX_COLUMNS = 1_000
"""The widest sheet we write: Apple Numbers allows 1,000 columns per table, LibreOffice up to
7.3 1,024 (Excel 16,384). One step is one row, so a network's parameters, gradients and
activations must fit across."""
MAX_CELLS = 200_000
"""Formula cells in the step table; beyond that the file is slow to write, open and verify."""
DEFAULT_RATE = 0.1
TABLE_ROW = 8  # the header row of the step table; step 1 is the row below
PARAMS_ROW = 6  # the start weights and biases, in the columns of the step table's parameters


def columns(
    sizes: Sequence[int], optimizer: Optimizer = SGD, softmax: bool = False
) -> list[tuple[str, str, str]]:
    """The step table's columns as (quantity leaf, header, group), in sheet order.

    The one description the layout writes and the model fills: parameters, forward pass,
    loss, backpropagation (last layer first, as the chain rule runs), gradients, updates.
    A ``softmax`` output layer adds its max net and Σ EXP(net - max) before the errors, and
    backpropagates from d loss / d net = output - target.
    """
    depth = len(sizes) - 1
    params = [name for name, _, _ in learnable(sizes)]
    cols = [(p, p, "Weights and biases") for p in params]
    for layer in range(1, depth + 1):
        for j in range(1, sizes[layer] + 1):
            n = neuron(layer, j)
            cols += [(f"{n}.net", f"{n} net", "Forward"), (f"{n}.output", f"{n} output", "Forward")]
    if softmax:
        cols += [
            ("softmax.max", "Max net", "Forward"),
            ("softmax.sum", "Σ EXP(net - max)", "Forward"),
        ]
    for j in range(1, sizes[-1] + 1):
        n = neuron(depth, j)
        cols.append((f"{n}.error", f"{n} error", "Forward"))
    cols.append(("loss", "Loss", "Forward"))
    for layer in range(depth, 0, -1):
        for j in range(1, sizes[layer] + 1):
            n = neuron(layer, j)
            if softmax and layer == depth:
                cols.append((f"global.{n}.net", f"{n} d loss/d net (p - t)", "Backpropagation"))
                continue
            cols += [
                (f"global.{n}.output", f"{n} d loss/d output", "Backpropagation"),
                (f"local.{n}.net", f"{n} d output/d net", "Backpropagation"),
                (f"global.{n}.net", f"{n} d loss/d net", "Backpropagation"),
            ]
    cols += [(f"global.{p}", f"d loss/d {p}", "Gradients") for p in params]
    cols += state_columns(optimizer, params, str)
    cols += [(f"new.{p}", f"New {p}", "Updated") for p in params]
    return cols


@dataclass(frozen=True)
class _Training(NetworkSheet):
    """A network's training sheet: its shape and functions, and its table's columns."""

    col: Mapping[str, int]  # each quantity's column (one per leaf of ``columns``)
    params: Sequence[str]  # the learnable parameters, in column order
    optimizer: Optimizer


@dataclass(frozen=True)
class _StepRow:
    """One training step's row as templates: how its cells name each other, each
    ``(leaf, template, note)`` in ``made`` in the order they are placed."""

    d: _Training
    k: int
    made: list[tuple[str, str, str | None]]

    @functools.cached_property
    def s(self) -> str:  # asked for by every formula of the row
        return f"step{self.k}."

    def put(self, leaf: str, formula: str, note: str) -> None:
        self.made.append((leaf, formula, note))

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


class PassRow(Protocol):
    """A row that shows one forward pass and its backpropagation: a training step's (here)
    or one example's of a step's batch (``sheetgen.layouts.batch_training``). The formulas
    are the same; only where a row finds its inputs, targets and parameters differs."""

    @property
    def d(self) -> NetworkSheet: ...

    @property
    def s(self) -> str:
        """The prefix of the row's own quantities (``step3.``, ``step3.example2.``)."""
        ...

    @property
    def weights_note(self) -> str:
        """Where the row's weights and biases are, for the net's note ("" for its own)."""
        ...

    def put(self, leaf: str, formula: str, note: str) -> None: ...

    def out_of(self, layer: int, i: int) -> str:
        """A reference to input i of a neuron in ``layer``."""
        ...

    def param(self, name: str) -> str:
        """A reference to the weight or bias ``name`` the row computes with."""
        ...

    def target(self, j: int) -> str:
        """A reference to the row's target of output j."""
        ...


@generated_family("training", OPTIONS)
def network_training_layout(options: dict[str, str]) -> Layout:
    """The layout for ``training:layers=...``."""
    sizes = parse_layers(options["layers"])
    steps = parse_steps(options.get("steps", "50"))
    rate = parse_rate(options.get("learning_rate", str(default_rate(options, DEFAULT_RATE))))
    fx = functions(options, sizes[-1])
    optimizer = parse_optimizer(options)
    activation, loss = fx.activation, fx.loss
    cols = columns(sizes, optimizer, fx.softmax)
    _check_size(sizes, steps, len(cols))
    col = {leaf: c for c, (leaf, _, _) in enumerate(cols, start=2)}
    params = [name for name, _, _ in learnable(sizes)]
    d = _Training(Grid(), sizes, fx, col, params, optimizer)
    _data_and_start(d)
    _table_header(d, cols)
    _step_rows(d, steps)
    defaults = {k: v for k, v in default_parameters(sizes).items() if k != "tiny"}
    defaults |= classifier_targets(loss, sizes[-1])
    layers = layers_text(sizes)
    spec = (
        f"training:layers={layers},steps={steps},learning_rate={rate!r},"
        f"activation={activation},loss={loss}" + optimizer.spec
    )
    return d.g.layout(
        name="training",
        title=f"Training a {layers} network: {steps} steps of gradient descent",
        sheet="Training",
        description="A network trained by gradient descent, one row per step, with a loss chart.",
        defaults=defaults | {"learning_rate": rate} | dict(optimizer.defaults),
        settings={
            "model": "training",
            "layers": layers,
            "steps": str(steps),
            "activation": activation,
            "loss": loss,
        }
        | ({"output": fx.output} if fx.output != activation else {})
        | ({"optimizer": optimizer.name} if optimizer.name != "sgd" else {}),
        spec=spec,
        charts=(_loss_chart(col, steps),),
    )


def _check_size(sizes: tuple[int, ...], steps: int, width: int) -> None:
    """Refuse a sheet too wide for the applications learners use, or too large to open quickly."""
    if width + 1 > MAX_COLUMNS:  # the labels' column A, then one column per quantity
        raise UsageError(
            f"A {layers_text(sizes)} network's training sheet needs {width + 1:,} columns, "
            f"more than the {MAX_COLUMNS:,} a table may have in Apple Numbers (and LibreOffice "
            "up to 7.3 allows 1,024); train a network with fewer neurons."
        )
    if steps * width > MAX_CELLS:
        raise UsageError(
            f"{steps:,} steps of a {layers_text(sizes)} network make {steps * width:,} cells; "
            f"at most {MAX_CELLS:,} fit a sheet that opens quickly. Use at most "
            f"{MAX_CELLS // width:,} steps, or fewer neurons."
        )


def _data_and_start(d: _Training) -> None:
    """The title, the data row (inputs, targets, learning rate) and the starting parameters."""
    g, sizes = d.g, d.sizes
    head = f"Training network {layers_text(sizes)} ({d.fx.activation})"
    g.text(1, 1, title(head, d.fx, d.optimizer.name), "label")
    g.text(1, 3, "Data:", "label")
    c = 2
    for i in range(1, sizes[0] + 1):
        g.text(c, 2, f"Input {i}")
        g.input(c, 3, input_name(i), f"Network input {i}. Edit it: the whole training re-runs.")
        c += 1
    for j in range(1, sizes[-1] + 1):
        g.text(c, 2, f"Target {j}")
        g.input(c, 3, target_name(j), f"What output {j} should learn to be.")
        c += 1
    g.text(c, 2, "Learning rate")
    g.input(c, 3, "learning_rate", "How far each step moves against the gradient. Edit it.")
    settings_inputs(g, d.optimizer, c + 1, 3)
    g.text(1, PARAMS_ROW, "Start:", "label")
    for p in d.params:
        g.text(d.col[p], PARAMS_ROW - 1, p)
        g.input(d.col[p], PARAMS_ROW, p, f"{p} before step 1. Edit it: the training re-runs.")


def _table_header(d: _Training, cols: Sequence[tuple[str, str, str]]) -> None:
    """The table's two header rows: each group of columns named once, then every column."""
    g = d.g
    g.text(1, TABLE_ROW, "Step")
    group = ""
    for leaf, header, grp in cols:
        if grp != group:
            g.text(d.col[leaf], TABLE_ROW - 1, grp, "label")
            group = grp
        g.text(d.col[leaf], TABLE_ROW, header)


def _step_rows(d: _Training, steps: int) -> None:
    """Every step's row, each written resolved from step 1's or step 2's templates
    (``grid.StepRow``): step k's number, then its formulas."""
    columns = {"number": 1, **d.col}
    first = StepRow(d.g, [("step1.", columns)], _step_templates(_StepRow(d, 1, [])))
    rows = [("step2.", columns), ("step1.", columns)]
    later = StepRow(d.g, rows, _step_templates(_StepRow(d, 2, []))) if steps > 1 else first
    for k in range(1, steps + 1):
        row, s = TABLE_ROW + k, f"step{k}."
        d.g.value(1, row, s + "number", float(k), None)
        # Two explained rows are enough; thousands of notes slow the file.
        (first if k == 1 else later).write(s, (row, row - 1), k <= 2)


def _step_templates(r: _StepRow) -> list[tuple[str, str, str | None]]:
    """One step's templates: its parameters, the forward pass and loss, backpropagation, the
    update."""
    d, k = r.d, r.k
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
    return r.made


def forward_cells(r: PassRow) -> None:
    """A row's forward pass, layer by layer, then the errors and the loss."""
    d, s = r.d, r.s
    for layer in range(1, d.depth + 1):
        for j in range(1, d.sizes[layer] + 1):
            n = neuron(layer, j)
            terms = [
                f"{r.out_of(layer, i)}*{r.param(weight(layer, j, i))}"
                for i in range(1, d.sizes[layer - 1] + 1)
            ]
            r.put(
                f"{n}.net",
                "=" + "+".join(terms) + f"+{r.param(bias(layer, j))}",
                "Net = Σ input * weight + bias" + r.weights_note + ".",
            )
            if layer == d.depth and d.fx.softmax:
                r.put(
                    f"{n}.output",
                    f"=EXP({{{s}{n}.net}}-{{{s}softmax.max}})/{{{s}softmax.sum}}",
                    "Output = softmax: EXP(net - max net) / Σ EXP(net - max net).",
                )
                continue
            act = (
                (d.fx.out_act, d.fx.output) if layer == d.depth else (d.fx.act_out, d.fx.activation)
            )
            r.put(
                f"{n}.output",
                "=" + act[0].replace("{net}", f"{{{s}{n}.net}}"),
                f"Output = {act[1]}(net).",
            )
    outputs = [neuron(d.depth, j) for j in range(1, d.sizes[-1] + 1)]
    if d.fx.softmax:
        nets = [f"{{{s}{n}.net}}" for n in outputs]
        r.put("softmax.max", f"=MAX({','.join(nets)})", SOFTMAX_NOTE)
        r.put(
            "softmax.sum",
            "=" + "+".join(f"EXP({z}-{{{s}softmax.max}})" for z in nets),
            "Σ EXP(net - max net): between 1 and the number of outputs.",
        )
    errors = []
    for j, n in enumerate(outputs, start=1):
        r.put(f"{n}.error", f"={{{s}{n}.output}}-{r.target(j)}", "Error = output - target.")
        errors.append(d.fx.loss_of(f"{{{s}{n}.error}}", f"{{{s}{n}.output}}", r.target(j)))
    if d.fx.softmax:
        dot = "+".join(f"{r.target(j)}*{z}" for j, z in enumerate(nets, start=1))
        errors = [f"{{{s}softmax.max}}+LN({{{s}softmax.sum}})-({dot})"]
    r.put("loss", "=" + "+".join(errors), f"The {d.fx.loss} loss of every output, added.")


def backward_cells(r: PassRow) -> None:
    """A row's backpropagation, from the loss back to every weight and bias."""
    d, s = r.d, r.s
    for layer in range(d.depth, 0, -1):
        for j in range(1, d.sizes[layer] + 1):
            n = neuron(layer, j)
            if layer == d.depth and d.fx.softmax:
                r.put(
                    f"global.{n}.net",
                    f"={{{s}{n}.error}}",
                    "d loss / d net = output - target: softmax and cross-entropy together.",
                )
                continue
            if layer == d.depth:
                r.put(
                    f"global.{n}.output",
                    "=" + d.fx.slope_of(f"{{{s}{n}.error}}", f"{{{s}{n}.output}}"),
                    "d loss / d output: the loss's slope at this output.",
                )
            else:
                nxt = [
                    f"{r.param(weight(layer + 1, m, j))}*{{{s}global.{neuron(layer + 1, m)}.net}}"
                    for m in range(1, d.sizes[layer + 1] + 1)
                ]
                r.put(
                    f"global.{n}.output",
                    "=" + "+".join(nxt),
                    f"d loss / d output: Σ over layer {layer + 1} of weight * d loss / d net.",
                )
            slope = (d.fx.out_slope if layer == d.depth else d.fx.act_slope).replace(
                "{net}", f"{{{s}{n}.net}}"
            )
            r.put(
                f"local.{n}.net",
                "=" + slope.replace("{output}", f"{{{s}{n}.output}}"),
                "d output / d net.",
            )
            r.put(
                f"global.{n}.net",
                f"={{{s}local.{n}.net}}*{{{s}global.{n}.output}}",
                "d loss / d net = (d output / d net) * (d loss / d output).",
            )
    for name, layer, j in learnable(d.sizes):
        d_net = f"{{{s}global.{neuron(layer, j)}.net}}"
        if name.startswith("w"):
            i = int(name.rsplit("_", 1)[1])
            r.put(f"global.{name}", f"={r.out_of(layer, i)}*{d_net}", "d loss / d weight.")
        else:
            r.put(f"global.{name}", f"={d_net}", "d loss / d bias = d loss / d net.")


def _loss_chart(col: Mapping[str, int], steps: int) -> ChartSpec:
    """The loss over the steps, above the table."""
    first, last = TABLE_ROW + 1, TABLE_ROW + steps
    return ChartSpec(
        title="Loss over the training steps",
        series=(
            SeriesSpec(
                "Loss",
                x=f"{at(1, first)}:{at(1, last)}",
                y=f"{at(col['loss'], first)}:{at(col['loss'], last)}",
            ),
        ),
        anchor=at(2, PARAMS_ROW - 2),  # the empty row between the data and the start values
        own_row=True,
        x_title="Step",
        x_format="0",
        y_title="Loss",
    )


def _step(
    sizes: tuple[int, ...], params: Mapping[str, float], settings: Mapping[str, str]
) -> dict[str, float]:
    """One step of the reference network: forward, backward, and the updated parameters."""
    net = Network(
        sizes, params, settings.get("activation", "tanh"), settings.get("loss", "half-squared")
    )
    values = net.row()
    rate = params["learning_rate"]
    for name, _, _ in learnable(sizes):
        values[name] = params[name]
        values[f"new.{name}"] = params[name] - rate * values[f"global.{name}"]
    return values


def _growth(
    sizes: tuple[int, ...], params: Mapping[str, float], settings: Mapping[str, str]
) -> float:
    """How much one step can enlarge an error in the parameters: the update map's 2-norm.

    As in ``sheetgen.layouts.training._growth``, with the Jacobian of ``p -> new p`` (one column per
    weight and bias) estimated by central differences and its spectral norm taken exactly.
    """
    import numpy as np  # here, not at the top: building a sheet never needs it

    def norm(columns: list[list[float]]) -> float:
        jacobian = np.array(columns).T
        if not np.all(np.isfinite(jacobian)):
            return 1.0
        return float(np.linalg.norm(jacobian, 2))

    names = [name for name, _, _ in learnable(sizes)]
    return update_norm(lambda q: _step(sizes, q, settings), params, names, norm)


def step_scales(
    sizes: tuple[int, ...], params: Mapping[str, float], values: Mapping[str, float]
) -> tuple[float, float]:
    """``sheetgen.layouts.network.network_model``'s value and loss scales for one step."""
    depth = len(sizes) - 1
    sums = [
        sum(
            abs(values[f"{neuron(layer, j)}.input{i}"] * params[weight(layer, j, i)])
            for i in range(1, sizes[layer - 1] + 1)
        )
        + abs(params[bias(layer, j)])
        for layer in range(1, depth + 1)
        for j in range(1, sizes[layer] + 1)
    ]
    scale = max(1.0, *(abs(v) for v in params.values()), *sums) * depth
    errors = [abs(values[f"{neuron(depth, j)}.error"]) for j in range(1, sizes[-1] + 1)]
    loss_scale = max(
        abs(values["loss"]),
        sum(
            e * (abs(values[f"{neuron(depth, j)}.output"]) + abs(params[target_name(j)]))
            for j, e in enumerate(errors, start=1)
        ),
        sum(errors) * scale,
    )
    return scale, loss_scale


def network_training_model(params: Mapping[str, float], settings: Mapping[str, str]) -> Reference:
    """Train the reference network step by step; tolerances grow with the chain of steps.

    Every step is ``sheetgen.maths.network.Network``'s forward pass and backpropagation for that
    step's parameters, then ``p - learning rate * gradient``. Tolerances: the network sheet's
    scales (largest over the steps), multiplied as in
    ``sheetgen.layouts.training.training_model`` by ``A_{k+1} = 1 + g_k A_k``, ``g_k`` the
    update map's norm at step k (see ``_growth``).
    """
    sizes = parse_layers(settings["layers"])
    steps = parse_steps(settings.get("steps", "50"))
    if settings.get("optimizer", "sgd") != "sgd":
        return _optimized_model(sizes, params, settings, steps)
    softmax = settings.get("output") == "softmax"
    cols = tuple(leaf for leaf, _, _ in columns(sizes, SGD, softmax))
    row = ("number", *cols)  # a step's numbers in the reference, in the sheet's order
    current = dict(params)
    values = Steps(params)
    starts: list[dict[str, float]] = []  # each step's parameters
    scale, loss_scale = 1.0, 0.0
    for k in range(1, steps + 1):
        step = _step(sizes, current, settings)
        starts.append(current)
        if all(map(math.isfinite, step.values())):
            s_k, l_k = step_scales(sizes, current, step)
            scale, loss_scale = max(scale, s_k), max(loss_scale, l_k)
        values.add(row, [float(k), *(step[leaf] for leaf in cols)])
        current = current | {name: step[f"new.{name}"] for name, _, _ in learnable(sizes)}

    def amplification() -> Stepwise:  # for tolerances only: the builder never asks
        growths = (_growth(sizes, start, settings) for start in starts)
        return Stepwise(cols, amplified(growths), values.heads)

    reference = Reference(values, scale, loss_scale, 1.0, amplification)
    return classification(reference, sizes, settings)


def classification(
    reference: Reference,
    sizes: tuple[int, ...],
    settings: Mapping[str, str],
    passes: Callable[[int], Sequence[str]] | None = None,
) -> Reference:
    """A run with one sigmoid output and binary cross-entropy: each step's passes (``passes``,
    see ``sheetgen.maths.models.cross_entropy_steps``) conditioned as the network sheet's; a
    softmax is stable."""
    if settings.get("output") != "sigmoid" or settings.get("loss") != CROSS_ENTROPY:
        return reference
    n = neuron(len(sizes) - 1, 1)
    slopes = (f"global.{n}.output",)
    return cross_entropy_steps(
        reference, f"{n}.output", "target1", slopes, f"local.{n}.net", passes
    )


def _optimized_model(
    sizes: tuple[int, ...], params: Mapping[str, float], settings: Mapping[str, str], steps: int
) -> Reference:
    """The network trained by momentum, RMSProp or Adam (``sheetgen.layouts.optimized``), with
    the network sheet's scales."""
    names = [name for name, _, _ in learnable(sizes)]

    activation, loss = settings.get("activation", "tanh"), settings.get("loss", "half-squared")

    def row(current: Mapping[str, float]) -> dict[str, float]:
        return Network(sizes, current, activation, loss).row()

    def scales(current: Mapping[str, float], r: Mapping[str, float]) -> tuple[float, float]:
        if not all(map(math.isfinite, r.values())):
            return 1.0, 0.0
        return step_scales(sizes, current, r)

    leaves = [
        leaf
        for leaf, _, group in columns(sizes, SGD, settings.get("output") == "softmax")
        if group in ("Forward", "Backpropagation", "Gradients")
    ]
    reference = optimized_model(params, settings["optimizer"], names, steps, row, leaves, scales)
    return classification(reference, sizes, settings)
