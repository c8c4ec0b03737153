"""Training sheets stepped by an optimizer other than plain gradient descent: momentum,
RMSProp or Adam (``training:optimizer=adam,beta1=0.9,beta2=0.999,epsilon=1e-08``).

What the neuron's and the network's training sheets share: the settings' editable cells, the
state columns of every step (velocity, mean square, first and second moments and their
bias-corrected values, one column per parameter each, labelled), their formulas, and the
reference run with the tolerances it derives. The algorithms themselves are
``sheetgen.maths.optimizers``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..maths.models import Reference
from ..maths.optimizers import (
    CARRIED,
    DEFAULTS,
    EPS,
    ONE_STEP_REL,
    STATE_NAMES,
    Dual,
    Optimizer,
    bounds,
    step,
)
from ..maths.steps import Steps
from .grid import Grid

LABELS: Mapping[str, str] = {
    "beta": "Beta",
    "beta1": "Beta1",
    "beta2": "Beta2",
    "epsilon": "Epsilon",
}
NOTES: Mapping[str, str] = {
    "beta": "How much of the last step's state each step keeps (momentum's friction; "
    "RMSProp's averaging). Edit it: the training re-runs.",
    "beta1": "Adam: how much of the last first moment (the average gradient) each step keeps.",
    "beta2": "Adam: how much of the last second moment (the average squared gradient) each "
    "step keeps.",
    "epsilon": "Added to the square root before dividing, so a gradient near 0 never divides by 0.",
}
GROUPS: Mapping[str, str] = {
    "velocity": "Momentum: velocity",
    "mean_square": "RMSProp: mean square of the gradient",
    "moment1": "Adam: first moments",
    "moment2": "Adam: second moments",
    "corrected1": "Adam: bias-corrected first moments",
    "corrected2": "Adam: bias-corrected second moments",
}
UPDATES: Mapping[str, str] = {
    "sgd": "Gradient descent: {p} - learning rate * d loss / d {p}.",
    "momentum": "Momentum: {p} - learning rate * velocity.",
    "rmsprop": "RMSProp: {p} - learning rate * d loss / d {p} / (sqrt(mean square) + epsilon).",
    "adam": "Adam: {p} - learning rate * corrected first moment / (sqrt(corrected second "
    "moment) + epsilon).",
}


def state_columns(
    optimizer: Optimizer, params: Sequence[str], label: Callable[[str], str]
) -> list[tuple[str, str, str]]:
    """The state columns of a step, as (leaf, header, group): each kind of state, one column
    per parameter (``label(p)`` names it in the header)."""
    return [
        (f"{leaf}.{p}", f"{label(p)} {STATE_NAMES[leaf]}", GROUPS[leaf])
        for leaf in optimizer.state
        for p in params
    ]


def settings_inputs(g: Grid, optimizer: Optimizer, column: int, row: int) -> int:
    """The optimizer's settings, editable, from ``column`` of ``row`` (headers above);
    returns the next free column."""
    for key in optimizer.defaults:
        g.text(column, row - 1, LABELS[key])
        g.input(column, row, key, NOTES[key])
        column += 1
    return column


def put_state(put: Callable[[str, str, str], None], optimizer: Optimizer, k: int, p: str) -> None:
    """Step k's state cells and update for parameter ``p`` (``put(leaf, formula, note)``)."""
    s, last = f"step{k}.", f"step{k - 1}."
    g = f"{{{s}global.{p}}}"

    def average(leaf: str, beta: str, term: str, what: str) -> None:
        # One note for every step (a hint for step 30 is read from step 1's).
        note = (
            f"{STATE_NAMES[leaf].capitalize()} = {beta} * the last step's + (1 - {beta}) * "
            f"{what}; before step 1 it is 0."
        )
        if k == 1:
            put(f"{leaf}.{p}", f"=(1-{{{beta}}})*{term}", note)
        else:
            put(f"{leaf}.{p}", f"={{{beta}}}*{{{last}{leaf}.{p}}}+(1-{{{beta}}})*{term}", note)

    def root(square: str) -> str:
        return f"(SQRT({{{s}{square}.{p}}})+{{epsilon}})"

    name = optimizer.name
    if name == "momentum":
        note = f"Velocity = beta * the last step's + d loss / d {p}; before step 1 it is 0."
        if k == 1:
            put(f"velocity.{p}", f"={g}", note)
        else:
            put(f"velocity.{p}", f"={{beta}}*{{{last}velocity.{p}}}+{g}", note)
        direction = f"{{{s}velocity.{p}}}"
    elif name == "rmsprop":
        average("mean_square", "beta", f"{g}^2", f"(d loss / d {p})^2")
        direction = f"{g}/{root('mean_square')}"
    elif name == "adam":
        average("moment1", "beta1", g, f"d loss / d {p}")
        average("moment2", "beta2", f"{g}^2", f"(d loss / d {p})^2")
        for corrected, moment, beta in (
            ("corrected1", "moment1", "beta1"),
            ("corrected2", "moment2", "beta2"),
        ):
            put(
                f"{corrected}.{p}",
                f"={{{s}{moment}.{p}}}/(1-{{{beta}}}^{{{s}number}})",
                f"Bias correction: {STATE_NAMES[moment]} / (1 - {beta} ^ step): early moments, "
                "averaged with the zeros they start from, are scaled back up.",
            )
        direction = f"{{{s}corrected1.{p}}}/{root('corrected2')}"
    else:
        direction = g
    put(f"new.{p}", f"={{{s}{p}}}-{{learning_rate}}*{direction}", UPDATES[name].format(p=p))


