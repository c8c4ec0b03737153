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

import functools
import itertools
import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .losses import LOSSES, Softmax, output_activation, softmax, softmax_arrays
from .network_names import Order, Quantities
from .network_names import bias as bias
from .network_names import neuron as neuron
from .network_names import weight as weight
from .neuron import ACTIVATIONS

MAX_NEURONS = 2000
MAX_FAN_IN = 200
ARRAY_WORK = 200_000
"""Multiplications (faux rows x weights) above which the nudged passes run as numpy arrays."""


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
    widest = max(sizes[:-1])
    if widest > MAX_FAN_IN:
        which = "the inputs" if sizes[0] == widest else f"layer {sizes[:-1].index(widest)}"
        raise UsageError(
            f"Layers {text!r} are too big for a sheet: each neuron after {which} would read "
            f"{widest} values, and a sheet's neuron reads at most {MAX_FAN_IN}: use narrower "
            "layers."
        )
    if sum(sizes[1:]) > MAX_NEURONS:
        raise UsageError(
            f"Layers {text!r} are too big for a sheet: {sum(sizes[1:])} neurons, at most "
            f"{MAX_NEURONS}: use fewer or smaller layers."
        )
    return sizes


def layers_text(sizes: Sequence[int]) -> str:
    return "-".join(str(n) for n in sizes)


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


def parse_faux(text: str, sizes: Sequence[int]) -> tuple[str, ...] | None:
    """Which weights and biases get a faux row: ``all`` (None), ``none``, a number N (a sample
    of N, see :func:`faux_sample`) or names joined by ``+`` or ``,`` (``w1_1_1+b2_1``),
    returned in :func:`learnable` order."""
    names = [name for name, _, _ in learnable(sizes)]
    text = text.strip()
    if text.lower() == "all":
        return None
    if text.lower() == "none":
        return ()
    if text.isdigit():
        return faux_sample(sizes, int(text))
    if text.startswith("-") and text[1:].isdigit():
        raise UsageError(f"faux: a number of faux rows is 0 or more, not {text}.")
    wanted = [t.strip() for t in text.replace(",", "+").split("+") if t.strip()]
    known = set(names)
    unknown = [w for w in wanted if w not in known]
    if unknown or not wanted:
        what = repr(unknown[0]) if unknown else repr(text)
        raise UsageError(
            f"faux: the {layers_text(sizes)} network has no weight or bias {what}; give all, "
            f"none, a number, or names such as {names[0]},{names[-1]} ({names[0]}+{names[-1]} "
            "in a spec)."
        )
    chosen = set(wanted)
    return tuple(n for n in names if n in chosen)


