"""The reference neuron: the article's maths in plain Python, independent of any spreadsheet.

Like the article's small program, it knows nothing of cells or formulas. Each forward step
sits beside its local derivative (as in micrograd), and every number the workbook shows is
produced here under a *quantity name* (``"net"``, ``"global.weight"``,
``"nudge.bias.loss"``...). The templates in ``templates/`` name, for every cell, the quantity
it must equal; this module never sees those templates.

Quantity names:

- ``input weight bias target tiny``: the parameters.
- ``net output error loss``: the forward pass.
- ``local.input local.weight local.bias``: d net / d input, weight, bias.
- ``local.net``: d output / d net; ``local.output``: d loss / d output.
- ``global.X``: d loss / d X for X in output, net, bias, weight, input (the chain rule).
- ``nudge.X.Y``: quantity Y of the forward pass re-run with X increased by ``tiny``
  (X in output, net, bias, weight, input), and ``nudge.X.gradient``, the "faux" gradient
  ``(nudge.X.loss - loss) / tiny`` (or the central difference, see ``difference``).
- ``sweep.{i}.k weight loss tangent secant``: the data of the article sheet's chart, given a
  weight ``step`` (:meth:`Neuron.sweep`): the loss as the weight moves to ``weight + k * step``
  (k from -5 to 5), the tangent at the current weight (slope ``global.weight``) and the secant
  whose slope is the faux gradient ``nudge.weight.gradient``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from .losses import LOSSES as LOSSES  # the losses live in .losses; kept importable here
from .losses import Loss as Loss
from .optimizers import STATE_NAMES

Kind = Literal["parameter", "computed", "faux"]
"""How a quantity is produced, which decides how closely a cell must match it: a
``parameter`` is read from the sheet itself, a ``computed`` quantity is a few floating-point
operations away from the parameters, a ``faux`` gradient divides a difference of two losses
by ``tiny`` (and so magnifies their rounding errors by 1/tiny)."""

PARAMETERS = ("input", "weight", "bias", "target", "tiny")


@dataclass(frozen=True)
class Activation:
    """An activation function with its derivative written in terms of net and output."""

    name: str
    forward: Callable[[float], float]
    derivative: Callable[[float, float], float]  # (net, output) -> d output / d net


def _sigmoid(x: float) -> float:
    # Two branches so that exp never overflows for large |x|.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


ACTIVATIONS: Mapping[str, Activation] = {
    "tanh": Activation("tanh", math.tanh, lambda net, out: 1.0 - out * out),
    "sigmoid": Activation("sigmoid", _sigmoid, lambda net, out: out * (1.0 - out)),
    "relu": Activation("relu", lambda x: max(0.0, x), lambda net, out: 1.0 if net > 0 else 0.0),
    "linear": Activation("linear", lambda x: x, lambda net, out: 1.0),
}


NUDGEABLE = ("output", "net", "bias", "weight", "input")
"""What the faux rows nudge, in the article's row order (rows 6 to 10)."""

Difference = Literal["forward", "central"]
DIFFERENCES: tuple[Difference, ...] = get_args(Difference)

SWEEP = tuple(range(-5, 6))
"""The chart's weights are ``weight + k * step`` for these k; row i of its table has SWEEP[i]."""


