"""How a refusal tells a user who trusts the file to get past a limit: the end of its sentence,
for the vetting (``safety``) and the readers alike, and matched where it is told to a learner
(``safety.messages.for_learner``)."""

from __future__ import annotations

import re
from typing import Final

RAISE_HINT: Final = re.compile(r" \(the limit (\w+); a file you trust passes with (--limit \S+?)\)")
"""What :func:`raise_hint` writes: the limit's name, and the option."""


def raise_hint(name: str, needed: float | None = None) -> str:
    """How a user who trusts the file gets past the limit ``name`` (the end of a sentence)."""
    if needed is None:
        value = "N"
    else:  # exact: a rounded figure ("2.09715e+08") can fall short of what the file needs
        value = str(int(needed)) if float(needed).is_integer() else repr(float(needed))
    return f" (the limit {name}; a file you trust passes with --limit {name}={value})"