Row = Callable[[Mapping[str, float]], Mapping[str, float]]
"""One step's forward and backward pass from the parameters: every quantity of the row that
the optimizer does not compute, ``global.<p>`` for each parameter ``p`` among them."""


StepRows = Callable[[int], tuple[Row, Sequence[str]]]
"""Step k's own row function and the quantities it shows, when the steps' rows differ (each
step's mini-batch holds other examples: ``sheetgen.layouts.batch_training``)."""
Extra = Callable[[int, Mapping[str, float]], Mapping[str, float]]
"""What step k's row quantities may carry beyond one cell's rounding, given every quantity's
value (a batch's mean carries its terms': ``sheetgen.layouts.batch_training``), by leaf; a
cell computed once, not among them, carries nothing more. Asked once a step."""


@dataclass(frozen=True)
class _Step:
    """What the error analysis reads of a step beyond the run's numbers (``Steps``, which hold
    the row's cells): not the row itself, whose names (a batch's ``example<m>.`` prefixed
    every example's pass) cost ten times its numbers, every step till the tolerances ask; nor
    a copy of the data set each (a CSV's 200 examples are 600 numbers)."""

    current: Mapping[str, float]  # the learnable parameters as this step starts
    gradient: Sequence[float]  # the row's ``global.<p>``, each parameter's in order
    state: Mapping[str, Mapping[str, float]]  # per parameter: the optimizer's cells and ``new``
    compute: Row  # how this step's row is computed from the parameters, for the slopes
    leaves: Sequence[str]  # the row's quantities the sheet shows
    given: Mapping[str, float]  # the run's settings, data and first parameters: every step's

    def row_input(self) -> dict[str, float]:
        """What ``compute`` was given: the run's settings and data, this step's parameters."""
        return {**self.given, **self.current}


