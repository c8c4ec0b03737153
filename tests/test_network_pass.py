"""``Network``'s forward pass and backpropagation, which look every name up in a table worked
out once per shape, against the same passes written plainly here, spelling every name as it
goes: the same operations in the same order, so the same numbers to the last bit, in the same
order of keys, at random parameters (seeded), large ones included (saturated and overflowing
activations), for every activation, loss and output."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

import pytest

from sheetgen.maths.losses import LOSSES, Softmax, softmax
from sheetgen.maths.network import (
    Network,
    bias,
    default_parameters,
    input_name,
    neuron,
    parse_layers,
    target_name,
    weight,
)
from sheetgen.maths.neuron import ACTIVATIONS


def plain_forward(net: Network, nudged: str | None = None, tiny: float = 0.0) -> dict[str, float]:
    """The forward pass, every name spelt where it is used."""
    p = dict(net.params)
    if nudged is not None:
        p[nudged] = p[nudged] + tiny
    act, loss = ACTIVATIONS[net.activation], LOSSES[net.loss]
    last = net.output_activation
    soft: Softmax | None = None
    out: dict[str, float] = {}
    previous = [p[input_name(i)] for i in range(1, net.sizes[0] + 1)]
    for layer in range(1, len(net.sizes)):
        current = []
        for j in range(1, net.sizes[layer] + 1):
            n = neuron(layer, j)
            total = 0.0
            for i, x in enumerate(previous, start=1):
                out[f"{n}.input{i}"] = x
                term = x * p[weight(layer, j, i)]
                total = term if i == 1 else total + term
            total = total + p[bias(layer, j)]
            out[f"{n}.net"] = total
            current.append(total)
        if layer < net.depth or last != "softmax":
            f = ACTIVATIONS[last].forward if layer == net.depth else act.forward
            current = [f(value) for value in current]
        for j, output in enumerate(current, start=1):
            out[f"{neuron(layer, j)}.output"] = output
        if layer == net.depth and last == "softmax":
            soft = softmax(list(current), [p[target_name(k)] for k in range(1, len(current) + 1)])
            current = list(soft.probabilities)
            out |= {f"{neuron(layer, j)}.output": q for j, q in enumerate(current, start=1)}
            out["softmax.max"], out["softmax.sum"] = soft.max, soft.sum
        previous = current
    total = 0.0
    for j, output in enumerate(previous, start=1):
        n = neuron(net.depth, j)
        target = p[target_name(j)]
        out[f"{n}.target"], out[f"{n}.error"] = target, output - target
        if soft is None:
            term = loss.forward(output, target)
            total = term if j == 1 else total + term
    out["loss"] = total if soft is None else soft.loss
    return out


def plain_gradients(net: Network, f: Mapping[str, float]) -> dict[str, float]:
    """Backpropagation, every name spelt where it is used."""
    loss, last = LOSSES[net.loss], net.output_activation
    g: dict[str, float] = {}

    def into_net(layer: int, j: int, d_net: float) -> None:
        n = neuron(layer, j)
        for i in range(1, net.sizes[layer - 1] + 1):
            w = weight(layer, j, i)
            g[f"local.{n}.input{i}"] = net.params[w]
            g[f"local.{w}"] = f[f"{n}.input{i}"]
            g[f"global.{n}.input{i}"] = g[f"local.{n}.input{i}"] * d_net
            g[f"global.{w}"] = g[f"local.{w}"] * d_net
        g[f"local.{bias(layer, j)}"] = 1.0
        g[f"global.{bias(layer, j)}"] = d_net

    for layer in range(net.depth, 0, -1):
        for j in range(1, net.sizes[layer] + 1):
            n = neuron(layer, j)
            if layer == net.depth and last == "softmax":
                d_net = f[f"{n}.output"] - f[f"{n}.target"]
                g[f"local.{n}.softmax"] = g[f"global.{n}.net"] = d_net
                into_net(layer, j, d_net)
                continue
            if layer == net.depth:
                g[f"local.{n}.output"] = loss.derivative(f[f"{n}.output"], f[f"{n}.target"])
                d_out = g[f"local.{n}.output"]
                act = ACTIVATIONS[last]
            else:
                act = ACTIVATIONS[net.activation]
                d_out = 0.0
                for k in range(1, net.sizes[layer + 1] + 1):
                    term = g[f"global.{neuron(layer + 1, k)}.input{j}"]
                    d_out = term if k == 1 else d_out + term
            g[f"global.{n}.output"] = d_out
            g[f"local.{n}.net"] = act.derivative(f[f"{n}.net"], f[f"{n}.output"])
            d_net = g[f"local.{n}.net"] * d_out
            g[f"global.{n}.net"] = d_net
            into_net(layer, j, d_net)
    return g


def same(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    """The same keys in the same order, each number equal to the last bit (NaN equal to NaN,
    0.0 not to -0.0)."""

    def bits(x: float) -> tuple[bool, float, float]:
        return math.isnan(x), 0.0 if math.isnan(x) else x, math.copysign(1, x)

    return list(a) == list(b) and all(bits(a[k]) == bits(b[k]) for k in a)


@pytest.mark.parametrize(
    ("layers", "activation", "loss"),
    [
        ("2-2-1", "tanh", "half-squared"),
        ("3-4-2", "sigmoid", "squared"),
        ("2-3-3-1", "relu", "half-squared"),
        ("1-2-1", "linear", "squared"),
        ("2-2-1", "tanh", "cross-entropy"),
        ("3-4-3", "tanh", "cross-entropy"),
        ("4-1", "tanh", "half-squared"),
    ],
)
def test_the_pass_is_the_plain_one_to_the_bit(layers: str, activation: str, loss: str) -> None:
    sizes = parse_layers(layers)
    rng = random.Random(f"{layers} {activation} {loss}")
    base = default_parameters(sizes)
    for trial in range(40):
        spread = 400.0 if trial % 10 == 9 else 2.0
        params = {k: rng.uniform(-spread, spread) for k in base}
        if loss == "cross-entropy":
            params |= {k: float(rng.random() < 0.5) for k in base if k.startswith("target")}
        net = Network(sizes, params, activation, loss)
        f, plain = net.forward(), plain_forward(net)
        assert same(f, plain), (layers, trial)
        g = plain_gradients(net, plain)
        assert same(net.gradients(f), g), (layers, trial)
        assert same(net.row(), plain | g), (layers, trial)
        nudged = rng.choice(sorted(base))
        assert same(net.forward(nudged, 1e-4), plain_forward(net, nudged, 1e-4)), nudged
        assert net.params == params  # a nudged pass leaves the parameters alone
