"""The training sheet: the article's neuron trained by gradient descent, one row per step.

Every row holds the parameters of that step, the forward pass, the loss, the chain rule back
to the weight and bias, and the updated parameters ``weight - learning rate * d loss / d
weight``, which the next row starts from. All of it is live formulas: change the learning
rate or a starting weight and the spreadsheet re-runs the whole training, and the loss chart
(which references the loss column) redraws.

Spec: ``training:steps=50,learning_rate=0.1,activation=tanh,loss=half-squared``;
``learning_rate`` here only sets the default of the editable cell. With ``layers=2-2-1`` the
sheet trains a network instead (``sheetgen.layouts.network_training``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..errors import UsageError
from ..maths.losses import CROSS_ENTROPY
from ..maths.models import Reference, cross_entropy_steps
from ..maths.neuron import Neuron
from ..maths.optimizers import OPTIMIZER_OPTIONS, Optimizer, default_rate, parse_optimizer
from ..maths.steps import Steps, Stepwise
from ..maths.training import amplification as amplified
from ..maths.training import parse_rate, parse_steps, update_norm
from .grid import Functions, Grid, StepRow, at, functions
from .layout import ChartSpec, Layout, SeriesSpec, generated_family
from .optimized import optimized_model, put_state, settings_inputs, state_columns

OPTIONS = ("steps", "learning_rate", "activation", "loss", *OPTIMIZER_OPTIONS)
DEFAULTS = {"input": 0.4, "target": 0.7, "weight": 0.5, "bias": 0.6, "learning_rate": 0.1}
"""The article's neuron, and a learning rate that visibly lowers the loss in 50 steps."""

FIRST_ROW = 5
COLUMNS = (
    # (quantity leaf, header)
    ("weight", "Weight"),
    ("bias", "Bias"),
    ("net", "Net"),
    ("output", "Output"),
    ("error", "Error"),
    ("loss", "Loss"),
    ("global.output", "d loss/d output"),
    ("local.net", "d output/d net"),
    ("global.net", "d loss/d net"),
    ("global.weight", "d loss/d weight"),
    ("global.bias", "d loss/d bias"),
    ("new.weight", "New weight"),
    ("new.bias", "New bias"),
)


def training_layout(options: Mapping[str, str]) -> Layout:
    """The layout for ``training:steps=N,...``: one neuron, or a network given ``layers``,
    trained on a data set given ``examples``."""
    if "examples" in options or "batch" in options:
        if "layers" not in options:
            raise UsageError("A data set trains a network: give its layers (--layers 2-2-1).")
        from .batch_training import batch_training_layout

        return batch_training_layout(options)
    if "layers" in options:
        from .network_training import network_training_layout

        return network_training_layout(options)
    return _neuron_training_layout(options)


@generated_family("training", OPTIONS)
def _neuron_training_layout(options: dict[str, str]) -> Layout:
    steps = parse_steps(options.get("steps", "50"))
    rate = parse_rate(
        options.get("learning_rate", str(default_rate(options, DEFAULTS["learning_rate"])))
    )
    if options.get("loss") == CROSS_ENTROPY:  # a probability output: a sigmoid
        from .neuron import probability_output

        options = options | {"activation": probability_output(options.get("activation"))}
    fx = functions(options)
    optimizer = parse_optimizer(options)
    activation, loss = fx.activation, fx.loss
    g = Grid()
    cols = _columns(optimizer)
    col = _parameters_and_header(g, optimizer, cols)
    _step_rows(g, col, steps, fx, optimizer)
    spec = (
        f"training:steps={steps},learning_rate={rate!r},activation={activation},loss={loss}"
        + optimizer.spec
    )
    return g.layout(
        name="training",
        title=f"Training a neuron: {steps} steps of gradient descent",
        sheet="Training",
        description="The neuron trained by gradient descent, one row per step, with a loss chart.",
        defaults=DEFAULTS | {"learning_rate": rate} | dict(optimizer.defaults),
        settings={
            "model": "training",
            "steps": str(steps),
            "activation": activation,
            "loss": loss,
        }
        | ({"optimizer": optimizer.name} if optimizer.name != "sgd" else {}),
        spec=spec,
        charts=(_loss_chart(col, steps),),
    )


def _columns(optimizer: Optimizer) -> list[tuple[str, str]]:
    """The step table's columns: gradient descent's, with the optimizer's state before the
    updates."""
    state = [(leaf, header) for leaf, header, _ in state_columns(optimizer, _PARAMS, str.title)]
    return [*COLUMNS[:-2], *state, *COLUMNS[-2:]]


_PARAMS = ("weight", "bias")
_LEAVES = tuple(leaf for leaf, _ in COLUMNS)
_ROW = ("number", *_LEAVES)  # a step's numbers in the reference, in the sheet's order


