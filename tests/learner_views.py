"""What a learner is told about one file, where they read it: the web page's answer and the
feedback column of Moodle's grade book (the user-trial tests compare the two and Gradescope's)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sheetgen import grade_class
from sheetgen.serve import work
from sheetgen.workbook.safety import configured_limits


def web_page(path: Path) -> str:
    """The error the web page's check of ``path`` answers with."""
    job = {"do": "check", "path": str(path), "name": path.name}
    answer: dict[str, Any] = work.handle(job, configured_limits())
    said: str = answer["error"]
    return said


def moodle_feedback(path: Path) -> str:
    """The feedback Moodle's grade book gives the one learner whose folder holds ``path``."""
    book = grade_class([path.parent], workers=1).to_gradebook("moodle")
    return list(csv.reader(io.StringIO(book)))[1][3]
