"""Random templates for the structure check's walks: formulas reading one another (cycles
included), parameters, constants and names no cell holds."""

from __future__ import annotations

import random
from typing import Any


def random_template(
    rng: random.Random, most: int
) -> tuple[dict[str, tuple[str, ...]], dict[str, Any]]:
    """``reads`` (quantity -> what its formula reads) and ``kind`` of up to ``most`` quantities."""
    n = rng.randint(1, most)
    names = [f"q{k}" for k in range(n)]
    kind: dict[str, Any] = {
        q: rng.choice(["input", "formula", "formula", "constant"]) for q in names
    }
    reads = {
        q: tuple(rng.sample([*names, "unknown"], rng.randint(0, min(4, n))))
        for q in names
        if kind[q] == "formula" or rng.random() < 0.2
    }
    return reads, kind