def _parameters_and_header(
    g: Grid, optimizer: Optimizer, columns: list[tuple[str, str]]
) -> dict[str, int]:
    """The editable parameters, then the table's header row; returns each column's number."""
    params = (
        ("input", "Input", "The input. Edit it: the whole training re-runs."),
        ("target", "Target", "The target the neuron learns to output."),
        ("weight", "Start weight", "The weight before step 1. Edit it: the training re-runs."),
        ("bias", "Start bias", "The bias before step 1. Edit it: the training re-runs."),
        ("learning_rate", "Learning rate", "How far each step moves against the gradient."),
    )
    g.text(1, 2, "Training:", "label")
    for c, (quantity, header, note) in enumerate(params, start=2):
        g.text(c, 1, header)
        g.input(c, 2, quantity, note)
    settings_inputs(g, optimizer, len(params) + 2, 2)
    g.text(1, FIRST_ROW - 1, "Step")
    col = {leaf: c for c, (leaf, _) in enumerate(columns, start=2)}
    for leaf, header in columns:
        g.text(col[leaf], FIRST_ROW - 1, header)
    return col


def _step_rows(
    g: Grid, col: Mapping[str, int], steps: int, fx: Functions, optimizer: Optimizer
) -> None:
    """Every step's row, each written resolved from step 1's or step 2's templates
    (``grid.StepRow``): step k's number, then its formulas."""
    columns = {"number": 1, **col}
    first = StepRow(g, [("step1.", columns)], _step_templates(1, fx, optimizer))
    rows = [("step2.", columns), ("step1.", columns)]
    later = StepRow(g, rows, _step_templates(2, fx, optimizer)) if steps > 1 else first
    for k in range(1, steps + 1):
        row, s = FIRST_ROW + k - 1, f"step{k}."
        g.value(1, row, s + "number", float(k), None)
        # A note on the first two rows is enough; a thousand copies only slow the file.
        (first if k == 1 else later).write(s, (row, row - 1), row < FIRST_ROW + 2)


def _step_templates(
    k: int, fx: Functions, optimizer: Optimizer
) -> list[tuple[str, str, str | None]]:
    """Step k's row as templates (``(leaf, template, note)``, in column order): its weight
    and bias, the forward pass, the chain rule, the update. Every step after the first is
    step 2's with its own rows (``grid.StepRow``)."""
    activation, loss = fx.activation, fx.loss
    act_out, act_slope = fx.act_out, fx.act_slope
    s = f"step{k}."
    made: list[tuple[str, str, str | None]] = []

    def put(leaf: str, formula: str, note: str | None = None) -> None:
        made.append((leaf, formula.replace("{.", "{" + s), note))

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
        return made
    for p in _PARAMS:
        put_state(put, optimizer, k, p)
    return made


def _loss_chart(col: Mapping[str, int], steps: int) -> ChartSpec:
    """The loss over the steps, above the table."""
    last = FIRST_ROW + steps - 1
    return ChartSpec(
        title="Loss over the training steps",
        series=(
            SeriesSpec(
                "Loss",
                x=f"{at(1, FIRST_ROW)}:{at(1, last)}",
                y=f"{at(col['loss'], FIRST_ROW)}:{at(col['loss'], last)}",
            ),
        ),
        anchor=at(2, FIRST_ROW - 2),  # the empty row between the settings and the table
        own_row=True,
        x_title="Step",
        x_format="0",
        y_title="Loss",
    )


def _step(
    p: Mapping[str, float], w: float, b: float, settings: Mapping[str, str]
) -> dict[str, float]:
    neuron = Neuron(
        p["input"],
        w,
        b,
        p["target"],
        settings.get("activation", "tanh"),
        settings.get("loss", "half-squared"),
    )
    values = neuron.forward() | neuron.gradients()
    rate = p["learning_rate"]
    values["new.weight"] = w - rate * values["global.weight"]
    values["new.bias"] = b - rate * values["global.bias"]
    return values


def _growth(p: Mapping[str, float], w: float, b: float, settings: Mapping[str, str]) -> float:
    """How much one step can enlarge an error in (weight, bias): the update map's 2-norm.

    The Jacobian of ``(w, b) -> (new w, new b)`` is estimated by central differences of the
    update itself (``sheetgen.maths.training.update_norm``), and its spectral norm taken exactly
    (2 x 2). It may be below 1: near the minimum gradient descent contracts, and old rounding
    errors fade.
    """

    def step(q: Mapping[str, float]) -> dict[str, float]:
        return _step(p, q["weight"], q["bias"], settings)

    return update_norm(step, {"weight": w, "bias": b}, ("weight", "bias"), _norm_2x2)


def _norm_2x2(columns: list[list[float]]) -> float:
    """The spectral norm of a 2 x 2 matrix given by its columns, in closed form."""
    (a, c), (b_, d) = columns  # J = [[a, b_], [c, d]]
    frob = a * a + b_ * b_ + c * c + d * d
    det = a * d - b_ * c
    largest = (frob + math.sqrt(max(0.0, frob * frob - 4 * det * det))) / 2
    return math.sqrt(largest) if math.isfinite(largest) else 1.0


