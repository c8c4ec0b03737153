"""Where a layout's maths is defined, for parameters drawn at random.

``verify`` re-evaluates a learner's formulas under other parameters (``check.diagnose``); those
must be numbers a sheet may hold, or a form right on every sheet differs from the sheet's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from .losses import target_groups
from .neuron import round_significant
from .optimizers import DEFAULTS


def in_domain(
    settings: Mapping[str, str],
    base: Mapping[str, object],
    drawn: dict[str, float],
    rng: random.Random,
) -> dict[str, float]:
    """Parameters ``drawn`` at random (from a sheet's own, ``base``) moved back to where the
    maths of a layout with ``settings`` is defined: a beta in [0, 1) (its distance from 1
    scaled instead), epsilon positive, and cross-entropy's targets probabilities, a softmax's
    summing to 1. Outside, a learner's form that is right on every sheet (``-Σ t·LN(p)``,
    ``v^0.5`` for ``SQRT(v)``) would differ from the sheet's."""
    for name in sorted(BETAS & drawn.keys()):  # in one order, whatever the strings' hashes
        b = base.get(name)
        gap = 1.0 - (b if isinstance(b, float) and 0 <= b < 1 else DEFAULTS[name])
        drawn[name] = 1.0 - min(1.0, round_significant(gap * rng.uniform(0.5, 2.0), 3))
    if "epsilon" in drawn:
        drawn["epsilon"] = abs(drawn["epsilon"])
    if settings.get("loss") == "cross-entropy":
        for group in target_groups(drawn):
            if len(group) == 1:
                drawn[group[0]] = round_significant(rng.uniform(0.0, 1.0), 3)
                continue
            weights = [rng.uniform(0.1, 1.0) for _ in group]
            shares = [w / math.fsum(weights) for w in weights[:-1]]
            drawn |= dict(zip(group, [*shares, max(0.0, 1.0 - math.fsum(shares))], strict=True))
    return drawn


BETAS = frozenset(k for k in DEFAULTS if k.startswith("beta"))
