"""A network's loss and gradients averaged over a batch of examples: each example's forward
pass and backpropagation (``sheetgen.maths.network.Network``), then their mean.

Sums run example by example, first to last, then divide by the batch's size, in the order the
sheet's ``=(a+b+c+d)/4`` adds them, so both round alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .dataset import data_name, example_prefix
from .losses import CROSS_ENTROPY, binary_cross_entropy_arrays, output_activation, softmax_arrays
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
_LOSSES: dict[str, Callable[[Any, Any], tuple[Any, Any]]] = {
    # (loss, d loss / d output) of arrays of outputs and targets
    "half-squared": lambda y, t: ((y - t) * (y - t) / 2.0, y - t),
    "squared": lambda y, t: ((y - t) * (y - t), 2.0 * (y - t)),
    CROSS_ENTROPY: binary_cross_entropy_arrays,  # a sigmoid output's; a softmax's below
}


def batch_passes(
    sizes: tuple[int, ...],
    columns: Mapping[str, Any],
    examples: Sequence[int],
    activation: str,
    loss: str,
) -> dict[str, Any] | None:
    """:func:`batch_pass` for many sets of parameters at once, with numpy: ``columns`` holds
    each parameter as an array with one value per set, and each quantity comes back as such
    an array (None for an activation or loss it has no array form of).

    For the tolerances' slopes (``sheetgen.layouts.optimized``), which difference one pass
    with another: the arrays add in numpy's order, not the sheet's, which moves a slope by
    an ulp or two of the values it is made of, nothing a bound a thousand times larger minds.
    The losses are ``sheetgen.maths.losses``'s (a softmax's in its stable form).
    """
    import numpy as np

    last = output_activation(loss, activation, sizes[-1])
    if activation not in _ACTIVATIONS or loss not in _LOSSES:
        return None
    if last != "softmax" and last not in _ACTIVATIONS:
        return None
    softmax = last == "softmax"

    def column(name: str) -> Any:
        return columns[name][:, None]  # (variants, 1)

    def data(leaf: str) -> Any:
        return np.stack([columns[data_name(m, leaf)] for m in examples], axis=1)

    out: dict[str, Any] = {}
    depth = len(sizes) - 1
    prefixes = [example_prefix(m) for m in examples]

    def put(leaf: str, array: Any) -> None:  # (variants, examples) -> one entry per example
        for b, prefix in enumerate(prefixes):
            out[prefix + leaf] = array[:, b]

    layer_out = [data(input_name(i)) for i in range(1, sizes[0] + 1)]
    for i, x in enumerate(layer_out, start=1):
        put(input_name(i), x)
    targets = [data(target_name(j)) for j in range(1, sizes[-1] + 1)]
    outs, nets = [layer_out], []
    with np.errstate(all="ignore"):  # an overflow is an inf, as in Python
        for layer in range(1, depth + 1):
            act, slope = _ACTIVATIONS[last if layer == depth and not softmax else activation]
            current_nets = [
                column(bias(layer, j))
                + sum(x * column(weight(layer, j, i)) for i, x in enumerate(layer_out, start=1))
                for j in range(1, sizes[layer] + 1)
            ]
            if layer == depth and softmax:
                top, total, p, soft_loss = softmax_arrays(
                    np.stack(current_nets, axis=-1), np.stack(targets, axis=-1)
                )
                put("softmax.max", top)
                put("softmax.sum", total)
                current_outs = [p[..., j] for j in range(sizes[layer])]
            else:
                current_outs = [act(net) for net in current_nets]
            for j, net in enumerate(current_nets, start=1):
                put(f"{neuron(layer, j)}.net", net)
                put(f"{neuron(layer, j)}.output", current_outs[j - 1])
            nets.append(current_nets)
            outs.append(current_outs)
            layer_out = current_outs
        total_loss: Any = 0.0
        d_out = []
        for j, (output, target) in enumerate(zip(layer_out, targets, strict=True), start=1):
            put(target_name(j), target)
            put(f"{neuron(depth, j)}.error", output - target)
            if softmax:
                continue
            value, d = _LOSSES[loss](output, target)
            total_loss = total_loss + value
            d_out.append(d)
        total_loss = soft_loss if softmax else total_loss
        put("loss", total_loss)
        out["loss"] = np.mean(total_loss, axis=1)
        for layer in range(depth, 0, -1):
            d_net = []
            slope = _ACTIVATIONS[last if layer == depth and not softmax else activation][1]
            for j in range(1, sizes[layer] + 1):
                n = neuron(layer, j)
                if layer == depth and softmax:  # softmax and cross-entropy: p - t
                    d_net.append(outs[layer][j - 1] - targets[j - 1])
                else:
                    local = slope(nets[layer - 1][j - 1], outs[layer][j - 1])
                    put(f"global.{n}.output", d_out[j - 1])
                    put(f"local.{n}.net", local)
                    d_net.append(local * d_out[j - 1])
                put(f"global.{n}.net", d_net[-1])
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
        out[prefix + "number"] = np.full(len(next(iter(columns.values()))), float(m))
    return out


def _np() -> Any:
    import numpy as np  # on first use: building a plain-gradient-descent sheet never needs it

    return np
