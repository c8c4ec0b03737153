"""The network's faux rows: every nudged forward pass (computed together, as arrays) against
an oracle at 50 digits written here from the maths alone, and against the one-pass-at-a-time
reference."""

from __future__ import annotations

import mpmath
import pytest

from sheetgen.maths.network import Network, affected, default_parameters, learnable, parse_layers

ORACLE_ACTIVATIONS = {
    "tanh": mpmath.tanh,
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "relu": lambda x: max(mpmath.mpf(0), x),
    "linear": lambda x: x,
}


def oracle_pass(sizes: list[int], p: dict[str, mpmath.mpf], activation: str) -> dict[str, object]:
    """Every neuron's net and output and the loss, at the working precision."""
    act = ORACLE_ACTIVATIONS[activation]
    out: dict[str, object] = {}
    values = [p[f"x{i + 1}"] for i in range(sizes[0])]
    for layer in range(1, len(sizes)):
        nets = [
            mpmath.fsum(values[i] * p[f"w{layer}_{j + 1}_{i + 1}"] for i in range(sizes[layer - 1]))
            + p[f"b{layer}_{j + 1}"]
            for j in range(sizes[layer])
        ]
        values = [act(n) for n in nets]
        for j, (n, v) in enumerate(zip(nets, values, strict=True)):
            out[f"n{layer}_{j + 1}.net"], out[f"n{layer}_{j + 1}.output"] = n, v
    out["loss"] = mpmath.fsum((v - p[f"target{j + 1}"]) ** 2 / 2 for j, v in enumerate(values))
    return out


@pytest.mark.parametrize(
    ("layers", "activation"),
    [("2-3-1", "tanh"), ("3-4-2", "sigmoid"), ("2-3-3-2", "relu"), ("4-2", "linear")],
)
def test_nudged_passes_match_the_oracle(layers: str, activation: str) -> None:
    sizes = parse_layers(layers)
    tiny = 1e-4
    params = {k: v * 1.7 if k != "tiny" else v for k, v in default_parameters(sizes).items()}
    net = Network(sizes, params, activation)
    values = net.faux_gradients(tiny, net.forward())
    with mpmath.workdps(50):
        for name, layer, j in learnable(sizes):
            p = {k: mpmath.mpf(v) for k, v in params.items()}
            p[name] = mpmath.mpf(params[name] + tiny)  # the sheet nudges in doubles
            exact = oracle_pass(list(sizes), p, activation)
            for n in affected(sizes, layer, j):
                for leaf in ("net", "output"):
                    got = values[f"nudge.{name}.{n}.{leaf}"]
                    want = float(exact[f"{n}.{leaf}"])  # type: ignore[arg-type]
                    assert got == pytest.approx(want, rel=1e-13, abs=1e-15), (name, n, leaf)
            got_loss = values[f"nudge.{name}.loss"]
            assert got_loss == pytest.approx(float(exact["loss"]), rel=1e-13, abs=1e-16), name  # type: ignore[arg-type]


def test_all_at_once_is_one_at_a_time() -> None:
    """The arrays give what ``Network.forward(name, tiny)`` gives pass by pass (to an ulp or
    two: numpy's tanh and Python's may differ in the last bit)."""
    sizes = parse_layers("5-4-3")
    net = Network(sizes, default_parameters(sizes))
    f = net.forward()
    values = net.faux_gradients(1e-4, f)
    for name, layer, j in learnable(sizes):
        up = net.forward(name, 1e-4)
        for n in affected(sizes, layer, j):
            assert values[f"nudge.{name}.{n}.net"] == pytest.approx(up[f"{n}.net"], rel=1e-15)
        assert values[f"nudge.{name}.loss"] == pytest.approx(up["loss"], rel=1e-14)
