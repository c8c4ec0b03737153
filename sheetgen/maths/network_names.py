"""A network's quantities as one vector of numbers, their names spelled only when asked.

A network sheet's reference holds a number for each of its cells: 98,500 for an 80-80-1 network
with every faux row. As a dict by name each cost a key string of its own (60-80 bytes), a float
(24) and a slot of the dict (40): 14 MB. The names follow a grammar (``sheetgen.maths.network``'s
docstring), so :class:`Quantities` keeps the numbers in one ``array('d')`` in a fixed order
(:class:`Order`: the order in which the network's passes work them out) and finds a name's place
by reading the name, never by a table of names; it spells the names only when iterated.
"""

from __future__ import annotations

from array import array
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from typing import Any

__all__ = ["Order", "Quantities", "bias", "neuron", "weight"]


def neuron(layer: int, j: int) -> str:
    return f"n{layer}_{j}"


def weight(layer: int, j: int, i: int) -> str:
    return f"w{layer}_{j}_{i}"


def bias(layer: int, j: int) -> str:
    return f"b{layer}_{j}"


def _number(text: str) -> int:
    """``text`` as a whole number from 1 spelled as :func:`neuron` spells it, else 0."""
    if text.isdecimal() and text.isascii() and text[0] != "0":
        return int(text)
    return 0


_NO_PARAMETER = (-1, 0, 0, 0)