def optimized_model(
    params: Mapping[str, float],
    optimizer: str,
    names: Sequence[str],
    steps: int,
    row: Row,
    leaves: Sequence[str],
    scales: Callable[[Mapping[str, float], Mapping[str, float]], tuple[float, float]],
    *,
    at_step: StepRows | None = None,
    extra: Extra | None = None,
) -> Reference:
    """Train step by step with ``optimizer``; tolerances from a running error analysis.

    ``names`` are the learnable parameters, ``row(current)`` a step's forward and backward
    pass, ``leaves`` the row's quantities the sheet shows, ``scales(current, row)`` the
    tolerances' value and loss scales of one step (the largest over the steps are used).
    ``at_step(k)``, when given, replaces ``row`` and ``leaves`` for step k; ``extra(k,
    values)`` gives the errors step k's row quantities carry beyond their own rounding (a
    gradient averaged over a batch carries its terms'), by leaf, each added to its bound and,
    for a gradient, to what enters the optimizer.

    Tolerances, a running error analysis in one unit ``U = 64 EPS value_scale``, what one
    step's rounding of a cell computed from exact parameters may reach
    (``sheetgen.check.judge``). Step 1 starts from exact copies of the start cells. What is
    carried from step to step (each parameter, each velocity or moment) is in error by at most
    ``G η`` for some ``|η| <= 1``: a zonotope whose generators ``G`` keep their signs, so that
    errors which cancel over a few steps (momentum's oscillation) are not taken as growth. A
    row cell ``c`` carries its own ``U`` and ``Σ |J_c G|`` (``J_c``: its slopes by the
    parameters, central differences; the loss, flat at a minimum, also ``½ b |H| b`` with
    ``H`` the gradients' slopes and ``b`` the parameters' bounds). Each optimizer output's
    slopes by its parameter, gradient and state come from dual numbers
    (``sheetgen.maths.optimizers.Dual``) and, through the gradient's slopes, by every
    parameter: that row of the step's Jacobian moves ``G`` on, and the output's own rounding
    (``sheetgen.maths.optimizers.bounds`` with exact inputs and the gradient's ``U``) is a
    new generator. A cell's growth holds twice its bound. The analysis is first order, so it is
    trusted only while the carried errors are small (``_linear``); beyond, and wherever a
    bound reaches ``UNCHECKABLE``, the growth is infinite and the cell is left unchecked.
    """
    hyper = {k: params[k] for k in ("learning_rate", *DEFAULTS) if k in params}
    given = dict(params)
    current = given
    values = Steps(params)
    carried: dict[str, dict[str, float]] = {p: {} for p in names}
    history: list[_Step] = []
    scale, loss_scale = 1.0, 0.0
    # A step's leaves: its number, the row's, then each parameter's and its optimizer's cells.
    shapes: dict[tuple[tuple[str, ...], ...], tuple[str, ...]] = {}
    for k in range(1, steps + 1):
        compute, shown = at_step(k) if at_step is not None else (row, leaves)
        r = compute(current)
        numbers = [float(k), *(r[leaf] for leaf in shown)]
        state: dict[str, dict[str, float]] = {}
        for p in names:
            out = step(optimizer, k, current[p], r[f"global.{p}"], carried[p], hyper)
            state[p] = out
            numbers.append(current[p])
            numbers.extend(out.values())
            carried[p] = {leaf: out[leaf] for leaf in CARRIED if leaf in out}
        key = (tuple(shown), *(tuple(state[p]) for p in names))
        if (named := shapes.get(key)) is None:
            named = shapes[key] = (
                "number",
                *shown,
                *(f"{x}.{p}" if x else p for p in names for x in ("", *state[p])),
            )
        values.add(named, numbers)
        gradient = tuple(r[f"global.{p}"] for p in names)
        own = {p: current[p] for p in names}
        history.append(_Step(own, gradient, state, compute, shown, given))
        s_k, l_k = scales(current, r)
        scale, loss_scale = max(scale, s_k), max(loss_scale, l_k)
        current = current | {p: state[p]["new"] for p in names}

    held: list[Sequence[_Step] | Steps] = [history]  # the steps till the growths are known

    def amplification() -> Steps:  # for tolerances only: the builder never asks
        import numpy as np  # here, not at the top: building a sheet never needs it

        given = held[0]
        if isinstance(given, Steps):  # a copy of the reference (``replace``) asks again
            return given
        with np.errstate(all="ignore"):  # a diverged run's infinities bound nothing: inf it is
            found = held[0] = _growths(given, optimizer, names, hyper, scale, values, extra)
        return found  # the history let go: the reference keeps this closure to the end

    return Reference(values, scale, loss_scale, 1.0, amplification)


