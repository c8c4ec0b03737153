"""The losses, in plain Python: the one place the neuron, the network and the training sheets'
reference models take them from.

An error loss (``half-squared``, ``squared``) is a function of ``error = output - target``.
``cross-entropy`` needs probabilities: one output is a sigmoid and its loss the binary
cross-entropy ``-(t ln y + (1 - t) ln(1 - y))``; several outputs are a softmax of the nets
``z`` and the loss ``logsumexp(z) - Σ t_k z_k``, which is ``-Σ t_k ln p_k`` for targets that
sum to 1, and whose slope by ``z_k`` is ``p_k - t_k`` for any targets.

Arithmetic in doubles, as a sheet's: ``ln 0`` is ``-inf`` and a division by zero ``nan``
(the sheet shows ``#NUM!`` or ``#DIV/0!`` there; the verifier leaves such a cell unchecked).

Tolerances. A sigmoid's output ``y = 1 / (1 + exp(-net))`` is rounded in the sheet and here:
``exp`` within an ulp, ``1 + e`` and the division half an ulp each, so each side's ``y`` is
within ``1.5 eps y`` of the exact one and the two within ``3 eps y``; we allow ``4 eps y``
(:data:`OWN`). The net it comes from carries ``64 eps S`` (``S`` the value scale, see
``sheetgen.check.judge``), so ``y`` is known to ``64 eps (y / 16 + y (1 - y) S)``. A quantity
``q = f(y)`` then carries ``|f'(y)|`` times that: :func:`bce_conditioning` gives it in units of
``64 eps``. It is large only where ``1 - y`` is computed from a ``y`` near 1: ``1 - y`` has
relative error ``eps y / (1 - y)`` (the condition of ``1 - y``), so ``ln(1 - y)``, ``y (1 -
y)`` and ``(y - t) / (y (1 - y))`` lose digits as the net grows (``ln y`` does not: its
condition is ``1 / |ln y|``, at most 1 in absolute error). Where that bound exceeds
:data:`RESOLUTION` of the cell's value (or of ``S`` for a value near 0) a 1 % slip could hide
in it, and the cell is not judged (:func:`unresolved`). The softmax form is stable: every
``exp`` takes ``z_k - max z <= 0``, and the loss and ``p_k - t_k`` carry ``eps`` times the
nets' magnitudes, which ``S`` already bounds.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

EPS = sys.float_info.epsilon
UNIT = 64 * EPS
"""The unit the verifier's absolute tolerances are counted in (``sheetgen.check.judge``)."""
OWN = 4 / 64
"""A sigmoid output's own rounding, ``4 eps y``, in units of ``64 eps y``."""
RESOLUTION = 1e-3
"""A cell whose rounding may reach this fraction of its value could hide a 1 % slip."""
CROSS_ENTROPY = "cross-entropy"


@dataclass(frozen=True)
class Loss:
    """A loss of one output and its target, with its slope d loss / d output.

    ``output_activation``: the activation the loss needs on the output (None: any).
    """

    name: str
    forward: Callable[[float, float], float]  # (output, target) -> loss
    derivative: Callable[[float, float], float]  # (output, target) -> d loss / d output
    output_activation: str | None = None


def ln(x: float) -> float:
    """``ln x`` as a sheet computes it, in doubles: ``-inf`` at 0 and ``nan`` below."""
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def _ln_complement(y: float) -> float:
    """``ln(1 - y)``: exact for the double ``y`` (log1p), ``-inf`` at 1, ``nan`` above."""
    if y < 1:
        return math.log1p(-y)
    return -math.inf if y == 1 else math.nan


def binary_cross_entropy(y: float, t: float) -> float:
    """``-(t ln y + (1 - t) ln(1 - y))``; a term whose log is ``-inf`` makes it ``inf`` (or
    ``nan`` with a zero weight, as ``0 * LN(0)`` is an error in a sheet)."""
    return -(t * ln(y) + (1 - t) * _ln_complement(y))


def binary_cross_entropy_slope(y: float, t: float) -> float:
    """d loss / d y = ``(y - t) / (y (1 - y))``; ``nan`` where ``y (1 - y)`` is 0."""
    denominator = y * (1 - y)
    return (y - t) / denominator if denominator != 0 else math.nan


def _square(d: float) -> float:
    """``d ** 2``, infinite past a double's range (where Python's power raises
    OverflowError and a spreadsheet shows #NUM!), so the builder refuses it in a sentence."""
    try:
        return d**2
    except OverflowError:
        return math.inf