def faux_sample(
    sizes: Sequence[int], count: int, *, ranked: bool = False
) -> tuple[str, ...] | None:
    """``count`` of the network's weights and biases (None: all of them), the same on every
    build and every Python: those whose SHA-256 of ``layers:name`` comes first, in
    :func:`learnable` order. A hash rather than ``random``, whose sampling may change between
    Python versions, because ``verify`` regenerates the sample from the recorded spec.
    ``ranked``: every name instead, in the order a sample takes them."""
    import hashlib

    names = [name for name, _, _ in learnable(sizes)]
    if count >= len(names) and not ranked:
        return None
    key = layers_text(sizes)
    order = sorted(names, key=lambda n: hashlib.sha256(f"{key}:{n}".encode()).digest())
    if ranked:
        return tuple(order)
    chosen = set(order[:count])
    return tuple(n for n in names if n in chosen)


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
    def output_activation(self) -> str:
        """The output layer's activation: ``activation``, or what the loss needs (sigmoid;
        softmax for cross-entropy over several outputs, ``sheetgen.maths.losses``)."""
        return output_activation(self.loss, self.activation, self.sizes[-1])

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1

    def forward(
        self, nudged: str | None = None, tiny: float = 0.0, *, names: _Keys | None = None
    ) -> dict[str, float]:
        """The forward pass; with ``nudged``, that parameter is increased by ``tiny``.

        Sums run left to right, input by input, then the bias, in the order the sheet's
        formulas add them, so both round alike. Every name comes from :func:`_keys`, worked
        out once per shape: a training run's error analysis runs this pass thousands of times
        for a small network, where spelling the names cost more than the arithmetic
        (``names``: :func:`_keys`'s, from a caller that has them).
        """
        p = self.params
        if nudged is not None:
            p = {**p, nudged: p[nudged] + tiny}
        act, loss = ACTIVATIONS[self.activation], LOSSES[self.loss]
        last = self.output_activation
        inputs, layers = _keys(tuple(self.sizes)) if names is None else names
        depth = len(layers)
        soft: Softmax | None = None
        out: dict[str, float] = {}
        previous = [p[x] for x in inputs]
        for layer, keys in enumerate(layers, start=1):
            current = []
            for k in keys:
                # -0.0 + t is t for every t (0.0, -0.0, inf, NaN too): the sum is the first
                # term, then the others added one by one, as the sheet's formula adds them.
                net = -0.0
                for (key, w), x in zip(k.terms, previous, strict=True):
                    out[key] = x
                    net = net + x * p[w]
                net = net + p[k.bias]
                out[k.net] = net
                current.append(net)
            if layer < depth or last != "softmax":
                f = ACTIVATIONS[last].forward if layer == depth else act.forward
                current = [f(net) for net in current]
            for k, output in zip(keys, current, strict=True):
                out[k.output] = output
            if layer == depth and last == "softmax":
                nets = list(current)
                soft = softmax(nets, [p[k.target_param] for k in keys])
                current = list(soft.probabilities)
                out |= {k.output: q for k, q in zip(keys, current, strict=True)}
                out["softmax.max"], out["softmax.sum"] = soft.max, soft.sum
            previous = current
        total = 0.0
        for j, (k, output) in enumerate(zip(layers[-1], previous, strict=True)):
            target = p[k.target_param]
            out[k.target], out[k.error] = target, output - target
            if soft is None:
                term = loss.forward(output, target)
                total = term if j == 0 else total + term
        out["loss"] = total if soft is None else soft.loss
        return out

    def gradients(self, f: Mapping[str, float] | None = None) -> dict[str, float]:
        """Local derivatives of every step, then the chain rule from the loss backwards."""
        g: dict[str, float] = {}
        self._backpropagate(self.forward() if f is None else f, g)
        return g

    def row(self) -> dict[str, float]:
        """``forward() | gradients()`` as one mapping, built in place: what a training step
        shows, thousands of times over in a run's error analysis."""
        out = self.forward()
        self._backpropagate(out, out)
        return out

    def _backpropagate(
        self, f: Mapping[str, float], g: dict[str, float], names: _Keys | None = None
    ) -> None:
        """The backward pass from the forward pass ``f``, its quantities put in ``g`` (which
        may be ``f``: the names differ)."""
        loss = LOSSES[self.loss]
        last = self.output_activation
        params = self.params
        _, layers = _keys(tuple(self.sizes)) if names is None else names
        depth = len(layers)
        for layer in range(depth, 0, -1):
            for j, k in enumerate(layers[layer - 1]):
                if layer == depth and last == "softmax":
                    # Softmax and cross-entropy together: d loss / d net_j = p_j - t_j.
                    d_net = f[k.output] - f[k.target]
                    g[k.local_softmax] = g[k.global_net] = d_net
                else:
                    if layer == depth:
                        g[k.local_output] = d_out = loss.derivative(f[k.output], f[k.target])
                        act = ACTIVATIONS[last]
                    else:
                        act = ACTIVATIONS[self.activation]
                        above = layers[layer]
                        d_out = g[above[0].chain[j][2]]  # global.n.input{j}
                        for m in range(1, len(above)):
                            d_out = d_out + g[above[m].chain[j][2]]  # global.n.input{j}
                    g[k.global_output] = d_out
                    g[k.local_net] = local = act.derivative(f[k.net], f[k.output])
                    g[k.global_net] = d_net = local * d_out
                # The chain rule from d loss / d net to the neuron's inputs, weights and bias.
                for local_input, local_weight, global_input, global_weight, w, x in k.chain:
                    g[local_input] = a = params[w]
                    g[local_weight] = b = f[x]
                    g[global_input] = a * d_net
                    g[global_weight] = b * d_net
                g[k.local_bias] = 1.0
                g[k.global_bias] = d_net

    def _forward(self, q: _Parameters) -> list[float]:
        """The forward pass's numbers, in the order of ``Order.forward_names``.

        Sums run left to right, input by input, then the bias, in the order the sheet's
        formulas add them, so both round alike.
        """
        act, loss = ACTIVATIONS[self.activation], LOSSES[self.loss]
        last = self.output_activation
        depth = self.depth
        soft: Softmax | None = None
        out: list[float] = []
        previous = q.inputs
        for layer in range(1, depth + 1):
            nets = []
            for ws, b in zip(q.weights[layer - 1], q.biases[layer - 1], strict=True):
                # -0.0 + t is t for every t (0.0, -0.0, inf, NaN too): the sum is the first
                # term, then the others added one by one, as the sheet's formula adds them.
                net = -0.0
                for x, w in zip(previous, ws, strict=True):
                    net = net + x * w
                net = net + b
                out += previous  # the neuron's copies of its inputs
                out.append(net)
                nets.append(net)
            if layer == depth and last == "softmax":
                soft = softmax(nets, q.targets)
                current = list(soft.probabilities)
            else:
                f = ACTIVATIONS[last].forward if layer == depth else act.forward
                current = [f(net) for net in nets]
            out += current
            if soft is not None:
                out += (soft.max, soft.sum)
            previous = current
        total = 0.0
        for j, (output, target) in enumerate(zip(previous, q.targets, strict=True)):
            out += (target, output - target)
            if soft is None:
                term = loss.forward(output, target)
                total = term if j == 0 else total + term
        out.append(total if soft is None else soft.loss)
        return out

    def _order(self, rows: Iterable[int] | None = ()) -> Order:
        return Order(self.sizes, self.output_activation == "softmax", rows)

    def _backward(self, q: _Parameters, numbers: list[float]) -> None:
        """The backward pass from the forward pass's ``numbers``, its own appended to them in
        the order of ``Order.backward_names``."""
        loss = LOSSES[self.loss]
        last = self.output_activation
        sizes, depth = self.sizes, self.depth
        at = _forward_places(sizes, last == "softmax")
        above: list[list[float]] = []  # the layer above's d loss / d input, per neuron
        for layer in range(depth, 0, -1):
            fan = sizes[layer - 1]
            start, outputs = at[layer]
            own: list[list[float]] = []
            for j, (ws, block) in enumerate(
                zip(q.weights[layer - 1], range(start, outputs, fan + 1), strict=True)
            ):
                output = numbers[outputs + j]
                if layer == depth and last == "softmax":
                    # Softmax and cross-entropy together: d loss / d net_j = p_j - t_j.
                    d_net = output - numbers[at[0][0] + 2 * j]
                    numbers += (d_net, d_net)  # local.n.softmax, global.n.net
                else:
                    if layer == depth:
                        d_out = loss.derivative(output, numbers[at[0][0] + 2 * j])
                        numbers.append(d_out)  # local.n.output
                        act = ACTIVATIONS[last]
                    else:
                        act = ACTIVATIONS[self.activation]
                        d_out = above[0][j]  # global.n.input{j} of the next layer's neurons
                        for m in range(1, len(above)):
                            d_out = d_out + above[m][j]
                    local = act.derivative(numbers[block + fan], output)
                    d_net = local * d_out
                    numbers += (d_out, local, d_net)  # global.n.output, local.n.net, global.n.net
                # The chain rule from d loss / d net to the neuron's inputs, weights and bias.
                into: list[float] = []
                for a, b in zip(ws, numbers[block : block + fan], strict=True):
                    d_input = a * d_net
                    numbers += (a, b, d_input, b * d_net)  # local and global input, weight
                    into.append(d_input)
                numbers += (1.0, d_net)  # local and global bias
                own.append(into)
            above = own

    def faux_gradients(
        self, tiny: float, f: Mapping[str, float], names: Sequence[str] | None = None
    ) -> dict[str, float]:
        """Each weight and bias of ``names`` (all by default) nudged by ``tiny``: the neurons
        it moves, the loss, the slope.

        ``f`` must be :meth:`forward`'s whole result (un-nudged): every quantity of the
        forward pass is read from it by name, not only those a faux row shows.

        The nudged forward passes run together, as arrays (see :func:`_nudged_passes`): one
        pass per parameter in plain Python made the reference grow with the square of the
        parameters while the sheet grows with them. Below ``ARRAY_WORK`` multiplications
        (rows x weights) the plain passes are quicker than importing numpy, and are used.
        """
        order = self._order(_rows(self.sizes, names))
        numbers = list(map(f.__getitem__, order.forward_names()))
        nudged = self._faux_numbers(tiny, _parameters(self.sizes, self.params), numbers, order)
        return dict(zip(order.faux_names(), nudged, strict=True))

    def _faux_numbers(
        self, tiny: float, q: _Parameters, base: Sequence[float], order: Order
    ) -> Iterator[float]:
        """The numbers of ``order``'s faux rows, in its order, from the forward pass's
        numbers ``base``, with no name: a large network's were megabytes at the peak of its
        check."""
        rows = list(order.rows())
        passes: Iterable[Sequence[float]]
        if len(rows) * sum(a * b for a, b in itertools.pairwise(self.sizes)) > ARRAY_WORK:
            passes = _nudged_passes(self, q, rows, tiny, base, order)
        else:  # a small network: numpy's import would cost more than it saves
            # One pass at a time, each dropped once read: not every whole pass at once.
            passes = (self._moved(q.nudged(r, tiny), order, r[0], r[1]) for r in rows)
        loss = base[-1]
        for r, up in zip(rows, passes, strict=True):
            yield q.value(*r) + tiny
            yield from up
            yield (up[-1] - loss) / tiny

    def _moved(self, q: _Parameters, order: Order, layer: int, j: int) -> list[float]:
        """The forward pass of ``q``'s numbers a faux row of a parameter of neuron (``layer``,
        ``j``) shows: each neuron moved's net and output, the errors moved, the loss."""
        up = self._forward(q)
        moved = [up[order.net_place(layer, j)], up[order.output_place(layer, j)]]
        for later in range(layer + 1, self.depth + 1):
            for k in range(1, self.sizes[later] + 1):
                moved += (up[order.net_place(later, k)], up[order.output_place(later, k)])
        for k in range(1, self.sizes[-1] + 1):
            if layer < self.depth or k == j:  # the outputs this parameter moves
                moved.append(up[order.target_place(k) + 1])
        moved.append(up[-1])
        return moved

    def quantities(self, tiny: float = 0.0001, faux: Sequence[str] | None = None) -> Quantities:
        """Every named quantity the network sheet shows, as one mapping; faux rows for the
        weights and biases ``faux`` names (all by default), in ``learnable`` order.

        The mapping holds the numbers as one vector and spells a name only when asked
        (:class:`sheetgen.maths.network_names.Quantities`): an 80-80-1 network's were 14 MB as
        a dict. The passes work them out by position in that vector, naming none (a 200-200-1
        network's names were 20 MB at the peak of its check).
        """
        q = _parameters(self.sizes, self.params)
        numbers = self._forward(q)
        self._backward(q, numbers)
        order = self._order(_rows(self.sizes, faux))
        values = array("d", numbers)
        del numbers
        values.extend(self._faux_numbers(tiny, q, values[: order.backward_start], order))
        values.extend([values[order.global_place(*r)] for r in order.rows()])
        return Quantities(self.params, order, values)