@dataclass(frozen=True)
class Neuron:
    """One neuron: ``output = activation(input * weight + bias)``, ``loss = L(output - target)``."""

    input: float = 0.4
    weight: float = 0.5
    bias: float = 0.6
    target: float = 0.7
    activation: str = "tanh"
    loss: str = "half-squared"

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}")
        needs = LOSSES[self.loss].output_activation
        if needs not in (None, self.activation):
            raise ValueError(f"the {self.loss} loss needs a {needs} output, not {self.activation}")

    def forward(self, **nudged: float) -> dict[str, float]:
        """Run the forward pass; a keyword overrides that node (used for the faux rows).

        Overriding ``net`` or ``output`` skips the steps before it, exactly as the
        article's rows 6 and 7 start mid-way with ``=F2+Tiny`` and ``=E2+Tiny``.
        """
        act, loss = ACTIVATIONS[self.activation], LOSSES[self.loss]
        x = nudged.get("input", self.input)
        w = nudged.get("weight", self.weight)
        b = nudged.get("bias", self.bias)
        net = nudged.get("net", x * w + b)
        out = nudged.get("output", act.forward(net))
        err = out - self.target
        return {
            "input": x,
            "weight": w,
            "bias": b,
            "net": net,
            "output": out,
            "target": self.target,
            "error": err,
            "loss": loss.forward(out, self.target),
        }

    def gradients(self) -> dict[str, float]:
        """Local derivatives of each step, then the chain rule from the loss backwards."""
        act, loss = ACTIVATIONS[self.activation], LOSSES[self.loss]
        f = self.forward()
        local = {
            "local.input": self.weight,  # d net / d input
            "local.weight": self.input,  # d net / d weight
            "local.bias": 1.0,  # d net / d bias
            "local.net": act.derivative(f["net"], f["output"]),  # d output / d net
            "local.output": loss.derivative(f["output"], self.target),  # d loss / d output
        }
        d_output = local["local.output"]
        d_net = local["local.net"] * d_output
        return local | {
            "global.output": d_output,
            "global.net": d_net,
            "global.bias": local["local.bias"] * d_net,
            "global.weight": local["local.weight"] * d_net,
            "global.input": local["local.input"] * d_net,
        }

    def faux_gradients(self, tiny: float, difference: Difference = "forward") -> dict[str, float]:
        """Finite-difference ("faux") gradients: every nudged forward pass, and its slope."""
        base = self.forward()
        out: dict[str, float] = {}
        for name in NUDGEABLE:
            out |= nudged(self.forward, base, name, tiny, difference)
        return out

    def quantities(
        self, tiny: float = 0.0001, difference: Difference = "forward"
    ) -> dict[str, float]:
        """Every named quantity the workbook shows, as one flat mapping."""
        return flat_quantities(self, tiny, difference)

    def sweep(
        self, step: float, tiny: float = 0.0001, difference: Difference = "forward"
    ) -> dict[str, float]:
        """The chart's data: the loss as the weight moves by ``k * step`` around its value, and
        the two straight lines through the current point whose slopes are the real gradient
        (the tangent) and the faux one (the secant), each evaluated at those weights."""
        loss = self.forward()["loss"]
        slope = self.gradients()["global.weight"]
        faux = self.faux_gradients(tiny, difference)["nudge.weight.gradient"]
        out: dict[str, float] = {}
        for i, k in enumerate(SWEEP):
            w = self.weight + k * step
            moved = w - self.weight
            out |= {
                f"sweep.{i}.k": float(k),
                f"sweep.{i}.weight": w,
                f"sweep.{i}.loss": self.forward(weight=w)["loss"],
                f"sweep.{i}.tangent": loss + slope * moved,
                f"sweep.{i}.secant": loss + faux * moved,
            }
        return out


_NUMBERED_PARAMETER = re.compile(r"(input|weight)\d+")  # a neuron with N inputs (neuron_n)


def kind_of(quantity: str) -> Kind:
    """Classify a quantity name for the tolerance it deserves (see ``sheetgen.check.verify``)."""
    if quantity in PARAMETERS or (
        quantity.startswith(("input", "weight")) and _NUMBERED_PARAMETER.fullmatch(quantity)
    ):
        return "parameter"
    if quantity.startswith("nudge.") and quantity.endswith((".gradient", ".distance")):
        return "faux"  # a distance |faux - real| carries the faux gradient's rounding
    return "computed"


def article_report(neuron: Neuron) -> str:
    """The two lines the article's program prints, to four decimals, exactly as it does."""
    g = neuron.gradients()
    return f"Weight gradient: {g['global.weight']:.4f}\nBias gradient: {g['global.bias']:.4f}"


