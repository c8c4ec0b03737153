"""A sentence made for the command line, told to a learner instead: on the web page, in a grade
book's feedback, on Gradescope. A learner passes no options, so advice to pass one (a limit to
raise, a layout or sheet to name) is said as what they can do, or as the teacher's to do."""

from __future__ import annotations

from ..check.verify import LAYOUT_ADVICE, SHEET_ADVICE
from ..workbook.safety.messages import for_learner

LEARNER_LAYOUT_ADVICE = (
    "; use the workbook you were given, with its labels and headers in place (if it is "
    "that workbook, your teacher can name its layout for the check)"
)

LEARNER_SHEET_ADVICE = " (to have another judged, delete the copies you did not mean to hand in)"


def to_learner(text: str) -> str:
    """``text`` as a learner should read it: a safety limit is the teacher's to raise
    (:func:`~sheetgen.workbook.safety.messages.for_learner`), and a workbook in which no layout
    was found is to be the one handed out, labels in place, not named with ``--layout``; of
    several sheets holding the layout, another is judged once the copies are gone, not named
    with ``--sheet``."""
    told = for_learner(text).replace(LAYOUT_ADVICE, LEARNER_LAYOUT_ADVICE)
    return told.replace(SHEET_ADVICE, LEARNER_SHEET_ADVICE)