@dataclass(frozen=True, slots=True)
class _Parameters:
    """A network's parameters by position: its inputs, per layer each neuron's weights (one
    list per neuron) and biases, its targets."""

    inputs: list[float]
    weights: list[list[list[float]]]
    biases: list[list[float]]
    targets: list[float]

    def value(self, layer: int, j: int, i: int) -> float:
        """The weight from input ``i`` into neuron (``layer``, ``j``), or its bias for ``i`` =
        fan-in + 1 (each from 1)."""
        row = self.weights[layer - 1][j - 1]
        return self.biases[layer - 1][j - 1] if i > len(row) else row[i - 1]

    def nudged(self, at: tuple[int, int, int], tiny: float) -> _Parameters:
        """These parameters with the weight or bias ``at`` (as :meth:`value`) increased by
        ``tiny``: a copy of the lists it is in."""
        layer, j, i = at
        weights, biases = list(self.weights), list(self.biases)
        if i > len(weights[layer - 1][j - 1]):
            biases[layer - 1] = row = list(biases[layer - 1])
            row[j - 1] = row[j - 1] + tiny
        else:
            weights[layer - 1] = rows = list(weights[layer - 1])
            rows[j - 1] = row = list(rows[j - 1])
            row[i - 1] = row[i - 1] + tiny
        return _Parameters(self.inputs, weights, biases, self.targets)