def training_model(params: Mapping[str, float], settings: Mapping[str, str]) -> Reference:
    """Train the reference neuron step by step; tolerances grow with the chain of steps.

    Each step's cells round afresh (an ulp or so of tanh, products, sums), and an error already
    in the weight and bias is carried into the next step, enlarged at most by the update map's
    norm ``g_k`` (see ``_growth``). So the error bound of step k's cells is ``A_k`` times one
    step's, with ``A_1 = 1`` and ``A_{k+1} = 1 + g_k A_k``: linear in k while the updates
    neither expand nor contract, bounded once they contract. The 1e-12 relative and 64-ulp
    allowances of one step (``sheetgen.check.verify``) are multiplied by it.
    Each row's cells get ``A_{k+1}`` because the row ends with the next step's parameters.
    A layout with ``layers`` trains a network (``sheetgen.layouts.network_training``) instead.
    """
    if "layers" in settings:
        from .network_training import network_training_model

        return network_training_model(params, settings)
    steps = parse_steps(settings.get("steps", "50"))
    optimizer = settings.get("optimizer", "sgd")
    if optimizer != "sgd":
        return _optimized_model(params, settings, optimizer, steps)
    w, b = params["weight"], params["bias"]
    values = Steps(params)
    starts: list[tuple[float, float]] = []  # each step's weight and bias
    scale = max(1.0, *(abs(v) for v in params.values()))
    for k in range(1, steps + 1):
        step = _step(params, w, b, settings)
        starts.append((w, b))
        values.add(_ROW, [float(k), *(step[leaf] for leaf in _LEAVES)])
        scale = max(scale, abs(w), abs(b), abs(step["net"]))
        w, b = step["new.weight"], step["new.bias"]
    loss_scale = max(abs(v) for _, v in values.ending((".loss",))) if steps else 0.0

    def amplification() -> Stepwise:  # for tolerances only: the builder never asks
        growths = (_growth(params, w, b, settings) for w, b in starts)
        return Stepwise(_LEAVES, amplified(growths), values.heads)

    return _classification(Reference(values, scale, loss_scale, 1.0, amplification), settings)


def _classification(reference: Reference, settings: Mapping[str, str]) -> Reference:
    """A cross-entropy run's tolerances: each step's as the neuron sheet's
    (``sheetgen.maths.models.cross_entropy_steps``)."""
    if settings.get("loss") != CROSS_ENTROPY:
        return reference
    return cross_entropy_steps(reference, "output", "target", ("global.output",), "local.net")


def _optimized_model(
    params: Mapping[str, float], settings: Mapping[str, str], optimizer: str, steps: int
) -> Reference:
    """The neuron trained by momentum, RMSProp or Adam (``sheetgen.layouts.optimized``), with
    the scales of :func:`training_model`."""

    def row(current: Mapping[str, float]) -> dict[str, float]:
        neuron = Neuron(
            current["input"],
            current["weight"],
            current["bias"],
            current["target"],
            settings.get("activation", "tanh"),
            settings.get("loss", "half-squared"),
        )
        return neuron.forward() | neuron.gradients()

    def scales(current: Mapping[str, float], r: Mapping[str, float]) -> tuple[float, float]:
        magnitudes = (abs(current["weight"]), abs(current["bias"]), abs(r["net"]))
        return max(1.0, *start, *magnitudes), abs(r["loss"])

    start = [abs(v) for v in params.values()]
    leaves = [leaf for leaf, _ in COLUMNS if leaf not in _PARAMS and not leaf.startswith("new.")]
    reference = optimized_model(params, optimizer, _PARAMS, steps, row, leaves, scales)
    return _classification(reference, settings)


def usage() -> tuple[str, str]:
    """The family's spec pattern and one-line description, for ``sheetgen templates``."""
    return (
        "training:[layers=2-2-1,]steps=50,learning_rate=0.1,activation=tanh,"
        "loss=half-squared|squared|cross-entropy"
        "[,optimizer=sgd|momentum|rmsprop|adam,beta=0.9,beta1=0.9,beta2=0.999,epsilon=1e-08]"
        "[,examples=4,batch=2]",
        "The article's neuron (or, with layers, a network) trained by gradient descent (or "
        "momentum, RMSProp, Adam: their state in labelled columns), one row per step, with a "
        "loss chart; cross-entropy trains a classifier (a sigmoid or softmax output); a "
        "network's sheet may be at most 1,000 columns wide. With examples, the network trains "
        "on an editable data table (build --data xor or a CSV), one block of rows per step: "
        "each example's pass, then the batch's mean gradients and the update; with "
        "cross-entropy a classifier of the data (build --data xor --loss cross-entropy).",
    )
