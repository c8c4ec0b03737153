"""How a refusal tells a user who trusts the file to get past a limit: the end of its sentence,
for the vetting (``safety``) and the readers alike, and matched where it is told to a learner
(``safety.messages.for_learner``)."""

from __future__ import annotations

import re
from typing import Final

from ..errors import UnsafeFileError

RAISE_HINT: Final = re.compile(r" \(the limit (\w+); a file you trust passes with (--limit \S+?)\)")
"""What :func:`raise_hint` writes: the limit's name, and the option."""


def raise_hint(name: str, needed: float | None = None) -> str:
    """How a user who trusts the file gets past the limit ``name`` (the end of a sentence)."""
    if needed is None:
        value = "N"
    else:  # exact: a rounded figure ("2.09715e+08") can fall short of what the file needs
        value = str(int(needed)) if float(needed).is_integer() else repr(float(needed))
    return f" (the limit {name}; a file you trust passes with --limit {name}={value})"


class OverLimit(UnsafeFileError):
    """The refusal of the limit ``name`` by a pass that stops where the file breaches it, so
    the figure that lets the file through is not known yet: the vetting counts it (with that
    limit lifted, every other holding) and raises :meth:`counted`. Uncounted, the figure is
    said as N. ``sentence``: the refusal without its hint and full stop."""

    def __init__(self, sentence: str, name: str) -> None:
        super().__init__(f"{sentence}{raise_hint(name)}.")
        self.sentence = sentence
        self.name = name

    def counted(self, needed: float) -> UnsafeFileError:
        """This refusal, saying the figure of its limit that lets the file through."""
        return UnsafeFileError(f"{self.sentence}{raise_hint(self.name, needed)}.")