def _parameters(sizes: tuple[int, ...], p: Mapping[str, float]) -> _Parameters:
    """The parameters ``p`` (by name) by position. A small network's names are worked out
    once per shape (:func:`_remembered_parameter_names`); a large one's spelled one at a time
    (:func:`_parameter_names`) to look each up and let go."""
    if _remembered(sizes, REMEMBERED_WEIGHTS):
        names = _remembered_parameter_names(sizes)
    else:
        names = _parameter_names(sizes)
    inputs, weights, biases, targets = names
    get = p.__getitem__
    return _Parameters(
        list(map(get, inputs)),
        [[list(map(get, ws)) for ws in layer] for layer in weights],
        [list(map(get, layer)) for layer in biases],
        list(map(get, targets)),
    )


def _rows(sizes: Sequence[int], names: Sequence[str] | None) -> list[int] | None:
    """The places, in ``learnable`` order, of the weights and biases ``names`` (None: all)."""
    if names is None:
        return None
    if not names:
        return []
    wanted = set(names)
    return [k for k, (name, _, _) in enumerate(learnable(sizes)) if name in wanted]


@functools.lru_cache(maxsize=64)
def _forward_places(sizes: tuple[int, ...], soft: bool) -> tuple[tuple[int, int], ...]:
    """Where each layer's block of the forward pass begins and its outputs begin (``Order``'s
    places; first, where the targets begin)."""
    order = Order(sizes, soft, ())
    targets = order.target_place(1)
    places = [
        (order.net_place(layer, 1) - sizes[layer - 1], order.output_place(layer, 1))
        for layer in range(1, len(sizes))
    ]
    return ((targets, targets), *places)


