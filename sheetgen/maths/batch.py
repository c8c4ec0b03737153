"""A network's loss and gradients averaged over a batch of examples: each example's forward
pass and backpropagation (``sheetgen.maths.network.Network``), then their mean.

Sums run example by example, first to last, then divide by the batch's size, in the order the
sheet's ``=(a+b+c+d)/4`` adds them, so both round alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .dataset import data_name, example_prefix
from .network import Network, input_name, learnable, target_name


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