_LOCAL = {
    "input": "d net/d input",
    "weight": "d net/d weight",
    "bias": "d net/d bias",
    "net": "d output/d net",
    "output": "d loss/d output",
    "softmax": "d loss/d net (softmax with cross-entropy)",
}
_SOFTMAX = {"max": "max net (softmax)", "sum": "Σ EXP(net - max net) (softmax)"}


_STEP = re.compile(r"step(\d+)\.(.+)")
_EXAMPLE = re.compile(r"example(\d+)\.(.+)")
_NETWORK_NAME = re.compile(r"\b(?:w(\d+)_(\d+)_(\d+)|b(\d+)_(\d+)|n(\d+)_(\d+)|x(\d+))\b")


def _plain_names(text: str) -> str:
    """A network's names in words: ``w1_2_1`` -> ``w(layer 1, 1→2)``, ``n2_1`` ->
    ``neuron(layer 2, 1)``, ``b1_2`` -> ``bias(layer 1, 2)``, ``x1`` -> ``input 1``."""
    parts = _NETWORK_TOKEN.split(text)  # text, name, text, ...: the names every other piece
    parts[1::2] = map(_name_in_words, parts[1::2])
    return "".join(parts)


_NETWORK_TOKEN = re.compile(r"\b(w\d+_\d+_\d+|b\d+_\d+|n\d+_\d+|x\d+)\b")
"""What ``_NETWORK_NAME`` matches, as one group (for ``split``)."""


@functools.lru_cache(maxsize=8192)
def _name_in_words(name: str) -> str:
    """One name of ``_plain_names`` in words (a network's names recur in many quantities)."""
    found = _NETWORK_NAME.fullmatch(name)
    assert found is not None
    w_l, w_j, w_i, b_l, b_j, n_l, n_j, x = found.groups()
    if w_l:
        return f"w(layer {w_l}, {w_i}→{w_j})"
    if b_l:
        return f"bias(layer {b_l}, {b_j})"
    if n_l:
        return f"neuron(layer {n_l}, {n_j})"
    return f"input {x}"


def describe(quantity: str) -> str:
    """A short human name for a quantity, for reports: ``global.weight`` -> ``d loss/d weight``,
    ``step3.global.w1_2_1`` -> ``step 3: d loss/d w(layer 1, 1→2)``,
    ``step1.example2.target1`` -> ``step 1: example 2's target 1``."""
    if step := _STEP.fullmatch(quantity):
        number, rest = step.groups()
        return f"step {number}" if rest == "number" else f"step {number}: {_in_a_step(rest)}"
    if _EXAMPLE.fullmatch(quantity):  # outside a step: a data set's own table
        return f"{_in_step(quantity)} in the data table"
    return _in_step(quantity)


def describe_in(quantity: str, context: str) -> str:
    """``quantity`` named in a sentence about the cell of ``context`` (another quantity): its
    step said after it, and only when it is not ``context``'s own (``step1.example2.target1``
    about ``step1.example2.n2_1.error`` -> ``example 2's target 1``; ``step1.new.w1_1_1``
    about a cell of step 2 -> ``new w(layer 1, 1→1) of step 1``)."""
    step = _STEP.fullmatch(quantity)
    if step is None or step[2] == "number":
        return describe(quantity)
    own = _STEP.fullmatch(context)
    return _in_step(step[2]) + ("" if own and own[1] == step[1] else f" of step {step[1]}")


@functools.lru_cache(maxsize=4096)
def _in_a_step(quantity: str) -> str:
    """``_in_step``, remembered: every step of a training run has the same cells (200 steps
    of 150 cells are 150 descriptions, not 30,000)."""
    return _in_step(quantity)


def _in_step(quantity: str) -> str:
    """A quantity of one step described without its step (what ``describe`` says after
    ``step N:``): ``new.w1_1_1`` -> ``new w(layer 1, 1→1)``, ``example2.target1`` ->
    ``example 2's target 1``."""
    if example := _EXAMPLE.fullmatch(quantity):
        number, rest = example.groups()
        return f"example {number}" if rest == "number" else f"example {number}'s {describe(rest)}"
    if quantity.startswith("new."):
        return f"new {_plain_names(quantity[4:])}"
    state, _, param = quantity.partition(".")
    if state in STATE_NAMES and param:
        return f"{STATE_NAMES[state]} of {_plain_names(param)}"
    if _NETWORK_NAME.search(quantity):
        return _plain_names(_describe(quantity)).replace(".", " ")
    return _describe(quantity)


