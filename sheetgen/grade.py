"""Grading a class: verify every learner's workbook, in parallel, into one summary.

Score policy (``score``): every cell the layout checks weighs the same, and earns its weight
only when its verdict is ``ok``. A cell wrong only because of another (inherited) loses its
point too, since the number it shows is wrong; the summary counts root causes separately so
that a teacher can see "one mistake, seven cells". Blanks still to do earn nothing. Parameter
cells are the learner's to change and are never scored (an unusable one leaves the cells
unchecked, which earn nothing). A workbook that cannot be read scores 0 and its row says why.
A script may pass its own ``weight(cell) -> float`` instead.

One broken or hostile file never stops the batch: each file is verified on its own, and any
failure, expected (``SheetgenError``) or not, becomes that file's row with the reason.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .errors import SheetgenError, UsageError
from .fileio import write_atomically
from .report import to_dict, to_junit
from .verify import CellResult, Report, verify_workbook

if TYPE_CHECKING:
    import pandas as pd

Weight = Callable[[CellResult], float]

FORMATS = {".csv": "csv", ".json": "json", ".xml": "junit", ".txt": "text"}

COLUMNS = (
    "learner",
    "file",
    "score",
    "right",
    "wrong",
    "todo",
    "roots",
    "root_cells",
    "status",
    "reason",
    "warnings",
)


def equal_weight(cell: CellResult) -> float:
    """The default policy: each checked cell counts once."""
    return 1.0


def score(report: Report, weight: Weight = equal_weight) -> float:
    """Percentage of the scored cells' weight earned by right cells (see the module docstring)."""
    scored = [c for c in report.cells if c.graded]
    total = sum(weight(c) for c in scored)
    earned = sum(weight(c) for c in scored if c.ok)
    return 100.0 * earned / total if total else 0.0


@dataclass(frozen=True)
class Graded:
    """One submission: its report, or the reason it could not be checked."""

    path: str
    report: Report | None
    reason: str | None = None

    @property
    def learner(self) -> str:
        return Path(self.path).stem


def grade_one(path: str, variants: int | None = None, seed: int | None = None) -> Graded:
    """Verify one file; never raises (a module-level function, so worker processes can run it)."""
    try:
        return Graded(path, verify_workbook(path, variants=variants, seed=seed))
    except SheetgenError as exc:
        return Graded(path, None, str(exc))
    except Exception as exc:  # a bug of ours or the engine's: this file's row, not the batch
        return Graded(path, None, f"internal error ({type(exc).__name__}: {exc})")


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods")
"""What a folder's workbooks are called: Excel's (with or without macros) and LibreOffice's own."""


def collect(paths: Iterable[Path | str]) -> list[Path]:
    """The workbooks to grade: files as given, folders expanded to their workbooks
    (:data:`WORKBOOK_SUFFIXES`; Excel's ``~$`` owner files and hidden files left out)."""
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            out.extend(
                sorted(
                    f
                    for f in p.iterdir()
                    if f.suffix.lower() in WORKBOOK_SUFFIXES
                    and f.is_file()
                    and not f.name.startswith(("~$", "."))
                )
            )
        else:
            out.append(p)
    return out


Progress = Callable[[int, int, Graded], None]


def grade_class(
    paths: Iterable[Path | str],
    *,
    workers: int | None = None,
    variants: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
) -> ClassReport:
    """Verify every workbook of ``paths`` (files or folders) over ``workers`` processes.

    Results arrive in order as they are done (``progress(done, total, graded)`` is called for
    each). A file that kills its worker process gets a row saying so; the others are redone.
    """
    files = [str(p) for p in collect(paths)]
    if not files:
        raise UsageError("No workbooks (.xlsx, .xlsm or .ods) to grade.")
    n = min(workers or os.cpu_count() or 1, len(files))
    run = partial(grade_one, variants=variants, seed=seed)
    results: list[Graded] = []
    for graded in _run(run, files, n):
        results.append(graded)
        if progress is not None:
            progress(len(results), len(files), graded)
    return ClassReport(tuple(results))


def _run(run: Callable[[str], Graded], files: list[str], workers: int) -> Iterator[Graded]:
    if workers <= 1:
        yield from map(run, files)
        return
    _warm_up()  # forked workers inherit the imported engine and the compiled formulas
    chunk = max(1, math.ceil(len(files) / (workers * 4)))
    done = 0
    try:
        with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
            for graded in pool.map(run, files, chunksize=chunk):
                done += 1
                yield graded
    except BrokenProcessPool:
        # A worker died (a crash in a C library, memory): redo the rest one file per process,
        # so that only the file that kills its process gets that as its reason.
        for path in files[done:]:
            yield _isolated(run, path)


def _isolated(run: Callable[[str], Graded], path: str) -> Graded:
    try:
        with ProcessPoolExecutor(1, mp_context=_context()) as pool:
            return pool.submit(run, path).result()
    except BrokenProcessPool:
        return Graded(path, None, "the checker's process died while reading this file")


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


# Functions learners reach for besides the templates' own: loaded (their engine modules
# imported) once in the parent instead of once in every worker.
_COMMON_FORMULAS = (
    "=MAX(0,A1)",
    "=IF(A1>0,A1,0)",
    "=SUM(A1,B1)",
    "=EXP(A1)",
    "=SQRT(A1)",
    "=POWER(A1,2)",
    "=ABS(A1)",
    "=SINH(A1)",
)