def _growths(
    history: Sequence[_Step],
    optimizer: str,
    names: Sequence[str],
    hyper: Mapping[str, float],
    scale: float,
    values: Steps,
    extra: Extra | None,
) -> Steps:
    """Each quantity's growth (see :func:`optimized_model`), given every quantity's value: a
    step's under its number, its row's leaves (in that order: a row's cells are read back from
    ``values`` by place), its parameters and its optimizer's outputs."""
    import numpy as np

    unit = 64 * EPS * scale
    coords: list[str] = list(names)  # what carries from step to step: ``p``, ``<leaf>.<p>``
    gens = np.zeros((len(coords), 0))  # the carried error: gens @ η for some |η| <= 1
    last: dict[str, Mapping[str, float]] = {p: {} for p in names}
    out = Steps({})
    lost = False  # once the carried error is too large to follow to first order
    slopes_at = _Slopes(history, names)
    leaves_out, all_slopes = _dual_steps(optimizer, history, names, hyper)
    # What carries to the next step, by parameter: the outputs ``kept`` of each.
    kept = [j for j, leaf in enumerate(leaves_out) if leaf == "new" or leaf in CARRIED]
    carried = [p if leaves_out[j] == "new" else f"{leaves_out[j]}.{p}" for p in names for j in kept]
    shapes: dict[tuple[str, ...], tuple[dict[str, int], list[int], Any]] = {}
    suffixes: dict[tuple[str, ...], tuple[str, ...]] = {}

    def shape_of(leaves: Sequence[str]) -> tuple[dict[str, int], list[int], Any]:
        """A row's leaves by position, its losses' positions (an example's loss, or the
        batch's) and, for each, the positions of the gradients it has (an example's own):
        the same for every step that shows the same leaves."""
        key = tuple(leaves)
        if key not in shapes:
            row_of = {leaf: i for i, leaf in enumerate(leaves)}
            losses = [i for i, leaf in enumerate(leaves) if leaf.rpartition(".")[2] == "loss"]
            heads = [leaves[i].removesuffix("loss") for i in losses]
            rows = [[row_of[f"{head}global.{p}"] for p in names] for head in heads]
            shapes[key] = row_of, losses, np.array(rows, dtype=int).reshape(len(losses), -1)
        return shapes[key]

    for k, st in enumerate(history, start=1):
        s = f"step{k}."
        index = {q: i for i, q in enumerate(coords)}
        bound = np.abs(gens).sum(axis=1)
        lost = lost or not _linear(coords, bound, st, values, s, hyper)
        if lost:
            given_up = tuple(leaf for leaf in values.leaves(k) if leaf != "number")
            out.add(given_up, [math.inf] * len(given_up))
            continue
        leaves = st.leaves
        # Each row cell's slopes by the parameters (a row per leaf), from the second step on.
        sloped = bool(gens.shape[1]) and bool(leaves)
        jacobian: Any = slopes_at(k) if sloped else None

        # Every row cell's ``Σ |J_c G|`` at once: its slopes by the parameters (rows of one
        # matrix) through the parameters' generators.
        row_of, losses, hessians = shape_of(leaves)
        extras = extra(k, values) if extra is not None else {}
        at_names = [index[p] for p in names]
        own_bound = bound[at_names]
        spread = np.zeros(len(leaves))
        if sloped:
            through_params = jacobian @ gens[at_names]
            spread = np.abs(through_params).sum(axis=1)
            if losses:  # flat at a minimum: ½ Σ |H[p, q]| b[p] b[q], every loss's at once
                terms = np.abs(jacobian[hessians]) * own_bound[:, None] * own_bound[None, :]
                spread[losses] += 0.5 * terms.reshape(len(losses), -1).sum(axis=1)
        for leaf, more in extras.items():  # the few leaves that carry more than their own
            if leaf in row_of:
                spread[row_of[leaf]] += more
        spread[np.isnan(spread)] = math.inf
        # The optimizer's outputs, every parameter at once. Each output's carried error is
        # ``r @ gens`` for its row ``r`` of the step's Jacobian: its slope by its parameter
        # times that parameter's generators, by the gradient times the gradient's own
        # ``jacobian[slope] @ gens[params]`` (a row of ``through_params``, every row cell's at
        # once above) and by each state times that state's generators. So a parameter's
        # outputs are its slopes (``coefficients``, from the dual numbers) times a stack of
        # those few rows (``basis``): one small product per parameter, all in one call.
        state = [leaf for leaf in CARRIED if leaf in last[names[0]]]
        rounding = []
        for p, g in zip(names, st.gradient, strict=True):
            own = ONE_STEP_REL * abs(g) + unit  # the gradient cell's own rounding
            own += extras.get(f"global.{p}", 0.0)
            rounding.append(bounds(optimizer, k, g, st.state[p], 0.0, own, last[p], {}, hyper))
        local = np.array([[r[leaf] for leaf in leaves_out] for r in rounding], dtype=float)
        if gens.shape[1]:
            # Each output's slopes by its parameter, gradient and state: every step's worked
            # out at once before, where finite; one by one where not (a division by 0).
            coefficients = all_slopes[k - 1].copy()
            for i in np.flatnonzero(~np.isfinite(coefficients).all(axis=(1, 2))).tolist():
                p = names[i]
                duals = _dual_step(
                    optimizer, k, st.current[p], st.gradient[i], last[p], state, hyper
                )
                coefficients[i] = [dual.d for dual in duals.values()]
            slopes = [row_of.get(f"global.{p}") if sloped else None for p in names]
            gradient = np.zeros((len(names), gens.shape[1]))
            known = [i for i, at in enumerate(slopes) if at is not None]
            if known:
                gradient[known] = through_params[[slopes[i] for i in known]]
            coefficients[[i for i, at in enumerate(slopes) if at is None], :, 1] = 0.0
            basis = np.stack(
                [
                    gens[at_names],
                    gradient,
                    *(gens[[index[f"{x}.{p}"] for p in names]] for x in state),
                ],
                axis=1,
            )
            through = coefficients @ basis  # a parameter, an output, a generator
            errors = np.abs(through).sum(axis=2) + local
        else:
            through = np.zeros((len(names), len(leaves_out), 0))
            errors = local + 0.0
        for p in names:
            last[p] = st.state[p]
        # Every cell's growth at once: a row cell's ``1 + growth(spread)``; a parameter's (what
        # it carries in) and an output's at least one step's allowance.
        named = tuple(leaves)  # the cells' names but the step's prefix: once per shape
        if (after := suffixes.get(named)) is None:
            after = suffixes[named] = (
                *leaves,
                *names,
                *(f"{leaf}.{p}" for p in names for leaf in leaves_out),
            )
        sizes = [*values.row(k)[1 : 1 + len(leaves)], *(st.current[p] for p in names)]
        sizes += [st.state[p][leaf] for p in names for leaf in leaves_out]
        grown = _growth(sizes, np.concatenate([spread, own_bound, errors.ravel()]), unit)
        grown[: len(leaves)] += 1.0
        grown[len(leaves) :] = np.fmax(1.0, grown[len(leaves) :])
        out.add(after, grown.tolist())
        coords = carried
        moved = through[:, kept, :].reshape(len(coords), gens.shape[1])
        gens = _reduce(np.hstack([moved, np.diag(local[:, kept].ravel())]))
    return out


