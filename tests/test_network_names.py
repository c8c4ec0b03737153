"""A network's quantities held as one vector (``sheetgen.maths.network_names``): the same names,
order and numbers as the dict the passes make, every name found where it is and no other."""

from __future__ import annotations

import itertools
import random

import pytest

from sheetgen.maths.network import (
    Network,
    affected,
    default_parameters,
    learnable,
    neuron,
    parse_faux,
    parse_layers,
)
from sheetgen.maths.network_names import Order, Quantities


def as_dict(net: Network, tiny: float, faux: tuple[str, ...] | None) -> dict[str, float]:
    """The quantities as one dict, made from the named passes (what the sheet shows): the faux
    rows from ``Network.forward`` re-run by name with each parameter nudged, not from the
    positional passes ``quantities`` runs, so the two are held to each other bit for bit."""
    f = net.forward()
    g = net.gradients(f)
    depth = len(net.sizes) - 1
    out = dict(net.params)
    out.update(f)
    out.update(g)
    chosen = [
        (name, layer, j) for name, layer, j in learnable(net.sizes) if faux is None or name in faux
    ]
    for name, layer, j in chosen:
        up = net.forward(name, tiny)
        p = f"nudge.{name}."
        out[p + name] = net.params[name] + tiny
        for n in affected(net.sizes, layer, j):
            out[f"{p}{n}.net"], out[f"{p}{n}.output"] = up[f"{n}.net"], up[f"{n}.output"]
        for k in range(1, net.sizes[-1] + 1):
            if layer < depth or k == j:  # the outputs this parameter moves
                error = f"{neuron(depth, k)}.error"
                out[p + error] = up[error]
        out[p + "loss"] = up["loss"]
        out[p + "gradient"] = (up["loss"] - f["loss"]) / tiny
    out.update((f"nudge.{name}.real", g[f"global.{name}"]) for name, _, _ in chosen)
    return out


CASES = [
    ("2-3-1", "tanh", "half-squared", "all"),
    ("3-4-2", "sigmoid", "squared", "all"),
    ("2-3-3-2", "relu", "half-squared", "5"),
    ("4-2", "linear", "half-squared", "all"),
    ("3-4-3", "tanh", "cross-entropy", "all"),
    ("2-2-1", "tanh", "cross-entropy", "w1_2_1+b2_1"),
    ("3-2-4-3", "sigmoid", "cross-entropy", "7"),
    ("5-1", "tanh", "half-squared", "none"),
]


@pytest.mark.parametrize(("layers", "activation", "loss", "faux"), CASES)
def test_the_vector_holds_what_the_dict_held(
    layers: str, activation: str, loss: str, faux: str
) -> None:
    sizes = parse_layers(layers)
    rng = random.Random(f"{layers}{activation}{loss}{faux}")
    params = {k: v * rng.uniform(0.5, 2) for k, v in default_parameters(sizes).items()}
    net = Network(sizes, params, activation, loss)
    chosen = parse_faux(faux, sizes)
    want = as_dict(net, 1e-4, chosen)
    got = net.quantities(1e-4, chosen)
    assert isinstance(got, Quantities)
    assert list(got) == list(want)  # the same names in the same order
    assert len(got) == len(want)
    assert list(got.items()) == list(want.items())
    assert list(got.values()) == list(want.values())
    for name, value in want.items():
        assert name in got
        assert got[name] == value or (value != value and got[name] != got[name]), name
        assert got.get(name) == value or value != value, name
    assert got == want
    for ends in ((".error",), (".gradient", ".distance")):
        assert list(got.ending(ends)) == [(k, v) for k, v in want.items() if k.endswith(ends)]


def near_misses(name: str) -> list[str]:
    """Names one slip away from ``name``: a number changed, padded or dropped, a part added."""
    out = [name + ".net", name + "x", "x" + name, name.upper(), name.replace(".", "..", 1)]
    for k, ch in enumerate(name):
        if ch.isdigit():
            out += [name[:k] + "0" + name[k:], name[:k] + name[k + 1 :]]
            out += [name[:k] + str((int(ch) + d) % 10) + name[k + 1 :] for d in (1, 2, 9)]
    return out


@pytest.mark.parametrize(("layers", "activation", "loss", "faux"), CASES)
def test_a_name_the_network_has_not_is_found_nowhere(
    layers: str, activation: str, loss: str, faux: str
) -> None:
    sizes = parse_layers(layers)
    net = Network(sizes, default_parameters(sizes), activation, loss)
    chosen = parse_faux(faux, sizes)
    want = as_dict(net, 1e-4, chosen)
    got = net.quantities(1e-4, chosen)
    rng = random.Random(layers)
    names = rng.sample(sorted(want), min(len(want), 60))
    for name in itertools.chain.from_iterable(near_misses(n) for n in names):
        assert (name in got) == (name in want), name
        assert got.get(name, "none") == want.get(name, "none"), name
        if name not in want:
            with pytest.raises(KeyError):
                got[name]
    for name in ("", ".", "nudge.", "local.", "nudge..loss", "n1_1", "softmax.max", "loss."):
        assert (name in got) == (name in want), name


def test_every_place_is_one_names() -> None:
    order = Order((3, 4, 2), False, [0, 5, 19])
    places = [order.position(name) for name in order.names()]
    assert places == list(range(order.size))
    with pytest.raises(ValueError, match="twice"):
        Order((2, 1), False, [1, 1])
    with pytest.raises(ValueError, match="numbers for"):
        Quantities({}, order, [0.0] * (order.size - 1))