LOSSES: Mapping[str, Loss] = {
    # The article's loss: the /2 makes d loss / d error equal the error itself.
    "half-squared": Loss("half-squared", lambda y, t: _square(y - t) / 2.0, lambda y, t: y - t),
    # The series' first article: (output - target)^2, so the gradient doubles.
    "squared": Loss("squared", lambda y, t: _square(y - t), lambda y, t: 2.0 * (y - t)),
    CROSS_ENTROPY: Loss(
        CROSS_ENTROPY, binary_cross_entropy, binary_cross_entropy_slope, output_activation="sigmoid"
    ),
}


def output_activation(loss: str, activation: str, outputs: int = 1) -> str:
    """The output layer's activation: the loss's own (``sigmoid``; ``softmax`` for
    cross-entropy over several outputs), else the network's ``activation``."""
    if loss == CROSS_ENTROPY:
        return "sigmoid" if outputs == 1 else "softmax"
    return LOSSES[loss].output_activation or activation


@dataclass(frozen=True)
class Softmax:
    """The numerically stable softmax and cross-entropy of the nets ``z`` for ``targets``."""

    max: float  # max z
    sum: float  # Σ exp(z_k - max z), in [1, K]
    probabilities: tuple[float, ...]  # exp(z_k - max z) / sum
    loss: float  # max z + ln(sum) - Σ t_k z_k

    @property
    def logsumexp(self) -> float:
        return self.max + math.log(self.sum)


def softmax(z: Sequence[float], targets: Sequence[float]) -> Softmax:
    """Softmax and cross-entropy, each ``exp`` of ``z_k - max z <= 0`` so none overflows;
    sums left to right, as the sheet's formulas add."""
    top = max(z)
    exps = [math.exp(v - top) for v in z]
    total = 0.0
    for k, e in enumerate(exps):
        total = e if k == 0 else total + e
    dot = 0.0
    for k, (t, v) in enumerate(zip(targets, z, strict=True)):
        dot = t * v if k == 0 else dot + t * v
    return Softmax(top, total, tuple(e / total for e in exps), math.log(total) + top - dot)


def softmax_rounding(z: Sequence[float], targets: Sequence[float], scale: float) -> float:
    """A bound, in units of eps, on what the softmax loss carries in rounding: its terms'
    magnitudes (``|max z|``, ``ln K``, ``Σ |t_k z_k|``) and the nets' own rounding (``scale``
    each) passed on by the slopes ``|p_k - t_k|``."""
    s = softmax(z, targets)
    terms = (
        abs(s.max) + math.log(len(z)) + 1 + sum(abs(t * v) for t, v in zip(targets, z, strict=True))
    )
    slopes = sum(abs(p - t) for p, t in zip(s.probabilities, targets, strict=True))
    return abs(s.loss) + terms + slopes * scale


def _bce_slopes(y: float, t: float) -> dict[str, float]:
    """``|f'(y)|`` of each quantity the binary cross-entropy's sheet computes from ``y``."""
    d = y * (1 - y)
    if d <= 0 or not math.isfinite(d):
        return {"loss": math.inf, "local.output": math.inf, "local.net": math.inf}
    return {
        "loss": abs(-t / y + (1 - t) / (1 - y)),
        "local.output": abs((d - (y - t) * (1 - 2 * y)) / d / d),  # d * d may underflow
        "local.net": abs(1 - 2 * y),
    }


def bce_conditioning(y: float, t: float, scale: float) -> dict[str, float]:
    """The rounding each quantity of a sigmoid output with binary cross-entropy may carry from
    ``y``, in units of ``64 eps`` (module docstring): ``|f'(y)| (y / 16 + y (1 - y) scale)``.

    ``y`` within a few ulps of 1 (``1 - y <= 4 eps``) may round to exactly 1 in the sheet,
    whose ``1 - y`` is then 0: every quantity that divides by it or takes its log, the chain
    rule's products below it included, is unresolved (``inf``).
    """
    spread = OWN * abs(y) + abs(y * (1 - y)) * scale
    out = {q: slope * spread for q, slope in _bce_slopes(y, t).items()}
    if 1 - y <= 4 * EPS or y <= 0:
        out["global"] = math.inf
    return out


def unresolved(extra: float, value: float, scale: float) -> bool:
    """Whether ``extra`` (units of ``64 eps``) of rounding could hide a 1 % slip in a cell of
    ``value`` (module docstring)."""
    return not math.isfinite(value) or UNIT * extra > RESOLUTION * max(abs(value), scale)


def growth_for(extra: float, value: float, scale: float) -> float:
    """The factor a cell's tolerance ``64 eps scale`` grows by to hold ``extra`` more, or
    ``inf`` where that rounding is :func:`unresolved`."""
    if unresolved(extra, value, scale):
        return math.inf
    return 1.0 + extra / scale


