"""How a refusal is worded: one sentence, the file named, names from the file escaped so a
hostile one cannot put terminal escape sequences on the user's screen, and the limit to raise."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
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


def unreadable(label: str, what: str, told: str, accepted: Iterable[str] = ("xlsx",)) -> str:
    """The one sentence for a workbook a reader could not make sense of: ``what`` it was read
    as ("an .xlsx workbook"), and what is wrong, ``told`` in words its owner understands (and
    where: a sheet by its title, :func:`place`; never which exception said so: that stays in
    the exception's chain for whoever looks into it), then what to do."""
    return f"{label} could not be read as {what}: {show(told, 240)}; {resave(accepted)}."


_PARTS_IN_WORDS = {
    "[content_types].xml": "the list of what the file holds",
    "xl/workbook.xml": "the workbook's list of sheets and names",
    "xl/sharedstrings.xml": "the workbook's shared text (the text its cells hold)",
    "xl/styles.xml": "the workbook's styles (how its cells look)",
    "docprops/core.xml": "the file's properties (its title, author and dates)",
    "docprops/app.xml": "the file's properties (the application that saved it)",
    "content.xml": "the spreadsheet's sheets",
    "styles.xml": "the spreadsheet's styles (how its cells look)",
    "settings.xml": "the spreadsheet's settings",
    "meta.xml": "the spreadsheet's properties (its title, author and dates)",
    "meta-inf/manifest.xml": "the list of what the file holds",
}
"""What a package's parts are for, in words, by name in lower case (an .xlsx workbook's and
an .ods spreadsheet's own names do not meet)."""


def known_as(part: str, titles: Mapping[str, str]) -> str | None:
    """``part`` of a package (its name in the zip) as its owner knows it, where that is known:
    a worksheet by the title its workbook gives it (``titles``, by part in lower case),
    another part by what it is for; None for any other part."""
    low = part.lower()
    title = titles.get(low)
    if title is not None:
        return f"the sheet '{show(title, 60)}'"
    return _PARTS_IN_WORDS.get(low)


def place(part: str, titles: Mapping[str, str]) -> str:
    """``part`` of a package (its name in the zip) as its owner knows it (:func:`known_as`);
    by its name, with what it holds where that shows, only where neither its title nor its
    purpose is known (the worksheets of a workbook whose own part is damaged)."""
    known = known_as(part, titles)
    if known is not None:
        return known
    low = part.lower()
    if low.endswith(".rels"):
        return f"the links between the file's parts ({show(part)})"
    if low.startswith("xl/comments") or low.startswith("xl/threadedcomments"):
        return f"the notes on its cells ({show(part)})"
    if low.startswith("xl/drawings/vmldrawing"):
        return f"the shapes of the notes on its cells ({show(part)})"
    if low.startswith(("xl/charts/", "xl/drawings/", "xl/media/")):
        return f"a chart or picture on a sheet ({show(part)})"
    if low.startswith("xl/theme/"):
        return f"the workbook's theme, its colours and fonts ({show(part)})"
    if low.startswith("xl/worksheets/"):
        return f"a sheet, kept in the file as {show(part)}"
    return f"its part {show(part)}"


def too_large(label: str) -> str:
    """The one sentence for a workbook whose check ran out of memory: nothing says it is
    damaged (what was read so far was well formed), the machine is short of memory for it."""
    return (
        f"{label} is too large to check on this machine: checking it needs more memory than "
        "is free (the file itself is not damaged); check it where more memory is free "
        "(close other programs, or use a larger computer)."
    )


def too_large_to_copy(label: str) -> str:
    """The one sentence for a feedback copy (``--annotate``) whose writing ran out of memory:
    the check itself was done (its report stands), its copy needs more memory than is free.
    Reading the workbook to copy it takes more than checking it: a file checked may still be
    too large to copy."""
    return (
        f"{label} is too large to copy with feedback on this machine: writing its feedback "
        "copy needs more memory than is free (the file itself is not damaged, and its check "
        "is done); write the copy where more memory is free (close other programs, or use a "
        "larger computer)."
    )


def count(n: int) -> str:
    return f"{n:,}"


def for_learner(text: str) -> str:
    """``text`` with :func:`raise_hint`'s advice told as the teacher's to follow: a learner
    (on the web page, in the grade book's feedback, on Gradescope) passes no options."""
    return RAISE_HINT.sub(r" (the \1 \2, which your teacher can raise: \3)", text)