def _describe(quantity: str) -> str:
    head, _, rest = quantity.partition(".")
    if head == "softmax" and rest in _SOFTMAX:
        return _SOFTMAX[rest]
    if head == "local" and "." in rest:  # a network neuron's step: local.n2_1.net
        neuron, _, leaf = rest.partition(".")
        if leaf.startswith("input"):
            return f"d net/d {leaf} of {neuron}"
        return f"{_LOCAL.get(leaf, leaf)} of {neuron}"
    if head == "local" and rest.startswith(("w", "b")) and "_" in rest:
        return f"d net/d {rest}"
    if head == "global" and "." in rest:
        neuron, _, leaf = rest.partition(".")
        return f"d loss/d {leaf} of {neuron}"
    if head == "local" and rest in _LOCAL:
        return _LOCAL[rest]
    if head == "local" and _NUMBERED_PARAMETER.fullmatch(rest):
        return f"d net/d {rest}"
    if head == "global":
        return f"d loss/d {rest}"
    if head == "nudge":
        nudged, _, leaf = rest.partition(".")
        if leaf == "gradient":
            return f"faux d loss/d {nudged}"
        if leaf == "distance":
            return f"|faux - real| d/d {nudged}"
        if leaf == "real":
            return f"real d loss/d {nudged}"
        if leaf.startswith("down."):
            return f"{leaf[5:]} ({nudged} - Tiny)"
        return f"{leaf} ({nudged} + Tiny)"
    if head.startswith("n") and "_" in head and rest:  # n2_1.output
        return f"{rest} of {head}"
    if head.startswith("target") and head[6:].isdigit():
        return f"target {head[6:]}"
    if head == "learning_rate":
        return "learning rate"
    return "Tiny" if quantity == "tiny" else quantity


def round_significant(x: float, digits: int) -> float:
    """``x`` to ``digits`` significant digits: numbers as a person would type them."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


class Sheeted(Protocol):
    """A neuron whose sheet shows a forward pass, gradients and faux gradients."""

    def forward(self) -> dict[str, float]: ...

    def gradients(self) -> dict[str, float]: ...

    def faux_gradients(self, tiny: float, difference: Difference) -> dict[str, float]: ...


def flat_quantities(model: Sheeted, tiny: float, difference: Difference) -> dict[str, float]:
    """Every named quantity ``model``'s sheet may show, as one flat mapping: the forward pass,
    Tiny, the gradients and the faux gradients (later parts win on a shared name)."""
    return (
        model.forward()
        | {"tiny": tiny}
        | model.gradients()
        | model.faux_gradients(tiny, difference)
    )


def nudged(
    forward: Callable[..., dict[str, float]],
    base: Mapping[str, float],
    name: str,
    tiny: float,
    difference: Difference,
) -> dict[str, float]:
    """The forward pass with node ``name`` nudged by Tiny (and by -Tiny for central
    differences), and the slope of the loss it gives: ``nudge.<name>.<node>``,
    ``nudge.<name>.down.<node>`` and ``nudge.<name>.gradient``. ``forward(**{name: value})`` is
    a neuron's forward pass with that node overridden; ``base`` its un-nudged values."""
    up = forward(**{name: base[name] + tiny})
    out = {f"nudge.{name}.{k}": v for k, v in up.items()}
    if difference == "forward":
        out[f"nudge.{name}.gradient"] = (up["loss"] - base["loss"]) / tiny
    else:
        down = forward(**{name: base[name] - tiny})
        out |= {f"nudge.{name}.down.{k}": v for k, v in down.items()}
        out[f"nudge.{name}.gradient"] = (up["loss"] - down["loss"]) / (2 * tiny)
    return out
