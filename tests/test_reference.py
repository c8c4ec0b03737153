"""The reference neuron against the article and against an independent oracle.

The oracle shares no code with ``sheetgen.maths.neuron``: it writes the loss as one mpmath
expression of the five parameters and differentiates it numerically at 50 digits.
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import pytest

from sheetgen.maths.neuron import (
    ACTIVATIONS,
    DIFFERENCES,
    LOSSES,
    NUDGEABLE,
    Difference,
    Neuron,
    article_report,
)
from sheetgen.maths.neuron_n import MultiNeuron

mpmath.mp.dps = 50

ARTICLE = Neuron(input=0.4, weight=0.5, bias=0.6, target=0.7)

# Every number the article's table shows, with the rounding it shows it at
# (../shared/seed/layout.md): quantity -> the text the article prints.
ARTICLE_SHOWS = {
    "net": "0.8",
    "output": "0.664",
    "error": "-0.035963",
    "loss": "0.0006467",
    "local.input": "0.5",
    "local.weight": "0.4",
    "local.bias": "1",
    "local.net": "0.5591",
    "local.output": "-0.036",
    "global.input": "-0.0101",
    "global.weight": "-0.0080",
    "global.bias": "-0.0201",
    "global.net": "-0.0201",
    "global.output": "-0.036",
    "nudge.output.output": "0.66414",
    "nudge.output.target": "0.7",
    "nudge.output.error": "-0.035863",
    "nudge.output.loss": "0.0006431",
    "nudge.output.gradient": "-0.0359",
    "nudge.net.net": "0.8001",
    "nudge.net.output": "0.66409",
    "nudge.net.target": "0.7",
    "nudge.net.error": "-0.035907",
    "nudge.net.loss": "0.0006447",
    "nudge.net.gradient": "-0.0201",
    "nudge.bias.input": "0.4",
    "nudge.bias.weight": "0.5",
    "nudge.bias.bias": "0.6001",
    "nudge.bias.net": "0.8001",
    "nudge.bias.output": "0.66409",
    "nudge.bias.target": "0.7",
    "nudge.bias.error": "-0.035907",
    "nudge.bias.loss": "0.0006447",
    "nudge.bias.gradient": "-0.0201",
    "nudge.weight.input": "0.4",
    "nudge.weight.weight": "0.5001",
    "nudge.weight.bias": "0.6",
    "nudge.weight.net": "0.80004",
    "nudge.weight.output": "0.66406",
    "nudge.weight.target": "0.7",
    "nudge.weight.error": "-0.035941",
    "nudge.weight.loss": "0.0006459",
    "nudge.weight.gradient": "-0.0080",
    "nudge.input.input": "0.4001",
    "nudge.input.weight": "0.5",
    "nudge.input.bias": "0.6",
    "nudge.input.net": "0.80005",
    "nudge.input.output": "0.66406",
    "nudge.input.target": "0.7",
    "nudge.input.error": "-0.035935",
    "nudge.input.loss": "0.0006457",
    "nudge.input.gradient": "-0.0100",
}


def shown(value: float, like: str) -> str:
    """Format ``value`` with as many decimals as the article's text ``like`` has."""
    decimals = len(like.partition(".")[2])
    return f"{value:.{decimals}f}"


def test_prints_exactly_the_article_programs_output() -> None:
    assert article_report(ARTICLE) == "Weight gradient: -0.0080\nBias gradient: -0.0201"


@pytest.mark.parametrize("quantity", sorted(ARTICLE_SHOWS))
def test_every_number_of_the_article_table(quantity: str) -> None:
    value = ARTICLE.quantities(tiny=0.0001)[quantity]
    assert shown(value, ARTICLE_SHOWS[quantity]) == ARTICLE_SHOWS[quantity]


# ---- the oracle -------------------------------------------------------------------------

ERROR_LOSSES = sorted(set(LOSSES) - {"cross-entropy"})
"""The losses of the error, with any activation; cross-entropy (a sigmoid output) has its own
oracle in test_cross_entropy.py."""


def oracle_loss(x: Any, w: Any, b: Any, t: Any, activation: str, loss: str) -> Any:
    net = x * w + b
    out = {
        "tanh": mpmath.tanh(net),
        "sigmoid": 1 / (1 + mpmath.exp(-net)),
        "relu": net if net > 0 else mpmath.mpf(0),
        "linear": net,
    }[activation]
    e = out - t
    return e * e / 2 if loss == "half-squared" else e * e


def oracle_gradients(n: Neuron) -> dict[str, float]:
    args = [mpmath.mpf(v) for v in (n.input, n.weight, n.bias, n.target)]

    def partial(i: int) -> float:
        def f(v: Any) -> Any:
            a = list(args)
            a[i] = v
            return oracle_loss(a[0], a[1], a[2], a[3], n.activation, n.loss)

        return float(mpmath.diff(f, args[i]))

    return {"global.input": partial(0), "global.weight": partial(1), "global.bias": partial(2)}


