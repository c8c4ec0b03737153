"""What a worker process does: verify an upload, draw its grid, write its feedback copy, or
grade the whole class (collect mode's teacher pages).

A job and its answer are plain dicts (they cross a pipe). The answer to a check is the very
``verify --json`` document (``sheetgen.report.render.to_dict``), with the server's name for the
file replaced by the name the learner sees; a file that cannot be checked answers
``{"error": "<one sentence>", "status": 4xx}``. :func:`worker_main` is the process's loop: it
caps its own address space first, so a file that needs more memory fails here, not the server.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sys
import tempfile
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..check.verify import verify_workbook
from ..engine.compiled import FormulaCache
from ..errors import SheetgenError, TooLargeError
from ..report.annotate import annotate
from ..report.learner import to_learner
from ..report.render import json_text, summary, to_dict
from ..teacher.grade import grade_class
from ..workbook.safety import Limits, configured_limits, read_checked
from .grid import sheet_grid

Job = dict[str, Any]
Answer = dict[str, Any]


def handle(job: Job, limits: Limits, formulas: FormulaCache | None = None) -> Answer:
    """Answer one job; never raises (every failure is a sentence and an HTTP status).

    ``formulas``: the worker's compiled formulas, shared by every upload it checks."""
    path, name = Path(job["path"]), str(job["name"])
    try:
        return _answer(job, path, name, limits, formulas)
    # The worker's cap on its memory, the teacher's to set: met checking the file (the
    # library's TooLargeError) or in the worker's own steps (the grid, the JSON, the copy).
    except (MemoryError, TooLargeError):
        return {
            "error": f"{name} is a large sheet that needs more memory than the server gives "
            "one check: the teacher can raise it with --check-memory.",
            "status": 422,
        }
    except SheetgenError as exc:
        return {"error": _renamed(str(exc), path, name), "status": 422}
    except RecursionError:
        return {"error": f"{name} is nested too deeply to be checked.", "status": 422}
    except Exception as exc:  # a bug of ours or the engine's: this upload's answer, not the server
        return {
            "error": f"{name} could not be checked (internal error: {type(exc).__name__}).",
            "status": 500,
        }


GRADE_FILES = {
    "csv": "grades.csv",
    "canvas": "canvas.csv",
    "moodle": "moodle.csv",
    "json": "summary.json",
    "html": "report.html",
}
"""What a ``grade`` job writes into its folder: ``sheetgen grade DIR --roster … -o FILE``'s
files, one per format."""


def _grade(job: Job, limits: Limits) -> Answer:
    """The class graded as ``sheetgen grade`` grades it, each format written (by its own
    ``write``, so the bytes are the command's)."""
    result = grade_class([job["folder"]], roster=job["roster"], workers=1, limits=limits)
    out = Path(job["out"])
    missing: dict[str, str] = {}
    for fmt, name in GRADE_FILES.items():
        try:
            result.write(out / name, fmt, force=True)
        except SheetgenError as exc:  # the HTML report without matplotlib: the others still
            missing[name] = str(exc)
    return {"written": str(out), "missing": missing}


def _answer(
    job: Job, path: Path, name: str, limits: Limits, formulas: FormulaCache | None
) -> Answer:
    if job["do"] == "grade":
        return _grade(job, limits)
    # The grid is drawn from the very book the check read: the file is read once.
    checked = read_checked(path, limits) if job.get("grid") else None
    report = verify_workbook(
        path, variants=job.get("variants"), limits=limits, formulas=formulas, checked=checked
    )
    if job["do"] == "annotate":
        annotate(report, job["out"], limits=limits)
        return {"written": job["out"]}
    told = replace(
        report,
        path=name,
        warnings=tuple(_renamed(w, path, name) for w in report.warnings),
        choice=report.choice and _renamed(report.choice, path, name),
    )
    if job.get("json"):  # the API's answer, rendered here: the server only passes it on
        return {"json": json_text(to_dict(told)), "ok": told.ok}
    answer: Answer = {"report": to_dict(told), "text": summary(told)}
    if checked is not None:
        sheet = checked.book.sheet(report.sheet)
        answer["grid"] = None if sheet is None else sheet_grid(sheet, report)
    return answer


def _renamed(text: str, path: Path, name: str) -> str:
    """A sentence about the server's copy, told with the learner's own file name; a limit
    to raise is the teacher's to raise (the learner passes no options)."""
    return to_learner(text).replace(str(path), name).replace(path.name, name)


def worker_main(conn: Connection, memory: int, limit_options: tuple[str, ...]) -> None:
    """A worker process: cap the address space, warm the engine up, then answer jobs until the
    pipe closes."""
    with contextlib.suppress(ValueError, OSError):  # a smaller hard limit set by the host stays
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    limits = configured_limits(limit_options)
    formulas = FormulaCache()  # one hand-out's uploads share their formulas: compiled once
    _warm_up(limits, formulas)
    try:
        conn.send("ready")
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(handle(job, limits, formulas))
        except (BrokenPipeError, OSError):
            return


def _warm_up(limits: Limits, formulas: FormulaCache) -> None:
    """Check the article's sheet once, so the first learner does not pay for the engine's
    imports and compiled formulas."""
    from ..writer.build import build

    with tempfile.TemporaryDirectory(prefix="sheetgen-warm-") as folder:
        sheet = Path(folder) / "warm.xlsx"
        with contextlib.suppress(SheetgenError, OSError, MemoryError):
            build(sheet)
            verify_workbook(sheet, limits=limits, formulas=formulas)


def main(argv: list[str]) -> None:
    """``python -m sheetgen.serve.work FD MEMORY LIMITS``: the pool's worker (``pool``)."""
    worker_main(Connection(int(argv[0])), int(argv[1]), tuple(json.loads(argv[2])))


if __name__ == "__main__":
    main(sys.argv[1:])
