"""The optimizer sheets' running error analysis (``sheetgen.layouts.optimized``), which works
out every parameter's outputs of a step at once and every step's dual numbers at once, against
the same analysis written plainly here: one output of one parameter at a time, its row of the
step's Jacobian scattered into a vector and multiplied through the generators, its slopes from
its own dual step. The two add in other orders, so they agree to rounding (1e-12 relative, a
bound a thousand times larger than what it bounds minds nothing smaller), and exactly on which
cells are infinite (unchecked)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from sheetgen.layouts import optimized
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.maths.optimizers import CARRIED, EPS, ONE_STEP_REL, bounds

REL = 1e-12


def plain_growths(
    history: Sequence[Any],
    optimizer: str,
    names: Sequence[str],
    hyper: Mapping[str, float],
    scale: float,
    values: Mapping[str, float],
    extra: Any,
) -> dict[str, float]:
    """``optimized._growths`` one output at a time (its docstring in ``optimized_model``)."""
    unit = 64 * EPS * scale
    coords: list[str] = list(names)
    gens = np.zeros((len(coords), 0))
    last: dict[str, Mapping[str, float]] = {p: {} for p in names}
    out: dict[str, float] = {}
    lost = False
    slopes_at = optimized._Slopes(history, names)

    def growth(error: float, quantity: str) -> float:
        size = abs(values[quantity])
        if not 2 * error <= optimized.UNCHECKABLE * max(1.0, size):
            return math.inf
        return 2 * error / (ONE_STEP_REL * size + unit)

    for k, st in enumerate(history, start=1):
        s = f"step{k}."
        index = {q: i for i, q in enumerate(coords)}
        bound = np.abs(gens).sum(axis=1)
        lost = lost or not optimized._linear(coords, bound, st, values, s, hyper)
        if lost:
            out |= {q: math.inf for q in values if q.startswith(s) and q != s + "number"}
            continue
        leaves = list(st.leaves)
        sloped = bool(gens.shape[1]) and bool(leaves)
        jacobian: Any = slopes_at(k) if sloped else None
        row_of = {leaf: i for i, leaf in enumerate(leaves)}
        extras = extra(k, values) if extra is not None else {}
        at_names = [index[p] for p in names]
        own_bound = bound[at_names]
        for i, leaf in enumerate(leaves):
            spread = 0.0
            if sloped:
                spread = float(np.abs(jacobian[i] @ gens[at_names]).sum())
                if leaf.rpartition(".")[2] == "loss":
                    head = leaf.removesuffix("loss")
                    for a, p in enumerate(names):
                        for b in range(len(names)):
                            slope = jacobian[row_of[f"{head}global.{p}"], b]
                            spread += 0.5 * abs(slope) * own_bound[a] * own_bound[b]
            spread += extras.get(leaf, 0.0)
            out[s + leaf] = 1.0 + growth(math.inf if math.isnan(spread) else spread, s + leaf)
        rows, local, outputs = [], [], []
        for p, g in zip(names, st.gradient, strict=True):
            out[s + p] = max(1.0, growth(float(bound[index[p]]), s + p))
            own = ONE_STEP_REL * abs(g) + unit + extras.get(f"global.{p}", 0.0)
            state = [leaf for leaf in CARRIED if leaf in last[p]]
            duals = optimized._dual_step(optimizer, k, st.current[p], g, last[p], state, hyper)
            rounding = bounds(optimizer, k, g, st.state[p], 0.0, own, last[p], {}, hyper)
            slope = row_of.get(f"global.{p}") if sloped else None
            for leaf, dual in duals.items():
                d_p, d_g, *d_state = dual.d
                through = np.zeros(0)
                if gens.shape[1]:
                    r = np.zeros(gens.shape[0])
                    if slope is not None:
                        r[at_names] = d_g * jacobian[slope]
                    r[index[p]] += d_p
                    r[[index[f"{x}.{p}"] for x in state]] = d_state
                    through = r @ gens
                e = float(np.abs(through).sum()) + rounding[leaf]
                e = math.inf if math.isnan(e) else e
                out[f"{s}{leaf}.{p}"] = max(1.0, growth(e, f"{s}{leaf}.{p}"))
                if leaf == "new" or leaf in CARRIED:
                    outputs.append(p if leaf == "new" else f"{leaf}.{p}")
                    rows.append(through)
                    local.append(rounding[leaf])
            last[p] = st.state[p]
        coords = outputs
        moved = np.array(rows) if gens.shape[1] else np.zeros((len(coords), 0))
        gens = optimized._reduce(np.hstack([moved, np.diag(local)]))
    return out


def both(
    spec: str, changes: Mapping[str, float], monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, float], dict[str, float], list[Any]]:
    """The module's growths of ``spec`` at its defaults with ``changes``, the plain ones, and
    the arguments the analysis was given."""
    lay = resolve_layout(spec)
    seen: list[Any] = []
    real = optimized._growths

    def recording(*args: Any) -> Mapping[str, float]:
        seen.append(args)
        return real(*args)

    monkeypatch.setattr(optimized, "_growths", recording)
    params = dict(lay.defaults) | dict(changes)
    reference = model_for(lay.settings)(params, lay.settings)
    found = {q: reference.growth(q) for q in reference.values}
    (args,) = seen
    with np.errstate(all="ignore"):
        plain = plain_growths(*args)
    conditioning = reference.conditioning
    plain = {q: plain.get(q, 1.0) * conditioning.get(q, 1.0) for q in reference.values}
    return found, plain, list(args)


def assert_same(found: Mapping[str, float], plain: Mapping[str, float]) -> None:
    assert found.keys() == plain.keys()
    for q, value in found.items():
        if math.isinf(value) or math.isinf(plain[q]):
            assert value == plain[q], q
        else:
            assert value == pytest.approx(plain[q], rel=REL, abs=0), q


BATCH = "training:layers=2-3-1,examples=3,batch=2,steps={steps},optimizer={optimizer}"
CASES = [
    (spec, optimizer)
    for spec in (
        "training:steps={steps},optimizer={optimizer}",
        "training:layers=2-2-1,steps={steps},optimizer={optimizer}",
        BATCH,
    )
    for optimizer in ("momentum", "rmsprop", "adam")
] + [(BATCH, "sgd")]  # (the neuron's and network's gradient descent have their own analysis)


@pytest.mark.parametrize(("spec", "optimizer"), CASES)
@pytest.mark.parametrize("seed", [1, 2])
def test_every_parameter_at_once_is_one_output_at_a_time(
    spec: str, optimizer: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At random parameters (seeded), every cell's growth is the plain analysis' to 1e-12."""
    lay = resolve_layout(spec.format(steps=25, optimizer=optimizer))
    rng = random.Random(f"{spec} {optimizer} {seed}")
    changes = {
        name: value + rng.uniform(-0.5, 0.5)
        for name, value in lay.defaults.items()
        if name not in ("learning_rate", "beta", "beta1", "beta2", "epsilon", "tiny")
    }
    changes["learning_rate"] = rng.choice([0.05, 0.1, 0.3])
    found, plain, _ = both(spec.format(steps=25, optimizer=optimizer), changes, monkeypatch)
    assert any(1 < g < math.inf for g in found.values())
    assert_same(found, plain)