class Order:
    """Where each computed quantity of a network sits in its vector, and its name at each place.

    The order is the one the passes of ``sheetgen.maths.network.Network`` add the quantities
    in (what ``tests/test_network_names.py`` holds it to): the forward pass, layer by layer
    (each neuron's inputs and net, then the layer's outputs; a softmax's max and sum; then each
    output's target and error, and the loss); the backward pass, from the last layer to the
    first (each neuron's own slopes, then per input its local and global gradients, then its
    bias's); the quantities of each faux row (``rows``: the places of their weights and biases
    in ``learnable`` order, ascending; None for all); and each faux row's real gradient.
    """

    def __init__(self, sizes: Sequence[int], softmax: bool, rows: Iterable[int] | None) -> None:
        self.sizes = sizes = tuple(sizes)
        self.softmax = softmax
        depth = self.depth = len(sizes) - 1
        outputs = sizes[-1]
        self._last: tuple[str, tuple[int, int, int, int]] = ("", _NO_PARAMETER)
        self._neurons = {
            neuron(layer, j): (layer, j)
            for layer in range(1, depth + 1)
            for j in range(1, sizes[layer] + 1)
        }
        # The forward pass.
        self._forward = forward = [0] * (depth + 2)
        at = 0
        for layer in range(1, depth + 1):
            forward[layer] = at
            at += sizes[layer] * (sizes[layer - 1] + 2) + (2 if self._softmax_layer(layer) else 0)
        forward[depth + 1] = at  # each output's target and error, then the loss
        at += 2 * outputs + 1
        # The backward pass, last layer first.
        self._backward = backward = [0] * (depth + 1)
        for layer in range(depth, 0, -1):
            backward[layer] = at
            at += sizes[layer] * self._block(layer)
        # The faux rows, then their real gradients.
        self._learnable = [0] * (depth + 1)  # where each layer's weights and biases begin
        count = 0
        for layer in range(1, depth + 1):
            self._learnable[layer] = count
            count += sizes[layer] * (sizes[layer - 1] + 1)
        self._row_of = array("l", [-1]) * count  # a weight or bias's faux row, -1 for none
        self._later = [sum(sizes[layer + 1 :]) for layer in range(depth + 1)]
        self._rows = array("l")  # where each faux row begins
        self._places = array("l", range(count) if rows is None else rows)
        for row, place in enumerate(self._places):
            if not 0 <= place < count or self._row_of[place] >= 0:
                raise ValueError(f"No weight or bias {place} of the network, or it is twice.")
            self._row_of[place] = row
            self._rows.append(at)
            at += self._row_size(self._unplace(place)[0])
        self._reals = at
        self.size = at + len(self._places)

    def _softmax_layer(self, layer: int) -> bool:
        return self.softmax and layer == self.depth

    def _head(self, layer: int) -> tuple[str, ...]:
        """A neuron's own slopes in the backward pass, in order."""
        if self._softmax_layer(layer):
            return ("local.softmax", "global.net")
        if layer == self.depth:
            return ("local.output", "global.output", "local.net", "global.net")
        return ("global.output", "local.net", "global.net")

    def _block(self, layer: int) -> int:
        """A neuron's quantities in the backward pass: its slopes, 4 per input, 2 for its bias."""
        return len(self._head(layer)) + 4 * self.sizes[layer - 1] + 2

    def _row_size(self, layer: int) -> int:
        """A faux row's: the nudged value, net and output of each neuron moved, the errors
        moved, the loss, the faux gradient."""
        moved_outputs = self.sizes[-1] if layer < self.depth else 1
        return 1 + 2 * (1 + self._later[layer]) + moved_outputs + 2

    def _parameter(self, name: str) -> tuple[int, int, int, int]:
        """The place of weight or bias ``name`` in ``learnable`` order, its layer, neuron and
        input (fan-in + 1 for a bias); a place of -1 for no such weight or bias. The last
        answer is kept (one tuple, replaced whole): the verifier asks for a faux row's cells one
        after another, each naming the same parameter."""
        last = self._last
        if last[0] == name:
            return last[1]
        found = self._parsed(name)
        self._last = (name, found)
        return found

    def _parsed(self, name: str) -> tuple[int, int, int, int]:
        digits = name[1:]
        parts = digits.split("_")
        if (
            not (digits.isascii() and digits.replace("_", "").isdecimal())
            or "" in parts
            or "_0" in "_" + digits  # a number spelled with a leading 0
        ):
            return _NO_PARAMETER
        kind = name[:1]
        if kind == "w" and len(parts) == 3:
            layer, j, i = map(int, parts)
        elif kind == "b" and len(parts) == 2:
            layer, j = map(int, parts)
            i = 0
        else:
            return _NO_PARAMETER
        if not (0 < layer <= self.depth and 0 < j <= self.sizes[layer]):
            return _NO_PARAMETER
        fan_in = self.sizes[layer - 1]
        if kind == "b":
            i = fan_in + 1
        elif not 0 < i <= fan_in:
            return _NO_PARAMETER
        return self._learnable[layer] + (j - 1) * (fan_in + 1) + i - 1, layer, j, i

    def _unplace(self, place: int) -> tuple[int, int, int]:
        """The layer, neuron and input (fan-in + 1 for the bias) of a weight or bias's place."""
        layer = 1
        while layer < self.depth and self._learnable[layer + 1] <= place:
            layer += 1
        j, i = divmod(place - self._learnable[layer], self.sizes[layer - 1] + 1)
        return layer, j + 1, i + 1

    def _spelled(self, place: int) -> tuple[str, int, int]:
        """The name, layer and neuron of the weight or bias at ``place``."""
        layer, j, i = self._unplace(place)
        name = bias(layer, j) if i > self.sizes[layer - 1] else weight(layer, j, i)
        return name, layer, j

    def position(self, name: str) -> int:
        """The place of quantity ``name`` in the vector, or -1 when the network has none."""
        head, _, rest = name.partition(".")
        if head == "nudge":
            return self._nudged(rest)
        if head == "local" or head == "global":
            return self._slope(head, rest)
        where = self._neurons.get(head)
        if where is None:
            if name == "loss":
                return self._forward[self.depth + 1] + 2 * self.sizes[-1]
            if head == "softmax" and self.softmax:
                end = self._forward[self.depth + 1]
                return end - 2 if rest == "max" else end - 1 if rest == "sum" else -1
            return -1
        layer, j = where
        if rest == "net":
            return self.net_place(layer, j)
        if rest == "output":
            return self.output_place(layer, j)
        if rest.startswith("input"):
            i = _number(rest[5:])
            fan_in = self.sizes[layer - 1]
            return self.net_place(layer, j) - fan_in + i - 1 if 0 < i <= fan_in else -1
        if layer == self.depth and (rest == "target" or rest == "error"):
            return self.target_place(j) + (rest == "error")
        return -1

    def _slope(self, side: str, rest: str) -> int:
        """``local.`` or ``global.`` + ``rest``: a neuron's slope or its input's, a parameter's."""
        head, _, field = rest.partition(".")
        where = self._neurons.get(head)
        if where is None:
            place, layer, j, i = self._parameter(rest)
            if place < 0:
                return -1
            if i > self.sizes[layer - 1]:  # a bias
                return self._slopes(layer, j, i) + (side == "global")
            return self._slopes(layer, j, i) + 1 + 2 * (side == "global")
        layer, j = where
        if field.startswith("input"):
            i = _number(field[5:])
            if not 0 < i <= self.sizes[layer - 1]:
                return -1
            return self._slopes(layer, j, i) + 2 * (side == "global")
        try:
            base = self._backward[layer] + (j - 1) * self._block(layer)
            return base + self._head(layer).index(f"{side}.{field}")
        except ValueError:
            return -1

    def _nudged(self, rest: str) -> int:
        """``nudge.`` + ``rest``: a quantity of a faux row."""
        name, _, field = rest.partition(".")
        place, layer, j, _ = self._parameter(name)
        row = self._row_of[place] if place >= 0 else -1
        if row < 0:
            return -1
        start = self._rows[row]
        head, _, leaf = field.partition(".")
        where = self._neurons.get(head)
        if where is None:
            if leaf:
                return -1
            errors = start + 3 + 2 * self._later[layer]
            ending = errors + (self.sizes[-1] if layer < self.depth else 1)
            if head == "loss":
                return ending
            if head == "gradient":
                return ending + 1
            if head == "real":
                return self._reals + row
            return start if head == name else -1
        moved, k = where
        if leaf == "error":
            if moved != self.depth:
                return -1
            errors = start + 3 + 2 * self._later[layer]
            if layer < self.depth:
                return errors + k - 1
            return errors if k == j else -1
        if leaf != "net" and leaf != "output":
            return -1
        if moved == layer:
            offset = 0 if k == j else -1
        elif moved > layer:
            offset = 1 + self._later[layer] - self._later[moved - 1] + k - 1
        else:
            offset = -1
        return -1 if offset < 0 else start + 1 + 2 * offset + (leaf == "output")

    def names(self) -> Iterator[str]:
        """Every name, in the vector's order (spelled now, held by no one)."""
        yield from self.forward_names()
        yield from self.backward_names()
        yield from self.faux_names()
        yield from self.real_names()

    def forward_names(self) -> Iterator[str]:
        """The forward pass's names, in order: the vector's first ``self.backward_start``."""
        sizes, depth = self.sizes, self.depth
        for layer in range(1, depth + 1):
            for j in range(1, sizes[layer] + 1):
                n = neuron(layer, j)
                yield from (f"{n}.input{i}" for i in range(1, sizes[layer - 1] + 1))
                yield f"{n}.net"
            yield from (f"{neuron(layer, j)}.output" for j in range(1, sizes[layer] + 1))
            if self._softmax_layer(layer):
                yield from ("softmax.max", "softmax.sum")
        for j in range(1, sizes[-1] + 1):
            yield from (f"{neuron(depth, j)}.target", f"{neuron(depth, j)}.error")
        yield "loss"

    def backward_names(self) -> Iterator[str]:
        """The backward pass's names, in order, last layer first."""
        sizes = self.sizes
        for layer in range(self.depth, 0, -1):
            head = self._head(layer)
            for j in range(1, sizes[layer] + 1):
                n = neuron(layer, j)
                yield from (f"{side}.{n}.{field}" for side, _, field in map(_split, head))
                for i in range(1, sizes[layer - 1] + 1):
                    x, w = f"{n}.input{i}", weight(layer, j, i)
                    yield from (f"local.{x}", f"local.{w}", f"global.{x}", f"global.{w}")
                b = bias(layer, j)
                yield from (f"local.{b}", f"global.{b}")

    def faux_names(self) -> Iterator[str]:
        """The faux rows' names, in order (their real gradients apart: :meth:`real_names`)."""
        sizes, depth = self.sizes, self.depth
        for place in self._places:
            name, layer, j = self._spelled(place)
            p = f"nudge.{name}."
            yield p + name
            for moved in self._moved(layer, j):
                yield from (f"{p}{moved}.net", f"{p}{moved}.output")
            for k in range(1, sizes[-1] + 1):
                if layer < depth or k == j:
                    yield f"{p}{neuron(depth, k)}.error"
            yield from (p + "loss", p + "gradient")

    def real_names(self) -> Iterator[str]:
        """Each faux row's real gradient's name, in the rows' order."""
        yield from (f"nudge.{self._spelled(place)[0]}.real" for place in self._places)

    # Places by position, for the passes that work out the numbers without their names.

    @property
    def backward_start(self) -> int:
        """Where the backward pass's quantities begin (the forward pass's count)."""
        return self._backward[self.depth]

    def net_place(self, layer: int, j: int) -> int:
        """The place of neuron (``layer``, ``j``)'s net, ``j`` from 1; its inputs are the
        ``sizes[layer - 1]`` places before it."""
        return self._forward[layer] + j * (self.sizes[layer - 1] + 1) - 1

    def output_place(self, layer: int, j: int) -> int:
        """The place of neuron (``layer``, ``j``)'s output, ``j`` from 1."""
        return self._forward[layer] + self.sizes[layer] * (self.sizes[layer - 1] + 1) + j - 1

    def target_place(self, k: int) -> int:
        """The place of output ``k``'s target (its error is the next), ``k`` from 1."""
        return self._forward[self.depth + 1] + 2 * (k - 1)

    def global_place(self, layer: int, j: int, i: int) -> int:
        """The place of ``global.`` of the weight from input ``i`` into neuron (``layer``,
        ``j``), or of its bias for ``i`` = fan-in + 1."""
        return self._slopes(layer, j, i) + (1 if i > self.sizes[layer - 1] else 3)

    def _slopes(self, layer: int, j: int, i: int) -> int:
        """Where the slopes of input ``i`` of neuron (``layer``, ``j``) begin in the backward
        pass: ``local.`` of the input, of its weight, ``global.`` of each; for ``i`` = fan-in
        + 1, the bias's ``local.`` and ``global.``."""
        base = self._backward[layer] + (j - 1) * self._block(layer)
        return base + len(self._head(layer)) + 4 * (i - 1)

    def rows(self) -> Iterator[tuple[int, int, int]]:
        """The layer, neuron and input (fan-in + 1 for a bias) of each faux row's weight or
        bias, in the rows' order."""
        return map(self._unplace, self._places)

    def _moved(self, layer: int, j: int) -> Iterator[str]:
        """The neurons a weight or bias of neuron (layer, j) moves: itself, then every later one."""
        yield neuron(layer, j)
        for later in range(layer + 1, self.depth + 1):
            yield from (neuron(later, k) for k in range(1, self.sizes[later] + 1))

    def ending(self, ends: tuple[str, ...]) -> Iterator[tuple[int, str]]:
        """The place and name of each quantity whose name ends with one of ``ends``, in order
        (``.error``, ``.gradient``: a few hundredths of them, spelled without the others)."""
        if ".error" in ends:
            for j in range(1, self.sizes[-1] + 1):
                yield self._forward[self.depth + 1] + 2 * j - 1, f"{neuron(self.depth, j)}.error"
        for row, place in enumerate(self._places):
            name, layer, j = self._spelled(place)
            start = self._rows[row] + 3 + 2 * self._later[layer]
            p = f"nudge.{name}."
            if ".error" in ends:
                for k in range(1, self.sizes[-1] + 1):
                    if layer < self.depth:
                        yield start + k - 1, f"{p}{neuron(self.depth, k)}.error"
                    elif k == j:
                        yield start, f"{p}{neuron(self.depth, k)}.error"
            if ".gradient" in ends:
                yield start + (self.sizes[-1] if layer < self.depth else 1) + 1, p + "gradient"


