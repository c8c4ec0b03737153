"""Gradient descent, as the training sheets run it: the options that say how far and how fast.

Shared by the neuron's and the network's training sheets (``sheetgen.layouts.training`` and
``sheetgen.layouts.network_training``), which is why it lives below both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

from ..errors import UsageError

MAX_STEPS = 10_000
"""The most steps a training sheet may have (each step is one row of formulas)."""


def parse_steps(text: str) -> int:
    """A training sheet's ``steps`` option: a whole number from 1 to :data:`MAX_STEPS`."""
    try:
        steps = int(text)
    except ValueError:
        raise UsageError(f"steps must be a whole number, not {text!r}.") from None
    if not 1 <= steps <= MAX_STEPS:
        raise UsageError(f"steps must be between 1 and {MAX_STEPS}, not {steps}.")
    return steps


def parse_rate(text: str) -> float:
    """A training sheet's ``learning_rate`` option: any finite number."""
    try:
        rate = float(text)
    except ValueError:
        raise UsageError(f"learning_rate must be a number, not {text!r}.") from None
    if not math.isfinite(rate):
        raise UsageError(f"learning_rate must be a finite number, not {text!r}.")
    return rate


def update_norm(
    update: Callable[[dict[str, float]], Mapping[str, float]],
    params: Mapping[str, float],
    names: Sequence[str],
    norm: Callable[[list[list[float]]], float],
) -> float:
    """How much one step can enlarge an error in the parameters ``names``: the update map's norm.

    ``update(p)`` is one step from parameters ``p``, giving ``new.<name>`` for each name. Its
    Jacobian is estimated by central differences, one column per parameter (a step of
    ``1e-6`` times the largest parameter, at least 1), and ``norm`` takes its 2-norm from the
    columns (each training sheet's model chooses how: exactly for 2 x 2, numpy for more).
    Parameters that diverged give 1: the cells are wrong or errors anyway.
    """
    if not all(math.isfinite(params[n]) for n in names):
        return 1.0
    h = 1e-6 * max(1.0, *(abs(params[n]) for n in names))
    columns = []
    for name in names:
        up = update({**params, name: params[name] + h})
        down = update({**params, name: params[name] - h})
        columns.append([(up[f"new.{n}"] - down[f"new.{n}"]) / (2 * h) for n in names])
    return norm(columns)


def amplification(growths: Iterable[float]) -> list[float]:
    """How far rounding carried from step to step can reach: ``A_{k+1} = 1 + g_k A_k``, one
    value per step, from each step's update norm ``g_k`` (``A_1 = 1``)."""
    out = []
    accumulated = 1.0
    for growth in growths:
        accumulated = 1.0 + growth * accumulated
        out.append(accumulated)
    return out
