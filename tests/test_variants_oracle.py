"""The variants' reference against an oracle that shares no code with it.

The oracle below is the neuron written again in mpmath at 50 digits: its own activations and
losses, derivatives by mpmath's high-precision numerical differentiation of the loss as a
function of each parameter (never a hand-derived formula), and faux gradients as exact
differences of exact losses at the very points (doubles) a spreadsheet nudges to. Then the
only gap left between oracle and reference is the reference's floating-point rounding.
"""

from __future__ import annotations

import itertools
import math
import random
import sys
from collections.abc import Callable

import mpmath as mp
import pytest

from sheetgen.maths.neuron import Neuron
from sheetgen.maths.neuron_n import MultiNeuron

mp.mp.dps = 50
EPS = sys.float_info.epsilon
ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")
LOSSES = ("half-squared", "squared")
DIFFERENCES = ("forward", "central")
SIZES = (1, 2, 5)
VARIANTS = list(itertools.product(ACTIVATIONS, LOSSES, DIFFERENCES, SIZES))

ORACLE_ACT: dict[str, Callable[[mp.mpf], mp.mpf]] = {
    "tanh": mp.tanh,
    "sigmoid": lambda x: 1 / (1 + mp.exp(-x)),
    "relu": lambda x: x if x > 0 else mp.mpf(0),
    "linear": lambda x: x,
}
ORACLE_LOSS: dict[str, Callable[[mp.mpf], mp.mpf]] = {
    "half-squared": lambda e: e * e / 2,
    "squared": lambda e: e * e,
}


class Oracle:
    """The neuron in mpmath, parameters by the sheet's names."""

    def __init__(self, params: dict[str, float], activation: str, loss: str) -> None:
        self.p = {k: mp.mpf(v) for k, v in params.items()}
        self.n = 1 if "input" in params else sum(k.startswith("input") for k in params)
        self.sx = [""] if self.n == 1 else [str(k) for k in range(1, self.n + 1)]
        self.act, self.loss = ORACLE_ACT[activation], ORACLE_LOSS[loss]

    def net(self, p: dict[str, mp.mpf]) -> mp.mpf:
        return mp.fsum(p[f"input{s}"] * p[f"weight{s}"] for s in self.sx) + p["bias"]

    def loss_from_output(self, out: mp.mpf) -> mp.mpf:
        return self.loss(out - self.p["target"])

    def loss_from_net(self, net: mp.mpf) -> mp.mpf:
        return self.loss_from_output(self.act(net))

    def loss_at(self, name: str, value: mp.mpf) -> mp.mpf:
        """The loss with one node (a parameter, the net or the output) set to ``value``."""
        if name == "output":
            return self.loss_from_output(value)
        if name == "net":
            return self.loss_from_net(value)
        return self.loss_from_net(self.net(self.p | {name: value}))

    def value(self, name: str) -> mp.mpf:
        if name == "net":
            return self.net(self.p)
        if name == "output":
            return self.act(self.net(self.p))
        return self.p[name]

    def gradient(self, name: str) -> mp.mpf:
        """d loss / d name, by mpmath's numerical differentiation at 50 digits."""
        return mp.diff(lambda v: self.loss_at(name, v), self.value(name))

    def faux(self, name: str, tiny: float, difference: str) -> mp.mpf:
        """The faux gradient as a sheet defines it, nudging to the doubles a sheet nudges to."""
        x = float(self.value(name)) if name not in self.p else float(self.p[name])
        up = self.loss_at(name, mp.mpf(x + tiny))
        if difference == "forward":
            return (up - self.loss_at(name, mp.mpf(x))) / tiny
        return (up - self.loss_at(name, mp.mpf(x - tiny))) / (2 * tiny)

    def nudgeable(self) -> list[str]:
        return [
            "output",
            "net",
            "bias",
            *(f"weight{s}" for s in self.sx),
            *(f"input{s}" for s in self.sx),
        ]


def default_params(n: int) -> dict[str, float]:
    """The article's values for one input, the series' first article's for more."""
    if n == 1:
        return {"input": 0.4, "weight": 0.5, "bias": 0.6, "target": 0.7}
    sx = [str(k) for k in range(1, n + 1)]
    first_inputs, first_weights = (0.9, 0.8), (0.7, 0.6)
    params = {f"input{s}": first_inputs[i % 2] for i, s in enumerate(sx)}
    params |= {f"weight{s}": first_weights[i % 2] for i, s in enumerate(sx)}
    return params | {"bias": 0.5, "target": 0.8}


def random_params(n: int, seed: int) -> dict[str, float]:
    """Parameters in [-1.5, 1.5], the net kept clear of ReLU's kink (a faux gradient
    straddling it is not a derivative at all)."""
    rng = random.Random(seed)
    while True:
        params = default_params(n)
        params = {k: round(rng.uniform(-1.5, 1.5), 6) for k in params}
        net = sum(params[k] * params["weight" + k[5:]] for k in params if k.startswith("input"))
        if abs(net + params["bias"]) > 0.01:
            return params


def neuron(params: dict[str, float], activation: str, loss: str) -> MultiNeuron:
    return MultiNeuron.from_parameters(params, activation, loss)


def close(found: float, exact: mp.mpf, rel: float, absolute: float = 0.0) -> bool:
    return bool(abs(mp.mpf(found) - exact) <= rel * abs(exact) + absolute)