def _growth(values: Sequence[float], errors: Any, unit: float) -> Any:
    """What the allowance of one step's rounding must be multiplied by to hold each error of
    ``errors`` twice over, for cells of those ``values`` (the allowance is relative as well as
    absolute); infinite once that reaches ``UNCHECKABLE`` (or for an error that is NaN)."""
    import numpy as np

    size = np.abs(np.array(values, dtype=float))
    grown = 2 * errors / (ONE_STEP_REL * size + unit)
    grown[~(2 * errors <= UNCHECKABLE * np.fmax(1.0, size))] = math.inf
    return grown


LINEAR = 1e-4
"""How large a carried error may be, relative to what it is an error of, for its first-order
propagation to be trusted: beyond, the cells are given up (unchecked, ``sheetgen.check.judge``)."""
UNCHECKABLE = 1e-3
"""A cell whose allowance would reach this much of its size (at least 1) is given up too: a
1 % slip could hide in it."""
ROOT_LINEAR = 1e-2
"""The same for an average of squared gradients, whose root (plus epsilon) divides the update:
within 1 % the second order is within the factor 2 every bound is given."""


def _linear(
    coords: Sequence[str],
    bound: Any,
    st: _Step,
    values: Mapping[str, float],
    s: str,
    hyper: Mapping[str, float],
) -> bool:
    """Whether step ``s`` starts with errors small enough to follow to first order: each
    parameter's within ``LINEAR`` of its size (at least 1), and each carried average of
    squared gradients within ``ROOT_LINEAR`` of itself, or its root's error within
    ``ROOT_LINEAR`` of epsilon, since that root (plus epsilon) divides the update (when the
    gradients have fallen to rounding noise, it is noise)."""
    for q, b in zip(coords, bound, strict=True):
        leaf, _, p = q.partition(".")
        if not p:  # a parameter
            if not b <= LINEAR * max(1.0, abs(st.current[q])):
                return False
        elif leaf in ("mean_square", "moment2"):
            last = int(s[4:-1]) - 1
            square = values[f"step{last}.{q}"]
            correction = 1 - hyper.get("beta2", 0.0) ** last if leaf == "moment2" else 1.0
            root_error = math.sqrt(b / correction) if correction > 0 else math.inf
            if not (b <= ROOT_LINEAR * abs(square) or root_error <= ROOT_LINEAR * hyper["epsilon"]):
                return False
    return True