CASES = [
    Neuron(),
    Neuron(input=0.9, weight=-0.3, bias=0.1, target=-0.5),
    Neuron(input=-2.0, weight=1.5, bias=0.25, target=0.99),
    Neuron(input=3.0, weight=0.01, bias=-1.0, target=0.0),
]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("loss", ERROR_LOSSES)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_global_gradients_match_the_oracle(activation: str, loss: str, case: int) -> None:
    base = CASES[case]
    n = Neuron(base.input, base.weight, base.bias, base.target, activation, loss)
    got = n.gradients()
    for name, want in oracle_gradients(n).items():
        assert math.isclose(got[name], want, rel_tol=1e-12, abs_tol=1e-15), name


def test_faux_gradients_approach_the_real_ones_as_tiny_shrinks() -> None:
    """Forward differences err by O(Tiny); central ones by O(Tiny^2)."""
    real = ARTICLE.gradients()
    for name in ("output", "net", "bias", "weight", "input"):
        errors = [
            abs(ARTICLE.faux_gradients(h)[f"nudge.{name}.gradient"] - real[f"global.{name}"])
            for h in (1e-2, 1e-3)
        ]
        assert errors[1] < errors[0] / 5, name
        central = [
            abs(
                ARTICLE.faux_gradients(h, "central")[f"nudge.{name}.gradient"]
                - real[f"global.{name}"]
            )
            for h in (1e-2, 1e-3)
        ]
        assert central[1] < central[0] / 50 + 1e-15, name  # exact for a quadratic loss
        assert central[0] < errors[0] + 1e-15, name


def test_forward_pass_is_the_articles_maths() -> None:
    f = Neuron(input=0.9, weight=-0.3, bias=0.1, target=-0.5).forward()
    assert f["net"] == 0.9 * -0.3 + 0.1
    assert f["output"] == math.tanh(f["net"])
    assert f["loss"] == (f["output"] + 0.5) ** 2 / 2


# ---- the chart's data ---------------------------------------------------------------------

EPS = 2.0**-52


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("step", [0.1, 0.37])
def test_chart_sweep_matches_the_oracle(activation: str, case: int, step: float) -> None:
    """Loss, tangent and secant at every weight of the chart, against the oracle's loss."""
    base = CASES[case]
    n = Neuron(base.input, base.weight, base.bias, base.target, activation)
    tiny = 0.0001
    got = n.sweep(step, tiny)
    x, w0, b, t = (mpmath.mpf(v) for v in (n.input, n.weight, n.bias, n.target))

    def loss(w: Any) -> Any:
        return oracle_loss(x, w, b, t, activation, n.loss)

    slope = mpmath.diff(loss, w0)
    faux = (loss(w0 + mpmath.mpf(tiny)) - loss(w0)) / mpmath.mpf(tiny)
    # The faux slope in doubles carries each loss's rounding, magnified by 1 / tiny.
    faux_slack = 64 * EPS * max(abs(float(loss(w0))), 1e-300) / tiny
    ks = [got[f"sweep.{i}.k"] for i in range(len(got) // 5)]
    assert ks == list(range(-5, 6))
    for i, k in enumerate(ks):
        w = w0 + k * mpmath.mpf(step)
        moved = float(w - w0)
        want = {
            "weight": w,
            "loss": loss(w),
            "tangent": loss(w0) + slope * (w - w0),
            "secant": loss(w0) + faux * (w - w0),
        }
        for leaf, value in want.items():
            slack = 1e-15 + (faux_slack * abs(moved) if leaf == "secant" else 0.0)
            assert math.isclose(
                got[f"sweep.{i}.{leaf}"], float(value), rel_tol=1e-12, abs_tol=slack
            ), f"sweep.{i}.{leaf}"
    middle = ks.index(0)
    assert got[f"sweep.{middle}.tangent"] == got[f"sweep.{middle}.loss"]


def test_the_article_models_chart_is_the_templates() -> None:
    """The neuron model gives the chart's data when given its weight step, as the template's
    table names it, and the table's k column holds the model's k."""
    from sheetgen.layouts.families import model_for
    from sheetgen.layouts.layout import load_layout

    lay = load_layout("single_neuron")
    values = model_for(lay.settings)(lay.defaults, lay.settings).values
    chart = [c for c in lay if c.quantity and c.quantity.startswith("sweep.") and c.kind != "input"]
    assert chart and all(c.quantity in values for c in chart)
    assert all(values[c.quantity or ""] == c.value for c in chart if c.kind == "constant")


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("loss", ERROR_LOSSES)
@pytest.mark.parametrize("difference", DIFFERENCES)
def test_the_general_neuron_with_one_input_is_the_articles_neuron(
    activation: str, loss: str, difference: Difference
) -> None:
    """MultiNeuron (N inputs, what variants use) equals the readable Neuron exactly, on every
    quantity the article's neuron has: the readable one stays the reference for both."""
    article = Neuron(0.4, 0.5, 0.6, 0.7, activation, loss).quantities(1e-4, difference)
    general = MultiNeuron((0.4,), (0.5,), 0.6, 0.7, activation, loss).quantities(1e-4, difference)
    assert {k: general[k] for k in article} == article
    assert set(general) - set(article) == {f"nudge.{n}.distance" for n in NUDGEABLE}
