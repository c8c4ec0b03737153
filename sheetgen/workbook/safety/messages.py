"""How a refusal is worded: one sentence, the file named, names from the file escaped so a
hostile one cannot put terminal escape sequences on the user's screen, and the limit to raise."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ..hints import RAISE_HINT

# --------------------------------------------------------------------------
# Messages


UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def show(text: str, limit: int = 80) -> str:
    """Make attacker-chosen text safe to print inside one sentence.

    Control characters (terminal escapes, newlines, bidi overrides) are shown as
    escapes and long names are cut, so a message stays one readable line.
    """
    shown = UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if len(shown) > limit:
        shown = shown[: limit - 1] + "\u2026"
    return shown


def file_label(path: Path) -> str:
    return show(str(path) or path.name, 160)  # as the user typed it: many learners share a name


def resave(accepted: Iterable[str] = ("xlsx",)) -> str:
    """What to do about a file that is no workbook a command reads (the end of a sentence):
    the learner's work is in their spreadsheet application, which saves it whole in a kind
    the command reads (``accepted``: the container kinds, "xlsx" and maybe "ods")."""
    if "ods" in accepted:
        return (
            "open your work in your spreadsheet application, save it again as .xlsx or .ods "
            "(File > Save As) and hand in that file"
        )
    return "open it in your spreadsheet application, save it again as .xlsx and try again"


def damaged(label: str, accepted: Iterable[str] = ("xlsx",)) -> str:
    """The one sentence for a workbook whose bytes are broken (cut short, overwritten): what
    the reader tripped on means nothing to its owner, what to do does."""
    return (
        f"{label} is damaged or incomplete (perhaps cut short while it was downloaded or "
        f"copied) and cannot be read; {resave(accepted)}."
    )


def unreadable(
    label: str, what: str, reason: str, part: str | None, accepted: Iterable[str] = ("xlsx",)
) -> str:
    """The one sentence for a workbook a reader could not make sense of: ``what`` it was read
    as ("an .xlsx workbook"), the ``reason`` in words its owner understands (what is wrong,
    never which exception said so: that stays in the exception's chain for whoever looks into
    it), the ``part`` of the package it is in if known, and what to do."""
    where = f"in its part {show(part)}, " if part else ""
    return f"{label} could not be read as {what}: {where}{show(reason, 160)}; {resave(accepted)}."


def count(n: int) -> str:
    return f"{n:,}"


def for_learner(text: str) -> str:
    """``text`` with :func:`raise_hint`'s advice told as the teacher's to follow: a learner
    (on the web page, in the grade book's feedback, on Gradescope) passes no options."""
    return RAISE_HINT.sub(r" (the \1 \2, which your teacher can raise: \3)", text)