def _reduce(gens: Any, most: int = 8) -> Any:
    """At most ``most`` times as many generators as coordinates: the smallest are replaced by
    the box around them (each coordinate's sum of their sizes), which contains every error
    they could make (Girard's order reduction of a zonotope). Without it the generators
    would grow by a step's coordinates every step."""
    import numpy as np

    dim, count = gens.shape
    if count <= most * dim:
        return gens
    norms = np.abs(gens).sum(axis=0)
    order = np.argsort(norms)
    small = gens[:, order[: count - (most - 1) * dim]]
    kept = gens[:, order[count - (most - 1) * dim :]]
    return np.hstack([kept, np.diag(np.abs(small).sum(axis=1))])


def _dual_steps(
    optimizer: str, history: Sequence[_Step], names: Sequence[str], hyper: Mapping[str, float]
) -> tuple[list[str], Any]:
    """:func:`_dual_step` of every step and parameter at once, with arrays for numbers (a
    row per step, a column per parameter), each carried state as if the last step's (0 before
    step 1): the outputs' names, in the order of ``step``, and their slopes, an array indexed
    by step (from 0), parameter, output and slope. Each value is worked out as one parameter's
    own step works it out, but for ``beta ** k`` (numpy's power for the step numbers) and
    where an array's division by 0 or root of a negative number gives what Python's does not
    (an infinite or NaN slope, which the caller works out again one by one)."""
    import numpy as np

    state = [leaf for leaf in CARRIED if leaf in history[0].state[names[0]]]
    width = 2 + len(state)
    shape = (len(history), len(names))
    ones: Any = np.ones(shape)
    zeros: Any = np.zeros(shape)

    def unit(i: int, value: Any) -> Dual:
        return Dual(value, tuple(ones if j == i else zeros for j in range(width)))

    param = unit(0, np.array([[st.current[p] for p in names] for st in history], dtype=float))
    grad = unit(1, np.array([st.gradient for st in history], dtype=float))
    carried = {
        leaf: unit(
            2 + i,
            np.array(
                [[0.0] * len(names)] + [[st.state[p][leaf] for p in names] for st in history[:-1]]
            ),
        )
        for i, leaf in enumerate(state)
    }
    k: Any = np.arange(1, len(history) + 1, dtype=float)[:, None]
    duals = step(optimizer, k, param, grad, carried, hyper, _roots)
    slopes = np.stack(
        [np.stack(np.broadcast_arrays(*d.d), axis=-1) for d in duals.values()], axis=2
    )
    return list(duals), slopes


def _roots(x: Dual) -> Dual:
    """``Dual.sqrt`` of arrays: a root of 0 gives an infinite or NaN slope here, where
    ``Dual.sqrt`` knows better (the caller asks it again)."""
    import numpy as np

    root = np.sqrt(x.value)
    return Dual(root, tuple([a / (2 * root) for a in x.d]))


def _dual_step(
    optimizer: str,
    k: int,
    p: float,
    g: float,
    previous: Mapping[str, float],
    state: Sequence[str],
    hyper: Mapping[str, float],
) -> dict[str, Dual]:
    """The optimizer's step in dual numbers: each result's slopes by the parameter, the
    gradient and each carried state (in the order of ``state``)."""
    width = 2 + len(state)

    def unit(i: int, value: float) -> Dual:
        return Dual(value, tuple(1.0 if j == i else 0.0 for j in range(width)))

    carried = {leaf: unit(2 + i, previous[leaf]) for i, leaf in enumerate(state)}
    return step(optimizer, k, unit(0, p), unit(1, g), carried, hyper, Dual.sqrt)


