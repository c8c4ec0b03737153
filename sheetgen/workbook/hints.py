"""How a refusal tells a user who trusts the file to get past a limit: the end of its sentence,
for the vetting (``safety``) and the readers alike, and matched where it is told to a learner
(``safety.messages.for_learner``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from ..errors import UnsafeFileError

RAISE_HINT: Final = re.compile(
    r" \(the (limits?) (\w+(?:(?:, | and )\w+)*); a file you trust passes with "
    r"(--limit \S+?(?: --limit \S+?)*)\)"
)
"""What :func:`raise_hint` and :func:`raise_hints` write: "limit" or "limits", the limits'
names, and the options."""


def _figure(needed: float | None) -> str:
    if needed is None:
        return "N"
    # exact: a rounded figure ("2.09715e+08") can fall short of what the file needs
    return str(int(needed)) if float(needed).is_integer() else repr(float(needed))


def raise_hint(name: str, needed: float | None = None) -> str:
    """How a user who trusts the file gets past the limit ``name`` (the end of a sentence)."""
    return f" (the limit {name}; a file you trust passes with --limit {name}={_figure(needed)})"


def raise_hints(needed: Mapping[str, float]) -> str:
    """:func:`raise_hint` for every limit in ``needed`` (name -> the figure that lets the file
    through), each option to pass given, so one run with them all lets the file through."""
    if len(needed) == 1:
        ((name, figure),) = needed.items()
        return raise_hint(name, figure)
    names = list(needed)
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    options = " ".join(f"--limit {name}={_figure(figure)}" for name, figure in needed.items())
    return f" (the limits {listed}; a file you trust passes with {options})"


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


def counted_together(
    label: str, refusals: Sequence[OverLimit], needed: Mapping[str, float]
) -> UnsafeFileError:
    """The refusals of one file, by several limits, as one sentence that names each limit with
    the figure that lets the file through (``needed``, by name): ``label``'s, the file's,
    the first refusal's subject, the others' clauses joined to it."""
    first, *more = refusals
    clauses = [first.sentence, *(r.sentence.removeprefix(f"{label} ") for r in more)]
    figures = {r.name: needed[r.name] for r in refusals}
    return UnsafeFileError(f"{', and '.join(clauses)}{raise_hints(figures)}.")
