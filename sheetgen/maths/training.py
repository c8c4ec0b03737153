"""Gradient descent, as the training sheets run it: the options that say how far and how fast.

Shared by the neuron's and the network's training sheets (``sheetgen.layouts.training`` and
``sheetgen.layouts.network_training``), which is why it lives below both.
"""

from __future__ import annotations

import math

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