def _vector_activation(name: str) -> Callable[[Any], Any]:
    """The activation ``name`` on arrays; the same maths as ``ACTIVATIONS[name].forward``."""
    import numpy as np

    if name == "tanh":
        return np.tanh
    if name == "sigmoid":  # two branches, as the scalar one: exp never overflows

        def sigmoid(x: Any) -> Any:
            z = np.exp(-np.abs(x))
            return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))

        return sigmoid
    if name == "relu":
        return lambda x: np.maximum(x, 0.0)
    if name == "linear":
        return lambda x: x
    return np.vectorize(ACTIVATIONS[name].forward, otypes=[float])


def _vector_loss(name: str) -> Callable[[Any, Any], Any]:
    """The loss ``name`` of arrays of outputs and targets, elementwise."""
    import numpy as np

    if name == "half-squared":
        return lambda y, t: (y - t) * (y - t) / 2.0
    if name == "squared":
        return lambda y, t: (y - t) * (y - t)
    return np.vectorize(LOSSES[name].forward, otypes=[float])


PASSES_AT_ONCE = 1024
"""How many nudged passes :func:`_nudged_passes` runs as one array: each row's numbers are
its own, so they are the same however many run together, and a layer's rows at once held
rows x the widest layer several times over (an 80-80-1 network's 6,480 first-layer rows were
8 MB more at the peak of its check)."""