def _warm_up() -> None:
    from .evaluate import compile_formula
    from .layout import available_layouts, load_layout

    for text in _COMMON_FORMULAS:
        compile_formula(text)
    for name in available_layouts():
        try:
            layout = load_layout(name)
        except SheetgenError:
            continue
        for spec in layout.checked:
            if spec.formula:
                compile_formula(spec.formula)


def grade(paths: Iterable[Path | str], **options: Any) -> pd.DataFrame:
    """One row per workbook (see ``ClassReport.table``); options as for ``grade_class``."""
    return grade_class(paths, **options).table()


@dataclass(frozen=True)
class ClassReport:
    """Every submission's report, rendered as a table, CSV, JSON, JUnit XML or text."""

    graded: tuple[Graded, ...]

    def rows(self, weight: Weight = equal_weight) -> list[dict[str, Any]]:
        return [_row(g, weight) for g in self.graded]

    def table(self, weight: Weight = equal_weight) -> pd.DataFrame:
        import pandas as pd  # a third of a second: only for tables and CSV

        return pd.DataFrame(self.rows(weight), columns=list(COLUMNS))

    @property
    def ok(self) -> bool:
        return all(g.report is not None and g.report.ok for g in self.graded)

    def to_csv(self) -> str:
        return str(self.table().to_csv(index=False))

    def to_json(self) -> str:
        files = [
            row | {"report": to_dict(g.report) if g.report else None}
            for row, g in zip(self.rows(), self.graded, strict=True)
        ]
        return json.dumps(
            {"score_policy": "equal weight per checked cell", "files": files},
            indent=2,
            ensure_ascii=False,
        )

    def to_junit(self) -> str:
        return to_junit([(g.learner, g.report, g.reason) for g in self.graded])

    def to_text(self) -> str:
        """The console summary: one line per learner, then the class at a glance."""
        rows = self.rows()
        head = ("learner", "score", "right", "wrong", "to do", "fix first")
        table = [head] + [
            (
                r["learner"],
                f"{r['score']:.0f}%",
                str(r["right"]),
                str(r["wrong"]),
                str(r["todo"]),
                r["root_cells"] if r["status"] != "unreadable" else f"unreadable: {r['reason']}",
            )
            for r in rows
        ]
        widths = [max(len(t[i]) for t in table) for i in range(len(head))]
        lines = [
            "  ".join(
                v.ljust(w) if i in (0, 5) else v.rjust(w)
                for i, (v, w) in enumerate(zip(t, widths, strict=True))
            ).rstrip()
            for t in table
        ]
        lines.insert(1, "  ".join("-" * min(w, 40) for w in widths))
        readable = [r for r in rows if r["status"] != "unreadable"]
        counts = Counter(r["status"] for r in rows)
        lines += [
            "",
            f"{len(rows)} workbooks: {counts['ok']} all right, {counts['wrong']} with wrong "
            f"cells, {counts['to do']} unfinished, {counts['unreadable']} unreadable.",
        ]
        if readable:
            mean = sum(r["score"] for r in readable) / len(readable)
            lines.append(f"Mean score of the readable workbooks: {mean:.1f}%.")
        common = Counter(
            c.cell for g in self.graded if g.report for c in g.report.roots if c.status != "todo"
        ).most_common(5)
        if common:
            shown = ", ".join(f"{cell} ({n})" for cell, n in common)
            lines.append(f"Most common root causes (learners): {shown}.")
        return "\n".join(lines)

    def render(self, fmt: str) -> str:
        renderers = {
            "csv": self.to_csv,
            "json": self.to_json,
            "junit": self.to_junit,
            "text": self.to_text,
        }
        if fmt not in renderers:
            raise UsageError(f"Unknown report format {fmt!r} (choose {', '.join(renderers)}).")
        return renderers[fmt]()

    def write(self, path: Path | str, fmt: str | None = None, *, force: bool = False) -> Path:
        """Write the summary atomically; ``fmt`` defaults to the suffix (.csv .json .xml .txt)."""
        target = Path(path)
        chosen = fmt or FORMATS.get(target.suffix.lower())
        if chosen is None:
            raise UsageError(
                f"Cannot tell the report format from {target.name!r}: use a .csv, .json, .xml "
                "or .txt name, or --format."
            )
        text = self.render(chosen)

        def write(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        return write_atomically(target, write, force=force)


def _row(g: Graded, weight: Weight) -> dict[str, Any]:
    base: dict[str, Any] = {"learner": g.learner, "file": g.path}
    r = g.report
    if r is None:
        return base | {
            "score": 0.0,
            "right": 0,
            "wrong": 0,
            "todo": 0,
            "roots": 0,
            "root_cells": "",
            "status": "unreadable",
            "reason": g.reason or "",
            "warnings": "",
        }
    scored = [c for c in r.cells if c.graded]
    roots = [c.cell for c in r.roots if c.status != "todo"]
    wrong = sum(1 for c in scored if not c.ok and c.status != "todo")
    todo = len(r.todo)
    status = "ok" if r.ok else ("wrong" if wrong or any(not c.graded for c in r.cells) else "to do")
    return base | {
        "score": round(score(r, weight), 1),
        "right": sum(1 for c in scored if c.ok),
        "wrong": wrong,
        "todo": todo,
        "roots": len(roots),
        "root_cells": " ".join(roots),
        "status": status,
        "reason": "",
        "warnings": " ".join(r.warnings),
    }


class ProgressBar:
    """A one-line progress bar on a terminal (nothing when the stream is not one)."""

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.shown = False

    def __call__(self, done: int, total: int, graded: Graded) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // total
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} {graded.learner[:30]:<30}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