@pytest.mark.parametrize("seed", [None, 1, 2])
@pytest.mark.parametrize(("activation", "loss", "difference", "n"), VARIANTS)
def test_reference_matches_oracle(
    activation: str, loss: str, difference: str, n: int, seed: int | None
) -> None:
    params = default_params(n) if seed is None else random_params(n, seed + 10 * n)
    tiny = 1e-4
    q = neuron(params, activation, loss).quantities(tiny, difference)  # type: ignore[arg-type]
    o = Oracle(params, activation, loss)
    net = o.net(o.p)
    out = o.act(net)
    err = out - o.p["target"]
    scale = max(1.0, *(abs(v) for v in params.values()))
    computed_abs = 64 * EPS * scale * n  # rounding of a few operations on numbers ~ scale
    # Forward pass.
    for name, exact in {"net": net, "output": out, "error": err, "loss": o.loss(err)}.items():
        assert close(q[name], exact, 1e-13, computed_abs), name
    # Local gradients: each step's derivative, numerically, of that step alone.
    for s in o.sx:
        x, w = f"input{s}", f"weight{s}"
        d_input = mp.diff(lambda v, x=x: o.net(o.p | {x: v}), o.p[x])
        d_weight = mp.diff(lambda v, w=w: o.net(o.p | {w: v}), o.p[w])
        assert close(q[f"local.{x}"], d_input, 1e-13, computed_abs)
        assert close(q[f"local.{w}"], d_weight, 1e-13, computed_abs)
    assert close(q["local.bias"], mp.diff(lambda v: o.net(o.p | {"bias": v}), o.p["bias"]), 1e-13)
    assert close(q["local.net"], mp.diff(o.act, net), 1e-13, computed_abs)
    assert close(q["local.output"], mp.diff(o.loss_from_output, out), 1e-13, computed_abs)
    # Global gradients and faux gradients, for everything the faux rows nudge.
    lam = max(abs(o.loss(err)), abs(err) * (abs(out) + abs(o.p["target"]) + abs(net)))
    faux_abs = 64 * EPS * float(lam) / tiny
    for name in o.nudgeable():
        true = o.gradient(name)
        assert close(q[f"global.{name}"], true, 1e-12, computed_abs), name
        faux = o.faux(name, tiny, difference)
        assert close(q[f"nudge.{name}.gradient"], faux, 1e-12, faux_abs), name
        assert close(q[f"nudge.{name}.distance"], abs(faux - true), 1e-9, faux_abs + computed_abs)
        assert close(q[f"nudge.{name}.loss"], o.loss_at(name, o.value(name) + tiny), 1e-9, 1e-15)
        if difference == "central":
            down = o.loss_at(name, o.value(name) - tiny)
            assert close(q[f"nudge.{name}.down.loss"], down, 1e-9, 1e-15), name
        else:
            assert f"nudge.{name}.down.loss" not in q


@pytest.mark.parametrize(
    ("activation", "loss", "difference"), list(itertools.product(ACTIVATIONS, LOSSES, DIFFERENCES))
)
@pytest.mark.parametrize("seed", [None, 3])
def test_one_input_is_the_articles_neuron(
    activation: str, loss: str, difference: str, seed: int | None
) -> None:
    """With one input the N-input reference gives the article's Neuron every number it has."""
    params = default_params(1) if seed is None else random_params(1, seed)
    single = Neuron(activation=activation, loss=loss, **params).quantities(1e-4, difference)  # type: ignore[arg-type]
    multi = neuron(params, activation, loss).quantities(1e-4, difference)  # type: ignore[arg-type]
    assert single.keys() <= multi.keys()
    nudged = ["output", "net", "bias", "weight", "input"]
    assert set(multi) - set(single) == {f"nudge.{x}.distance" for x in nudged}
    for name, value in single.items():
        assert math.isclose(multi[name], value, rel_tol=4 * EPS, abs_tol=1e-300), name


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("n", SIZES)
def test_central_differences_buy_an_order_of_tiny(activation: str, loss: str, n: int) -> None:
    """Forward differences err by O(Tiny), central ones by O(Tiny²): halving Tiny halves the
    first error and quarters the second, and at the article's Tiny central wins by far."""
    params = default_params(n)
    o = Oracle(params, activation, loss)
    m = neuron(params, activation, loss)
    for name in ("net", "bias", *(f"weight{s}" for s in o.sx), *(f"input{s}" for s in o.sx)):
        true = o.gradient(name)

        def error(tiny: float, difference: str, name: str = name, true: mp.mpf = true) -> float:
            faux = m.quantities(tiny, difference)[f"nudge.{name}.gradient"]  # type: ignore[arg-type]
            return float(abs(mp.mpf(faux) - true))

        fwd, fwd_half = error(1e-4, "forward"), error(5e-5, "forward")
        cen, cen_half = error(1e-3, "central"), error(5e-4, "central")
        assert 1.9 < fwd / fwd_half < 2.1, (name, fwd, fwd_half)
        assert 3.8 < cen / cen_half < 4.2, (name, cen, cen_half)
        assert error(1e-4, "central") < fwd / 100, name


@pytest.mark.parametrize("loss", LOSSES)
def test_quadratic_losses_make_central_exact_in_the_output(loss: str) -> None:
    """The loss is a parabola in the output, so a central difference has no truncation
    error there at all, while a forward one is off by exactly Tiny x L''/2."""
    params = default_params(1)
    m = neuron(params, "tanh", loss)
    o = Oracle(params, "tanh", loss)
    true = o.gradient("output")
    tiny = 1e-4
    fwd = m.quantities(tiny, "forward")["nudge.output.gradient"]
    cen = m.quantities(tiny, "central")["nudge.output.gradient"]
    second = mp.diff(o.loss_from_output, o.value("output"), 2)
    assert close(fwd - float(true), second * tiny / 2, 1e-6)
    assert abs(cen - float(true)) < 1e-11