def test_a_run_that_is_given_up_is_given_up_at_the_same_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The neuron's 300 Adam steps at the article's numbers fall to rounding noise (the build
    refuses them): the same cells are infinite, the others agree."""
    found, plain, _ = both("training:steps=300,optimizer=adam", {}, monkeypatch)
    assert sum(map(math.isinf, found.values())) > 100
    assert_same(found, plain)


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
@pytest.mark.parametrize("epsilon", [1e-8, 0.0])
def test_a_zero_gradient_is_worked_out_one_by_one(
    optimizer: str, epsilon: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An input of 0 keeps the weight's gradient at exactly 0: its mean square is 0, whose
    root's slope ``Dual.sqrt`` takes as 0 where arrays divide by 0, so those slopes are worked
    out one by one, as plainly; and a learner's epsilon of 0 then divides 0 by 0 (NaN, as a
    spreadsheet's #DIV/0!), where the run is given up alike."""
    spec = f"training:steps=6,optimizer={optimizer}"
    found, plain, _ = both(spec, {"input": 0.0, "epsilon": epsilon}, monkeypatch)
    assert any(map(math.isinf, found.values())) == (epsilon == 0)
    assert_same(found, plain)


@pytest.mark.parametrize("optimizer", ["momentum", "rmsprop", "adam"])
def test_every_steps_dual_numbers_at_once_are_each_steps_own(
    optimizer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_dual_steps`` (arrays) gives each step's and parameter's slopes as ``_dual_step``
    does, wherever it gives a finite number (elsewhere the analysis asks ``_dual_step``)."""
    _, _, args = both(f"training:layers=2-2-1,steps=30,optimizer={optimizer}", {}, monkeypatch)
    history, _, names, hyper = args[0], args[1], args[2], args[3]
    leaves, slopes = optimized._dual_steps(optimizer, history, names, hyper)
    assert slopes.shape[:3] == (len(history), len(names), len(leaves))
    assert np.isfinite(slopes).all()
    for k in range(2, len(history) + 1):
        previous = history[k - 2]
        for i, p in enumerate(names):
            state = [leaf for leaf in CARRIED if leaf in previous.state[p]]
            st = history[k - 1]
            g = st.gradient[i]
            one = optimized._dual_step(
                optimizer, k, st.current[p], g, previous.state[p], state, hyper
            )
            assert list(one) == leaves
            expected = np.array([dual.d for dual in one.values()])
            assert slopes[k - 1, i] == pytest.approx(expected, rel=REL, abs=1e-300)


def test_the_unbounded_quantities_are_those_of_infinite_growth() -> None:
    """``Reference.unbounded`` (what the build refuses on) asks only what the amplification
    names: it finds every quantity whose growth is infinite, and only those."""
    lay = resolve_layout("training:steps=300,optimizer=adam")
    reference = model_for(lay.settings)(dict(lay.defaults), lay.settings)
    every = {q for q in reference.values if math.isinf(reference.growth(q))}
    assert every and sorted(reference.unbounded()) == sorted(every)


def test_a_growth_that_is_nan_is_given_up_on_beside_an_infinite_one() -> None:
    """The screen that spares a long run's growths a look one by one sums the finite ones
    when some are infinite (given up on already); a NaN growth is not one of those: it is
    looked at and given up on too (infinite, the cell left unchecked), never a NaN tolerance
    that no difference passes."""
    from sheetgen.maths.models import Reference

    values = {"step1.loss": 1.0, "step2.loss": 2.0, "step3.loss": 3.0}
    amplified = {"step1.loss": math.nan, "step2.loss": math.inf, "step3.loss": 2.0}
    reference = Reference(values, 1.0, 1.0, 1e-4, amplified)
    assert reference.growth("step1.loss") == math.inf
    assert reference.growth("step3.loss") == 2.0
    assert sorted(reference.unbounded()) == ["step1.loss", "step2.loss"]
