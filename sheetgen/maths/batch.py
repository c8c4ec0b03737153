"""A network's loss and gradients averaged over a batch of examples: each example's forward
pass and backpropagation (``sheetgen.maths.network.Network``), then their mean.

Sums run example by example, first to last, then divide by the batch's size, in the order the
sheet's ``=(a+b+c+d)/4`` adds them, so both round alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .dataset import data_name, example_prefix
from .network import Network, bias, input_name, learnable, neuron, target_name, weight


def example_parameters(
    sizes: Sequence[int], params: Mapping[str, float], m: int
) -> dict[str, float]:
    """The network's parameters with example ``m``'s inputs and targets as its ``x{i}`` and
    ``target{j}``."""
    data = {input_name(i): params[data_name(m, input_name(i))] for i in range(1, sizes[0] + 1)}
    data |= {target_name(j): params[data_name(m, target_name(j))] for j in range(1, sizes[-1] + 1)}
    return {**params, **data}


def batch_pass(
    sizes: tuple[int, ...],
    params: Mapping[str, float],
    examples: Sequence[int],
    activation: str,
    loss: str,
) -> dict[str, float]:
    """Every example's pass, its quantities prefixed ``example{m}.`` (with its inputs and
    targets as ``x{i}`` and ``target{j}``), then the batch's mean ``loss`` and ``global.<p>``
    for every weight and bias ``p``."""
    out: dict[str, float] = {}
    names = [name for name, _, _ in learnable(sizes)]
    sums: dict[str, float] = {}
    for b, m in enumerate(examples):
        p = example_parameters(sizes, params, m)
        net = Network(sizes, p, activation, loss)
        f = net.forward()
        g = net.gradients(f)
        prefix = example_prefix(m)
        for i in range(1, sizes[0] + 1):
            out[prefix + input_name(i)] = p[input_name(i)]
        for j in range(1, sizes[-1] + 1):
            out[prefix + target_name(j)] = p[target_name(j)]
        for part in (f, g):
            for key, value in part.items():
                out[prefix + key] = value
        for key in ("loss", *(f"global.{n}" for n in names)):
            term = f[key] if key == "loss" else g[key]
            sums[key] = term if b == 0 else sums[key] + term
    for key, total in sums.items():
        out[key] = total / len(examples)
    return out


_ACTIVATIONS: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], Any]]] = {
    # output from net, d output / d net from (net, output): numpy arrays in, arrays out
    "tanh": (lambda net: _np().tanh(net), lambda net, out: 1.0 - out * out),
    # 1 / (1 + e^-x) as (1 + tanh(x/2)) / 2: no exponential to overflow
    "sigmoid": (lambda net: 0.5 + 0.5 * _np().tanh(0.5 * net), lambda net, out: out * (1.0 - out)),
    "relu": (lambda net: _np().maximum(net, 0.0), lambda net, out: (net > 0) * 1.0),
    "linear": (lambda net: net, lambda net, out: net * 0.0 + 1.0),
}
_LOSSES: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    # (loss, d loss / d error) of an array of errors
    "half-squared": (lambda e: e * e / 2.0, lambda e: e),
    "squared": (lambda e: e * e, lambda e: 2.0 * e),
}


def batch_passes(
    sizes: tuple[int, ...],
    variants: Sequence[Mapping[str, float]],
    examples: Sequence[int],
    activation: str,
    loss: str,
) -> dict[str, Any] | None:
    """:func:`batch_pass` for many sets of parameters at once, with numpy: each quantity as
    an array with one value per set (None for an activation or loss it has no array form of).

    For the tolerances' slopes (``sheetgen.layouts.optimized``), which difference one pass
    with another: the arrays add in numpy's order, not the sheet's, which moves a slope by
    an ulp or two of the values it is made of, nothing a bound a thousand times larger minds.
    """
    import numpy as np

    if activation not in _ACTIVATIONS or loss not in _LOSSES:
        return None
    act, slope = _ACTIVATIONS[activation]
    loss_of, loss_slope = _LOSSES[loss]

    def column(name: str) -> Any:
        return np.array([v[name] for v in variants])[:, None]  # (variants, 1)

    def data(leaf: str) -> Any:
        return np.array([[v[data_name(m, leaf)] for m in examples] for v in variants])

    out: dict[str, Any] = {}
    depth = len(sizes) - 1
    prefixes = [example_prefix(m) for m in examples]

    def put(leaf: str, array: Any) -> None:  # (variants, examples) -> one entry per example
        for b, prefix in enumerate(prefixes):
            out[prefix + leaf] = array[:, b]

    layer_out = [data(input_name(i)) for i in range(1, sizes[0] + 1)]
    for i, x in enumerate(layer_out, start=1):
        put(input_name(i), x)
    outs, nets = [layer_out], []
    with np.errstate(all="ignore"):  # an overflow is an inf, as in Python
        for layer in range(1, depth + 1):
            current_nets, current_outs = [], []
            for j in range(1, sizes[layer] + 1):
                net = column(bias(layer, j)) + sum(
                    x * column(weight(layer, j, i)) for i, x in enumerate(layer_out, start=1)
                )
                output = act(net)
                put(f"{neuron(layer, j)}.net", net)
                put(f"{neuron(layer, j)}.output", output)
                current_nets.append(net)
                current_outs.append(output)
            nets.append(current_nets)
            outs.append(current_outs)
            layer_out = current_outs
        total = 0.0
        d_out = []
        for j, output in enumerate(layer_out, start=1):
            target = data(target_name(j))
            put(target_name(j), target)
            error = output - target
            put(f"{neuron(depth, j)}.error", error)
            total = total + loss_of(error)
            d_out.append(loss_slope(error))
        put("loss", total)
        out["loss"] = np.mean(total, axis=1)
        for layer in range(depth, 0, -1):
            d_net = []
            for j in range(1, sizes[layer] + 1):
                n = neuron(layer, j)
                local = slope(nets[layer - 1][j - 1], outs[layer][j - 1])
                put(f"global.{n}.output", d_out[j - 1])
                put(f"local.{n}.net", local)
                put(f"global.{n}.net", local * d_out[j - 1])
                d_net.append(local * d_out[j - 1])
                for i in range(1, sizes[layer - 1] + 1):
                    grad = outs[layer - 1][i - 1] * d_net[-1]
                    put(f"global.{weight(layer, j, i)}", grad)
                    out[f"global.{weight(layer, j, i)}"] = np.mean(grad, axis=1)
                put(f"global.{bias(layer, j)}", d_net[-1])
                out[f"global.{bias(layer, j)}"] = np.mean(d_net[-1], axis=1)
            d_out = [
                sum(column(weight(layer, q, j)) * d_net[q - 1] for q in range(1, sizes[layer] + 1))
                for j in range(1, sizes[layer - 1] + 1)
            ]
    for m, prefix in zip(examples, prefixes, strict=True):
        out[prefix + "number"] = np.full(len(variants), float(m))
    return out


def _np() -> Any:
    import numpy as np  # on first use: building a plain-gradient-descent sheet never needs it

    return np