class _Slopes:
    """Each step's slopes (:func:`_slopes`), worked out for up to ``CHUNK`` steps at once where
    the steps share a row (one call: a row that runs many sets of parameters together,
    ``many``, runs them all at once), and at most ``VARIANTS`` sets of parameters (each a copy
    of every parameter) at once."""

    CHUNK = 64
    VARIANTS = 2048

    def __init__(self, history: Sequence[_Step], names: Sequence[str]) -> None:
        self.history, self.names = history, names
        self.found: dict[int, Any] = {}

    def __call__(self, k: int) -> Any:
        """Step k's slopes (k from 1), with those of the next steps that share its row."""
        if k not in self.found:
            first = self.history[k - 1]
            chunk = max(1, min(self.CHUNK, self.VARIANTS // (2 * max(1, len(self.names)))))
            last = min(k + chunk, len(self.history) + 1)
            window = range(k, last)
            same = [
                j
                for j in window
                if j not in self.found
                and self.history[j - 1].compute == first.compute
                and self.history[j - 1].leaves == first.leaves
            ]
            currents = [self.history[j - 1].row_input() for j in same]
            found = _slopes(first.compute, currents, self.names, first.leaves)
            self.found |= zip(same, found, strict=True)
        return self.found.pop(k)


def _slopes(
    row: Row,
    currents: Sequence[Mapping[str, float]],
    names: Sequence[str],
    leaves: Sequence[str],
) -> list[Any]:
    """For each set of parameters ``current`` of ``currents``, ``d c / d p`` for every row
    cell ``c`` and every parameter ``p``, by central differences (a step of ``1e-6`` times the
    parameter, at least 1e-6), infinite where not finite: a matrix, a row per leaf and a
    column per parameter.

    A row that offers ``many(columns)`` (every parameter and quantity as an array, one value
    per set of parameters: a batch's examples with numpy, ``sheetgen.maths.batch.batch_passes``)
    is run once for every nudged set of every ``current`` together (each value of an array is
    worked out on its own: one run per ``current`` gives the same slopes); it may answer None,
    and each set runs on its own."""
    import numpy as np

    steps = [1e-6 * max(1.0, abs(current[p])) for current in currents for p in names]
    many = getattr(row, "many", None)
    arrays = many(_nudged(currents, names, steps)) if many is not None else None
    if arrays is None:
        variants = [
            {**current, p: current[p] + sign * steps[n * len(names) + i]}
            for n, current in enumerate(currents)
            for i, p in enumerate(names)
            for sign in (1, -1)
        ]
        pick = operator.itemgetter(*leaves)  # a run's leaves at once (one leaf: not a tuple)
        runs = np.array([pick(run) for run in map(row, variants)], dtype=float)
        stacked = runs.reshape(len(variants), len(leaves)).T  # a row per leaf
    else:
        stacked = np.empty((len(leaves), 2 * len(steps)))  # a row per leaf: every leaf at once
        for i, leaf in enumerate(leaves):
            stacked[i] = arrays[leaf]
    with np.errstate(all="ignore"):
        jacobians = (stacked[:, 0::2] - stacked[:, 1::2]) / (2 * np.array(steps))
    jacobians[~np.isfinite(jacobians)] = math.inf
    width = len(names)
    return [
        np.ascontiguousarray(jacobians[:, n * width : (n + 1) * width])
        for n in range(len(currents))
    ]


def _nudged(
    currents: Sequence[Mapping[str, float]], names: Sequence[str], steps: Sequence[float]
) -> dict[str, Any]:
    """The sets of parameters :func:`_slopes` runs, as columns (each parameter's values, one
    per set): for each ``current`` in turn, each parameter of ``names`` up by its step, then
    down, the others as they are."""
    import numpy as np

    width = 2 * len(names)
    columns = {
        key: np.repeat(np.array([current[key] for current in currents], dtype=float), width)
        for key in currents[0]
    }
    nudges = np.array(steps, dtype=float).reshape(len(currents), len(names))
    for i, p in enumerate(names):
        columns[p][2 * i :: width] += nudges[:, i]
        columns[p][2 * i + 1 :: width] -= nudges[:, i]
    return columns
