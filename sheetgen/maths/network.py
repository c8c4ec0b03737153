"""The reference network: a feed-forward network of neurons in plain Python, knowing no sheet.

It is the article's neuron repeated: every neuron computes ``net = Σ input_i * weight_i +
bias`` and ``output = activation(net)``; the outputs of one layer are the inputs of the
next; the loss adds the loss of every output's error. Backpropagation is the chain rule
neuron by neuron: a hidden neuron's ``d loss / d output`` is the sum, over the neurons of the
next layer, of their ``d loss / d input`` for that input.

Parameter names (the keys of ``params``; the sheet's input cells carry the same names):

- ``x1 x2 ...``: the network's inputs; ``target1 ...``: one target per output neuron.
- ``w{l}_{j}_{i}``: the weight from neuron ``i`` of layer ``l-1`` (input ``x{i}`` when
  ``l = 1``) into neuron ``j`` of layer ``l``; ``b{l}_{j}``: that neuron's bias.
- ``tiny``: the nudge of the faux gradients.

Quantity names: ``n{l}_{j}.input{i}`` (a copy of the neuron's i-th input), ``.net``,
``.output``, and for output neurons ``.target`` and ``.error``; ``loss``. ``local.X`` and
``global.X`` as for the single neuron (``local.w2_1_3`` = d net / d that weight = the input;
``local.n2_1.input3`` = d net / d input = the weight; ``local.n2_1.net`` = d output / d net;
``local.n2_1.output`` = d loss / d output, output neurons only). ``nudge.P.Y`` is quantity Y of
the forward pass re-run with parameter P increased by ``tiny`` (``nudge.P.P`` the nudged
value; only the neurons P influences), ``nudge.P.gradient`` the faux gradient
``(nudge.P.loss - loss) / tiny`` and ``nudge.P.real`` the real one beside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from ..errors import UsageError
from .neuron import ACTIVATIONS, LOSSES

MAX_NEURONS = 2000
MAX_FAN_IN = 200


def parse_layers(text: str) -> tuple[int, ...]:
    """``"2-3-1"`` (or ``"2,3,1"``) -> (2, 3, 1): input count, hidden sizes, output count."""
    parts = [p.strip() for p in text.replace(",", "-").split("-")]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise UsageError(
            f"Layers {text!r} should be whole numbers separated by '-', like 2-3-1."
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise UsageError(
            f"Layers {text!r} need an input count and at least one layer, each at least 1."
        )
    if sum(sizes[1:]) > MAX_NEURONS or max(sizes[:-1]) > MAX_FAN_IN:
        raise UsageError(
            f"Layers {text!r} are too big for a sheet (at most {MAX_NEURONS} neurons and "
            f"{MAX_FAN_IN} inputs per neuron)."
        )
    return sizes


def layers_text(sizes: Sequence[int]) -> str:
    return "-".join(str(n) for n in sizes)


def neuron(layer: int, j: int) -> str:
    return f"n{layer}_{j}"


def weight(layer: int, j: int, i: int) -> str:
    return f"w{layer}_{j}_{i}"


def bias(layer: int, j: int) -> str:
    return f"b{layer}_{j}"


def input_name(i: int) -> str:
    return f"x{i}"


def target_name(j: int) -> str:
    return f"target{j}"


def learnable(sizes: Sequence[int]) -> Iterator[tuple[str, int, int]]:
    """Every weight and bias as (name, layer, neuron), neuron by neuron, weights first."""
    for layer in range(1, len(sizes)):
        for j in range(1, sizes[layer] + 1):
            for i in range(1, sizes[layer - 1] + 1):
                yield weight(layer, j, i), layer, j
            yield bias(layer, j), layer, j


def default_parameters(sizes: Sequence[int], tiny: float = 0.0001) -> dict[str, float]:
    """Reproducible starting values from a documented formula, no random generator.

    The k-th weight or bias (in ``learnable`` order, from 1) is
    ``round(sin(2.4 k + 0.5) / sqrt(fan-in), 2)`` (a bias uses fan-in 1 and a factor 0.5),
    which spreads values over (-1, 1) and keeps tanh out of saturation in wide layers; input
    ``i`` is ``round(0.9 cos(1.3 i), 2)`` and target ``j`` is ``round(0.8 sin(2.1 j + 0.3), 2)``.
    Two decimals keep the sheet readable.
    """
    params = {input_name(i): round(0.9 * math.cos(1.3 * i), 2) for i in range(1, sizes[0] + 1)}
    for j in range(1, sizes[-1] + 1):
        params[target_name(j)] = round(0.8 * math.sin(2.1 * j + 0.3), 2)
    for k, (name, layer, _) in enumerate(learnable(sizes), start=1):
        wave = math.sin(2.4 * k + 0.5)
        if name.startswith("b"):
            params[name] = round(0.5 * wave, 2)
        else:
            params[name] = round(wave / math.sqrt(sizes[layer - 1]), 2)
    params["tiny"] = tiny
    return params


@dataclass(frozen=True)
class Network:
    """A network of ``sizes`` (inputs, hidden..., outputs) with its parameters by name."""

    sizes: tuple[int, ...]
    params: Mapping[str, float]
    activation: str = "tanh"
    loss: str = "half-squared"

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise UsageError(f"Unknown activation {self.activation!r}.")
        if self.loss not in LOSSES:
            raise UsageError(f"Unknown loss {self.loss!r}.")

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1

    def forward(self, nudged: str | None = None, tiny: float = 0.0) -> dict[str, float]:
        """The forward pass; with ``nudged``, that parameter is increased by ``tiny``.

        Sums run left to right, input by input, then the bias, in the order the sheet's
        formulas add them, so both round alike.
        """
        p = dict(self.params)
        if nudged is not None:
            p[nudged] = p[nudged] + tiny
        act, loss = ACTIVATIONS[self.activation], LOSSES[self.loss]
        out: dict[str, float] = {}
        previous = [p[input_name(i)] for i in range(1, self.sizes[0] + 1)]
        for layer in range(1, len(self.sizes)):
            current = []
            for j in range(1, self.sizes[layer] + 1):
                n = neuron(layer, j)
                net = 0.0
                for i, x in enumerate(previous, start=1):
                    out[f"{n}.input{i}"] = x
                    term = x * p[weight(layer, j, i)]
                    net = term if i == 1 else net + term
                net = net + p[bias(layer, j)]
                output = act.forward(net)
                out[f"{n}.net"], out[f"{n}.output"] = net, output
                current.append(output)
            previous = current
        total = 0.0
        for j, output in enumerate(previous, start=1):
            n = neuron(self.depth, j)
            target = p[target_name(j)]
            error = output - target
            out[f"{n}.target"], out[f"{n}.error"] = target, error
            term = loss.forward(error)
            total = term if j == 1 else total + term
        out["loss"] = total
        return out

    def gradients(self, f: Mapping[str, float] | None = None) -> dict[str, float]:
        """Local derivatives of every step, then the chain rule from the loss backwards."""
        f = self.forward() if f is None else f
        act, loss = ACTIVATIONS[self.activation], LOSSES[self.loss]
        g: dict[str, float] = {}
        for layer in range(self.depth, 0, -1):
            for j in range(1, self.sizes[layer] + 1):
                n = neuron(layer, j)
                if layer == self.depth:
                    g[f"local.{n}.output"] = loss.derivative(f[f"{n}.error"])
                    d_out = g[f"local.{n}.output"]
                else:
                    d_out = 0.0
                    for k in range(1, self.sizes[layer + 1] + 1):
                        term = g[f"global.{neuron(layer + 1, k)}.input{j}"]
                        d_out = term if k == 1 else d_out + term
                g[f"global.{n}.output"] = d_out
                g[f"local.{n}.net"] = act.derivative(f[f"{n}.net"], f[f"{n}.output"])
                d_net = g[f"local.{n}.net"] * d_out
                g[f"global.{n}.net"] = d_net
                for i in range(1, self.sizes[layer - 1] + 1):
                    w = weight(layer, j, i)
                    g[f"local.{n}.input{i}"] = self.params[w]
                    g[f"local.{w}"] = f[f"{n}.input{i}"]
                    g[f"global.{n}.input{i}"] = g[f"local.{n}.input{i}"] * d_net
                    g[f"global.{w}"] = g[f"local.{w}"] * d_net
                g[f"local.{bias(layer, j)}"] = 1.0
                g[f"global.{bias(layer, j)}"] = d_net
        return g

    def faux_gradients(self, tiny: float, f: Mapping[str, float]) -> dict[str, float]:
        """Each weight and bias nudged by ``tiny``: the neurons it moves, the loss, the slope."""
        out: dict[str, float] = {}
        for name, layer, j in learnable(self.sizes):
            up = self.forward(name, tiny)
            prefix = f"nudge.{name}."
            out[prefix + name] = self.params[name] + tiny
            for n in affected(self.sizes, layer, j):
                out[prefix + n + ".net"] = up[n + ".net"]
                out[prefix + n + ".output"] = up[n + ".output"]
            for k in range(1, self.sizes[-1] + 1):
                n = neuron(self.depth, k)
                if layer < self.depth or k == j:  # the outputs this parameter moves
                    out[prefix + n + ".error"] = up[n + ".error"]
            out[prefix + "loss"] = up["loss"]
            out[prefix + "gradient"] = (up["loss"] - f["loss"]) / tiny
        return out

    def quantities(self, tiny: float = 0.0001) -> dict[str, float]:
        """Every named quantity the network sheet shows, as one flat mapping."""
        f = self.forward()
        g = self.gradients(f)
        faux = self.faux_gradients(tiny, f)
        real = {f"nudge.{name}.real": g[f"global.{name}"] for name, _, _ in learnable(self.sizes)}
        return dict(self.params) | f | g | faux | real


def affected(sizes: Sequence[int], layer: int, j: int) -> Iterator[str]:
    """The neurons a weight or bias of neuron (layer, j) moves: itself, then every later one."""
    yield neuron(layer, j)
    for later in range(layer + 1, len(sizes)):
        for k in range(1, sizes[later] + 1):
            yield neuron(later, k)