def _nudged_passes(
    network: Network,
    q: _Parameters,
    rows: Sequence[tuple[int, int, int]],
    tiny: float,
    base: Sequence[float],
    order: Order,
) -> Iterator[list[float]]:
    """The forward pass re-run once per weight or bias of ``rows`` (layer, neuron, input as
    ``Order.rows`` gives them), all at once with numpy.

    For row r (parameter P of neuron j in layer L): layers before L are the un-nudged pass;
    in layer L only neuron j moves; every later layer moves entirely. Each sum still runs
    input by input, left to right, then the bias, as ``Network.forward`` and the sheet's
    formulas add them, so the numbers round as they do (``base``: the un-nudged pass's
    numbers, ``q`` its parameters). Yields, per row, what ``Network._moved`` gives: the net
    and output of each neuron P moves, the outputs' errors it moves and the loss. Memory:
    ``PASSES_AT_ONCE`` x the widest layer.
    """
    import numpy as np

    sizes, depth = network.sizes, network.depth
    act, loss = _vector_activation(network.activation), _vector_loss(network.loss)
    last = network.output_activation
    soft = last == "softmax"
    act_last = act if soft else _vector_activation(last)
    W = [np.zeros((0, 0))] + [np.array(layer) for layer in q.weights]
    B = [np.array([])] + [np.array(layer) for layer in q.biases]
    outs = [np.array(q.inputs)] + [
        np.array([base[order.output_place(layer, j)] for j in range(1, sizes[layer] + 1)])
        for layer in range(1, len(sizes))
    ]
    targets = np.array(q.targets)
    nets_last = np.array([base[order.net_place(depth, j)] for j in range(1, sizes[-1] + 1)])

    # Each layer's rows, run PASSES_AT_ONCE at a time (each row's numbers are its own); the
    # rows come in learnable order, layer by layer.
    in_layers: list[list[tuple[int, int, int]]] = [[] for _ in sizes]
    for r in rows:
        in_layers[r[0]].append(r)
    with np.errstate(all="ignore"):  # an overflow is an inf, as in Python; callers refuse it
        for layer, start in (
            (layer, start)
            for layer, in_layer in enumerate(in_layers)
            for start in range(0, len(in_layer), PASSES_AT_ONCE)
        ):
            chunk = in_layers[layer][start : start + PASSES_AT_ONCE]
            js = np.array([j - 1 for _, j, _ in chunk])
            x = outs[layer - 1]
            fan = sizes[layer - 1]
            # Layer L: neuron j's net with P nudged, the terms added left to right.
            terms = x[None, :] * W[layer][js, :]
            bias_row = B[layer][js].copy()
            for k, (_, j, i) in enumerate(chunk):
                if i <= fan:
                    terms[k, i - 1] = x[i - 1] * (q.value(layer, j, i) + tiny)
                else:
                    bias_row[k] = q.value(layer, j, i) + tiny
            net = terms[:, 0].copy()
            for i in range(1, terms.shape[1]):
                net = net + terms[:, i]
            net = net + bias_row
            every = np.arange(len(chunk))
            if layer == depth and soft:
                logits = np.broadcast_to(nets_last, (len(chunk), sizes[-1])).copy()
                logits[every, js] = net
                *_, moved, soft_loss = softmax_arrays(logits, targets)
                out_j = moved[every, js]
            else:
                out_j = (act_last if layer == depth else act)(net)
                moved = np.broadcast_to(outs[layer], (len(chunk), sizes[layer])).copy()
                moved[every, js] = out_j
            per_layer = []
            # Every later layer moves entirely.
            for later in range(layer + 1, len(sizes)):
                w = W[later]
                total = moved[:, :1] * w[None, :, 0]
                for i in range(1, w.shape[1]):
                    total = total + moved[:, i : i + 1] * w[None, :, i]
                total = total + B[later][None, :]
                if later == depth and soft:
                    *_, moved, soft_loss = softmax_arrays(total, targets)
                else:
                    moved = (act_last if later == depth else act)(total)
                per_layer.append((total, moved))
            # Below the last layer every error moves; in it, only neuron j's.
            errors = moved - targets[None, :] if layer < depth else (out_j - targets[js])[:, None]
            if soft:
                total_loss = soft_loss
            else:
                losses = loss(moved, targets[None, :])
                total_loss = losses[:, 0].copy()
                for k in range(1, losses.shape[1]):
                    total_loss = total_loss + losses[:, k]
            # Per row: its neuron's net and output, each later neuron's, the errors, the loss.
            pairs = [np.stack([net, out_j], axis=1)] + [
                np.stack([nets, values], axis=2).reshape(len(chunk), -1)
                for nets, values in per_layer
            ]
            # Row by row: a deep network's whole chunk as Python floats at once was many times
            # its array.
            for row in np.concatenate([*pairs, errors, total_loss[:, None]], axis=1):
                yield row.tolist()


def affected(sizes: Sequence[int], layer: int, j: int) -> Iterator[str]:
    """The neurons a weight or bias of neuron (layer, j) moves: itself, then every later one."""
    yield neuron(layer, j)
    for later in range(layer + 1, len(sizes)):
        for k in range(1, sizes[later] + 1):
            yield neuron(later, k)


REMEMBERED_WEIGHTS = 1_000
"""The most weights of a network whose names (:func:`_keys`,
:func:`_remembered_parameter_names`) are kept for its next passes: a small network's are asked
for thousands of times (a training run's error analysis) and cost little to keep; a larger
one's are made again when a named pass asks (``Network.quantities`` names nothing), never held
after (an 80-80-1 network's are 5 MB, a 200-200-1 network's 22 MB)."""