def bce_growths(
    values: Mapping[str, float],
    scale: float,
    output: str,
    target: str,
    roles: Mapping[str, Sequence[str]],
    through: Sequence[str] = (),
) -> dict[str, float]:
    """The tolerance growths (:func:`growth_for`) of the quantities a sigmoid output ``output``
    with binary cross-entropy for ``target`` feeds: ``roles`` names, for each of ``loss``,
    ``local.output`` (d loss / d output) and ``local.net`` (d output / d net), the quantities
    that are that function of the output; ``through``, those the chain rule computes through
    them (unresolved with them when the output may round to 1, see :func:`bce_conditioning`)."""
    y, t = values[output], values[target]
    extra = bce_conditioning(y, t, scale)
    out: dict[str, float] = {}
    for role, quantities in roles.items():
        for q in quantities:
            out[q] = growth_for(extra[role], values[q], scale)
    if math.isinf(extra.get("global", 0.0)):
        out |= {q: math.inf for q in through}
    return out


def bce_loss_rounding(
    values: Mapping[str, float], scale: float, loss: str, output: str, target: str
) -> float:
    """What the loss ``loss``, computed from ``output``, may carry in rounding, in units of
    ``64 eps``, for the faux gradients' ``(loss' - loss) / Tiny`` (``Reference.loss_scale``)."""
    extra = bce_conditioning(values[output], values[target], scale)["loss"]
    return abs(values[loss]) + extra + scale


TARGET = re.compile(r"(example\d+\.)?target\d*")
"""A layout's target parameters: ``target`` (a neuron), ``target1``... (a network's outputs)
or ``example3.target1``... (a data set's, one set per example)."""


def target_problem(targets: Mapping[str, float]) -> str | None:
    """Why cross-entropy cannot take these targets (by name), in one sentence, or None: each
    must be a probability, and several (a softmax's) a distribution, summing to 1."""
    for name, t in targets.items():
        if not 0.0 <= t <= 1.0:
            return (
                f"Cross-entropy needs targets in [0, 1] (probabilities, such as 0 or 1 for a "
                f"class), but {name} is {t!r}."
            )
    total = math.fsum(targets.values())
    if len(targets) > 1 and abs(total - 1.0) > 1e-9:
        listed = ", ".join(f"{k}={v!r}" for k, v in targets.items())
        return (
            f"Cross-entropy over several outputs (a softmax) needs targets that sum to 1 (one-hot "
            f"such as 1, 0, 0, or probabilities), but {listed} sum to {total!r}."
        )
    return None


def target_groups(names: Iterable[str]) -> list[list[str]]:
    """The sets of targets among a sheet's parameter names, each one output layer's (the
    layout's own, or each example's of a data set), in the order the names come."""
    groups: dict[str, list[str]] = {}
    for name in names:
        if match := TARGET.fullmatch(name):
            groups.setdefault(match[1] or "", []).append(name)
    return list(groups.values())


def targets_problem(values: Mapping[str, float]) -> str | None:
    """:func:`target_problem` for every set of targets among a sheet's parameters (the
    layout's own, or each example's of a data set), the first one found: one sentence."""
    for group in target_groups(values):
        if problem := target_problem({name: values[name] for name in group}):
            return problem
    return None


def softmax_arrays(z: Any, targets: Any) -> tuple[Any, Any, Any, Any]:
    """:func:`softmax` on numpy arrays whose last axis runs over the outputs (``targets``
    broadcast against ``z``): max z, Σ exp(z - max z), the probabilities and the loss, each
    sum added output by output as the scalar one and the sheet add."""
    import numpy as np

    top = z.max(axis=-1, keepdims=True)
    exps = np.exp(z - top)
    total = exps[..., 0].copy()
    dot = z[..., 0] * targets[..., 0]
    for k in range(1, z.shape[-1]):
        total = total + exps[..., k]
        dot = dot + z[..., k] * targets[..., k]
    return top[..., 0], total, exps / total[..., None], np.log(total) + top[..., 0] - dot


def binary_cross_entropy_arrays(y: Any, t: Any) -> tuple[Any, Any]:
    """:func:`binary_cross_entropy` and its slope on numpy arrays, elementwise, with the
    scalar ones' infinities and nans (call it under ``np.errstate(all="ignore")``)."""
    import numpy as np

    loss = -(t * np.log(y) + (1 - t) * np.log1p(-y))
    denominator = y * (1 - y)
    safe = np.where(denominator != 0, denominator, 1.0)
    return loss, np.where(denominator != 0, (y - t) / safe, np.nan)


def default_targets(outputs: int) -> dict[str, float]:
    """A classifier's starting targets: class 1 (one-hot ``target1 = 1``, the others 0)."""
    return {f"target{j}": 1.0 if j == 1 else 0.0 for j in range(1, outputs + 1)}