def _split(slope: str) -> tuple[str, str, str]:
    return slope.partition(".")


class Quantities(Mapping[str, float]):
    """A network's quantities by name: ``params`` (as given, first), then the computed ones,
    ``values`` in ``order``'s order (an ``array('d')`` taken as it is, not copied). Read-only,
    as the dict it stands for is never changed."""

    __slots__ = ("_order", "_params", "_shadowed", "_values")

    def __init__(self, params: Mapping[str, float], order: Order, values: Iterable[float]) -> None:
        self._params = dict(params)
        self._order = order
        self._values = (
            values if isinstance(values, array) and values.typecode == "d" else array("d", values)
        )
        if len(self._values) != order.size:
            raise ValueError(f"{len(self._values)} numbers for {order.size} quantities.")
        # A parameter named as a computed quantity takes the computed number, in its place.
        self._shadowed = sum(order.position(k) >= 0 for k in self._params)

    def __getitem__(self, name: str) -> float:
        place = self._order.position(name)
        if place >= 0:
            return self._values[place]
        return self._params[name]

    def get(self, name: str, default: Any = None) -> Any:
        place = self._order.position(name)
        if place >= 0:
            return self._values[place]
        return self._params.get(name, default)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return self._order.position(name) >= 0 or name in self._params

    def __len__(self) -> int:
        return len(self._params) + self._order.size - self._shadowed

    def __iter__(self) -> Iterator[str]:
        yield from self._params
        computed = self._order.names()
        if self._shadowed:
            computed = (name for name in computed if name not in self._params)
        yield from computed

    def _numbers(self) -> Iterator[float]:
        position, values = self._order.position, self._values
        for name, value in self._params.items():
            place = position(name) if self._shadowed else -1
            yield values[place] if place >= 0 else value
        if not self._shadowed:
            yield from values
        else:
            for name, value in zip(self._order.names(), values, strict=True):
                if name not in self._params:
                    yield value

    def values(self) -> ValuesView[float]:
        return _Values(self)

    def items(self) -> ItemsView[str, float]:
        return _Items(self)

    def ending(
        self, ends: tuple[str, ...], named: str | None = None
    ) -> Iterator[tuple[str, float]]:
        """The names ``named`` or ending with one of ``ends`` (``.error``; ``.gradient`` and
        ``.distance``) and their numbers, in order, the computed ones spelled without the
        others."""
        if not set(ends) <= {".error", ".gradient", ".distance"}:
            yield from ((k, v) for k, v in self.items() if k == named or k.endswith(ends))
            return
        for name, value in self._params.items():
            if (name == named or name.endswith(ends)) and self._order.position(name) < 0:
                yield name, value
        values = self._values
        for place, name in self._order.ending(ends):
            yield name, values[place]


class _Values(ValuesView[float]):
    _mapping: Quantities

    def __iter__(self) -> Iterator[float]:
        return self._mapping._numbers()


class _Items(ItemsView[str, float]):
    _mapping: Quantities

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return zip(self._mapping, self._mapping._numbers(), strict=True)