_ParameterNames = tuple[
    Iterable[str], Iterable[Iterable[Iterable[str]]], Iterable[Iterable[str]], Iterable[str]
]


def _parameter_names(sizes: tuple[int, ...]) -> _ParameterNames:
    """A network's parameters' names as ``_Parameters`` holds their numbers: its inputs, per
    layer each neuron's weights and the layer's biases, its targets; each spelled when read."""
    layers = range(1, len(sizes))
    return (
        (input_name(i) for i in range(1, sizes[0] + 1)),
        (
            (
                (weight(layer, j, i) for i in range(1, sizes[layer - 1] + 1))
                for j in range(1, sizes[layer] + 1)
            )
            for layer in layers
        ),
        ((bias(layer, j) for j in range(1, sizes[layer] + 1)) for layer in layers),
        (target_name(k) for k in range(1, sizes[-1] + 1)),
    )


@functools.lru_cache(maxsize=8)
def _remembered_parameter_names(sizes: tuple[int, ...]) -> _ParameterNames:
    """A small network's :func:`_parameter_names`, spelled once and kept."""
    inputs, weights, biases, targets = _parameter_names(sizes)
    return (
        tuple(inputs),
        tuple(tuple(map(tuple, layer)) for layer in weights),
        tuple(map(tuple, biases)),
        tuple(targets),
    )


@functools.lru_cache(maxsize=64)
def _remembered(sizes: tuple[int, ...], most: int) -> bool:
    """Whether a network of ``sizes`` has at most ``most`` weights: asked before each of a
    training run's passes, so answered once per shape."""
    return sum(a * b for a, b in itertools.pairwise(sizes)) <= most


@dataclass(frozen=True, slots=True)
class _Neuron:
    """One neuron's names: its parameters' and every quantity's (see the module's docstring)."""

    terms: tuple[tuple[str, str], ...]  # per input: n.input{i}, its weight
    bias: str
    net: str
    output: str
    target_param: str  # output neurons only, as the next four
    target: str
    error: str
    local_output: str
    local_softmax: str
    global_output: str
    local_net: str
    global_net: str
    # Per input: local.n.input{i}, local.w, global.n.input{i}, global.w, w, n.input{i}.
    chain: tuple[tuple[str, str, str, str, str, str], ...]
    local_bias: str
    global_bias: str


_Keys = tuple[tuple[str, ...], tuple[tuple[_Neuron, ...], ...]]


def _keys(sizes: tuple[int, ...]) -> _Keys:
    """The network's input names and, layer by layer, its neurons' names (see
    ``REMEMBERED_WEIGHTS``)."""
    if _remembered(sizes, REMEMBERED_WEIGHTS):
        return _remembered_keys(sizes)
    return _names(sizes)


def _names(sizes: tuple[int, ...]) -> tuple[tuple[str, ...], tuple[tuple[_Neuron, ...], ...]]:
    """What :func:`_keys` hands back, worked out."""
    layers = []
    for layer in range(1, len(sizes)):
        neurons = []
        for j in range(1, sizes[layer] + 1):
            n = neuron(layer, j)
            ins = tuple(f"{n}.input{i}" for i in range(1, sizes[layer - 1] + 1))
            ws = tuple(weight(layer, j, i) for i in range(1, sizes[layer - 1] + 1))
            b = bias(layer, j)
            neurons.append(
                _Neuron(
                    tuple(zip(ins, ws, strict=True)),
                    b,
                    f"{n}.net",
                    f"{n}.output",
                    target_name(j),
                    f"{n}.target",
                    f"{n}.error",
                    f"local.{n}.output",
                    f"local.{n}.softmax",
                    f"global.{n}.output",
                    f"local.{n}.net",
                    f"global.{n}.net",
                    tuple(
                        (f"local.{x}", f"local.{w}", f"global.{x}", f"global.{w}", w, x)
                        for x, w in zip(ins, ws, strict=True)
                    ),
                    f"local.{b}",
                    f"global.{b}",
                )
            )
        layers.append(tuple(neurons))
    return tuple(input_name(i) for i in range(1, sizes[0] + 1)), tuple(layers)


_remembered_keys = functools.lru_cache(maxsize=8)(_names)
