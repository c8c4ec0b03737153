"""Grading a class: verify every learner's workbook, in parallel, into one summary.

Score policy (``score``): every scored cell weighs the same, and earns its weight only when its
verdict is ``ok``; a cell checked from the value the learner's application saved (sheetgen
cannot compute its formula) earns it too, and is flagged for review; a cell sheetgen cannot
compute with no saved number is left out of the score and flagged. In an exercise the scored
cells are the blanks the learner had to fill in, and nothing else: the cells handed out already
filled are context (reported, never counted), so an untouched hand-out scores 0. In any other
workbook every cell the layout checks is scored. A cell wrong only because of another
(inherited) loses its point too, since the number it shows is wrong; the summary counts root
causes separately so that a teacher can see "one mistake, seven cells". Blanks still to do, and
cells waiting for them, earn nothing and are not called wrong. Parameter cells are the learner's
to change and are never scored (an unusable one leaves the cells unchecked, which earn nothing).
A workbook that cannot be read scores 0 and its row says why. A script may pass its own
``weight(cell) -> float`` instead.

One broken or hostile file never stops the batch: each file is verified on its own, and any
failure, expected (``SheetgenError``) or not, becomes that file's row with the reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import multiprocessing
import os
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..check.verify import CellResult, Report, verify_workbook
from ..errors import InputFileError, SheetgenError, UsageError, shown
from ..report.render import JUnitEntry, json_text, review_note, to_dict, to_junit
from ..report.render import summary as report_summary
from ..writer.files import write_atomically
from .cells import class_cell
from .roster import LEARNER_ID, LEARNER_NAME, SEED, Learner, read_roster, recorded_identity

if TYPE_CHECKING:
    import pandas as pd

    from ..workbook.safety import Limits

Weight = Callable[[CellResult], float]

SCORE_POLICY = (
    "equal weight per scored cell; in an exercise only the blanks are scored (pre-filled cells "
    "are context); to-do and waiting cells earn nothing"
)

FORMATS = {".csv": "csv", ".json": "json", ".xml": "junit", ".txt": "text", ".html": "html"}

TEXT_ENCODINGS = {"csv": "utf-8-sig", "canvas": "utf-8-sig", "moodle": "utf-8-sig"}
"""CSV for people opens in Excel: UTF-8 with a byte-order mark, or Excel shows "JosÃ©"."""

COLUMNS = (
    "id",
    "learner",
    "file",
    "score",
    "points",
    "points_possible",
    "right",
    "wrong",
    "todo",
    "waiting",
    "roots",
    "root_cells",
    "status",
    "flags",
    "reason",
    "warnings",
)


def equal_weight(cell: CellResult) -> float:
    """The default policy: each checked cell counts once."""
    return 1.0


def points(report: Report, weight: Weight = equal_weight) -> tuple[float, float]:
    """(earned, possible): the scored cells' weight earned by right cells, and their total."""
    scored = [c for c in report.cells if c.scored]
    return sum(weight(c) for c in scored if c.ok), sum(weight(c) for c in scored)


def score(report: Report, weight: Weight = equal_weight) -> float:
    """Percentage of the scored cells' weight earned by right cells (see the module docstring)."""
    earned, total = points(report, weight)
    return 100.0 * earned / total if total else 0.0


@dataclass(frozen=True)
class Graded:
    """One submission: its report, or the reason it could not be checked."""

    path: str
    report: Report | None
    reason: str | None = None
    seconds: float = 0.0  # how long the check took
    timestamp: str = ""  # when it was checked (ISO 8601, UTC)
    digest: str = ""  # SHA-256 of the file's bytes (identical submissions)
    recorded: tuple[tuple[str, str], ...] = ()  # the hand-out's sheetgen properties
    name: str = ""  # who handed it in, once the class is assembled (see ``identify``)
    learner_id: str = ""
    flags: tuple[str, ...] = ()  # copies and other hand-outs' parameters

    @property
    def learner(self) -> str:
        return self.name or Path(self.path).stem

    @property
    def recorded_id(self) -> str:
        return dict(self.recorded).get(LEARNER_ID, "")


def grade_one(
    path: str,
    variants: int | None = None,
    seed: int | None = None,
    limits: Limits | None = None,
) -> Graded:
    """Verify one file; never raises (a module-level function, so worker processes can run it)."""
    start = time.perf_counter()
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        graded = Graded(path, verify_workbook(path, variants=variants, seed=seed, limits=limits))
    except SheetgenError as exc:
        graded = Graded(path, None, str(exc))
    except Exception as exc:  # a bug of ours or the engine's: this file's row, not the batch
        graded = Graded(path, None, f"internal error ({type(exc).__name__}: {exc})")
    digest, recorded = "", tuple[tuple[str, str], ...]()
    if graded.report is not None:  # vetted by verify: small enough to read and hash
        try:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            digest = ""
        recorded = tuple(sorted(recorded_identity(path).items()))
    return replace(
        graded,
        seconds=time.perf_counter() - start,
        timestamp=stamp,
        digest=digest,
        recorded=recorded,
    )


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods")
"""What ``grade`` collects from a folder: what LMSs hand back (an .ods is graded when the
reader supports it; otherwise its row says why)."""

_NOT_WORKBOOKS = {
    ".xls": "the old binary Excel format: open it and save it as .xlsx",
    ".xlsb": "Excel's binary format: open it and save it as .xlsx",
    ".numbers": "an Apple Numbers file: export it as .xlsx",
    ".csv": "a CSV file holds no formulas to check",
}


@dataclass(frozen=True)
class Gathered:
    """The workbooks to grade, and every file left out with why."""

    files: tuple[Path, ...]
    skipped: tuple[tuple[str, str], ...]


def gather(paths: Iterable[Path | str]) -> Gathered:
    """Files as given; folders searched with their subfolders (one folder per learner, as LMS
    downloads are) for ``WORKBOOK_SUFFIXES``. Everything else in a folder is listed as skipped."""
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for item in paths:
        p = Path(item)
        if not p.exists() and not p.is_symlink():  # a mistake in the command, not a learner's
            raise InputFileError(f"{shown(item)} does not exist.")
        if not p.is_dir():
            files.append(p)
            continue
        for folder, dirs, names in os.walk(p):
            dirs.sort()
            for d in list(dirs):
                if d.startswith(".") or d == "__MACOSX":
                    dirs.remove(d)
                    skipped.append((str(Path(folder) / d), "a hidden or system folder"))
            for name in sorted(names):
                f = Path(folder) / name
                why = _skip_reason(f)
                if why is None:
                    files.append(f)
                else:
                    skipped.append((str(f), why))
    return Gathered(tuple(files), tuple(skipped))


def _skip_reason(f: Path) -> str | None:
    if f.is_symlink():
        return "a symbolic link (not followed)"
    if f.name.startswith("~$") or f.name.startswith(".~lock"):
        return "the lock file of a spreadsheet open at the time"
    if f.name.startswith("."):
        return "a hidden file"
    suffix = f.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return None if f.is_file() else "not a regular file"
    return _NOT_WORKBOOKS.get(suffix, f"not a workbook ({suffix or 'no extension'})")


def collect(paths: Iterable[Path | str]) -> list[Path]:
    """The workbooks to grade (see ``gather``)."""
    return list(gather(paths).files)


Progress = Callable[[int, int, Graded], None]


def grade_class(
    paths: Iterable[Path | str],
    *,
    workers: int | None = None,
    variants: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    limits: Limits | None = None,
    roster: Path | str | None = None,
) -> ClassReport:
    """Verify every workbook of ``paths`` (files or folders) over ``workers`` processes.

    ``limits`` are the safety limits each file is checked within (default:
    ``safety.configured_limits()``, read in each worker).

    Results arrive in order as they are done (``progress(done, total, graded)`` is called for
    each). A file that kills its worker process gets a row saying so; the others are redone.
    Then each file is given its learner (``identify``, with ``roster`` if given) and copies are
    flagged (``flag_copies``).
    """
    paths = list(paths)
    learners = read_roster(roster) if roster is not None else ()  # a bad roster: before any work
    gathered = gather(paths)
    files = [str(p) for p in gathered.files]
    if not files:
        listed = "; ".join(f"{Path(f).name}: {why}" for f, why in gathered.skipped[:3])
        more = f"; and {len(gathered.skipped) - 3} more" if len(gathered.skipped) > 3 else ""
        raise UsageError(
            f"No workbooks to grade ({', '.join(WORKBOOK_SUFFIXES)})"
            + (f"; skipped {listed}{more}." if listed else ".")
        )
    if workers is not None and workers < 1:
        raise UsageError(f"workers must be 1 or more, not {workers}.")
    if variants is not None and variants < 0:
        raise UsageError(f"variants must be 0 or more, not {variants}.")
    n = min(workers or os.cpu_count() or 1, len(files))
    run = partial(grade_one, variants=variants, seed=seed, limits=limits)
    results: list[Graded] = []
    for graded in _run(run, files, n):
        results.append(graded)
        if progress is not None:
            progress(len(results), len(files), graded)
    roots = [Path(p) for p in paths if Path(p).is_dir()]
    assembled = identify(results, roots, learners)
    return ClassReport(tuple(flag_copies(assembled)), gathered.skipped)


def identify(
    graded: Sequence[Graded], roots: Sequence[Path], roster: Sequence[Learner] = ()
) -> list[Graded]:
    """Name the learner of each file: the roster's learner its folder or file name names, else
    the learner the hand-out records, else the file name, or the folder when file names repeat
    (LMS downloads: every learner's file may be called ``neuron.xlsx``).

    A file filed under one learner of the roster but recording another's hand-out is flagged.
    """
    stems = Counter(Path(g.path).stem.casefold() for g in graded)
    ids = {learner.id: learner for learner in roster}
    out = []
    for g in graded:
        parts = _relative_parts(Path(g.path), roots)
        by_path = _match_roster(parts, roster)
        rec = dict(g.recorded)
        rec_id = rec.get(LEARNER_ID, "")
        flags = list(g.flags)
        if by_path is not None:
            learner_id, name = by_path.id, by_path.name
            if rec_id and rec_id != by_path.id:
                owner = ids[rec_id].name if rec_id in ids else rec.get(LEARNER_NAME, rec_id)
                flags.append(f"handed in by {by_path.name} but it is the hand-out of {owner}")
        elif rec_id:
            learner_id = rec_id
            name = ids[rec_id].name if rec_id in ids else rec.get(LEARNER_NAME, rec_id)
        else:
            stem = Path(g.path).stem
            folder = parts[-2] if len(parts) > 1 else ""
            learner_id, name = "", folder if stems[stem.casefold()] > 1 and folder else stem
        out.append(replace(g, name=name, learner_id=learner_id, flags=tuple(flags)))
    recorded = Counter(g.recorded_id for g in out if g.recorded_id)
    out = [
        replace(g, flags=(*g.flags, f"{recorded[g.recorded_id]} files record the same hand-out"))
        if g.recorded_id and recorded[g.recorded_id] > 1 and g.learner_id == g.recorded_id
        else g
        for g in out
    ]
    names = Counter(g.name for g in out)
    return [replace(g, name=_disambiguated(g, roots)) if names[g.name] > 1 else g for g in out]


def _disambiguated(g: Graded, roots: Sequence[Path]) -> str:
    parts = _relative_parts(Path(g.path), roots)
    where = "/".join(parts[-2:-1]) or Path(g.path).name
    return f"{g.name} ({where})"


def _relative_parts(path: Path, roots: Sequence[Path]) -> tuple[str, ...]:
    for root in roots:
        try:
            return path.resolve().relative_to(root.resolve()).parts
        except ValueError:
            continue
    return path.parts[-2:]


def _match_roster(parts: Sequence[str], roster: Sequence[Learner]) -> Learner | None:
    """The roster learner a path names: an id as a whole token, or a full name (accents and
    case aside), the longest match winning."""
    if not roster:
        return None
    tokens = [_fold(p) for p in parts]
    words = {w for t in tokens for w in re.split(r"[^0-9a-z@.]+", t) if w}
    best: tuple[int, Learner] | None = None
    for learner in roster:
        hit = 0
        if _fold(learner.id) in words or any(_fold(learner.id) == t for t in tokens):
            hit = len(learner.id) + 1000
        else:
            name = re.sub(r"[^0-9a-z]+", " ", _fold(learner.name)).strip()
            spaced = [f" {re.sub(r'[^0-9a-z]+', ' ', t).strip()} " for t in tokens]
            if name and any(f" {name} " in t for t in spaced):  # whole words only
                hit = len(name)
        if hit and (best is None or hit > best[0]):
            best = (hit, learner)
    return best[1] if best else None


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.casefold().strip()


def flag_copies(graded: Sequence[Graded]) -> list[Graded]:
    """Flag byte-identical submissions, and submissions sharing one seeded hand-out's
    parameters under different learners (a copy of someone else's hand-out)."""
    flags: dict[int, list[str]] = {i: list(g.flags) for i, g in enumerate(graded)}
    same_bytes: dict[str, list[int]] = {}
    same_params: dict[tuple[Any, ...], list[int]] = {}
    for i, g in enumerate(graded):
        if g.report is None:
            continue
        if g.digest:
            same_bytes.setdefault(g.digest, []).append(i)
        if dict(g.recorded).get(SEED) is not None:
            key = (
                g.report.layout,
                tuple(sorted((k, repr(v)) for k, v in g.report.parameters.items())),
            )
            same_params.setdefault(key, []).append(i)
    for group in same_bytes.values():
        if len(group) > 1:
            for i in group:
                others = ", ".join(graded[j].learner for j in group if j != i)
                flags[i].append(f"byte-identical to the submission of {others}")
    for group in same_params.values():
        who = {graded[i].learner_id or graded[i].learner for i in group}
        if len(group) > 1 and len(who) > 1:
            for i in group:
                others = ", ".join(graded[j].learner for j in group if j != i)
                flags[i].append(f"the same hand-out parameters as {others}")
    return [replace(g, flags=tuple(flags[i])) for i, g in enumerate(graded)]


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
    from ..engine.evaluate import compile_formula
    from ..layouts.layout import available_layouts, load_layout

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
    skipped: tuple[tuple[str, str], ...] = ()  # files left out of a folder, with why

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
        return json_text(
            {
                "score_policy": SCORE_POLICY,
                "summary": self.summary(),
                "skipped": [{"file": f, "reason": why} for f, why in self.skipped],
                "files": files,
            }
        )

    def to_junit(self) -> str:
        return to_junit(
            [
                JUnitEntry(g.learner, g.report, g.reason, g.seconds, g.timestamp or None)
                for g in self.graded
            ]
        )

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
            class_cell(g.report, c) for g in self.graded if g.report for c in g.report.roots
        ).most_common(5)
        if common:
            shown = ", ".join(f"{cell} ({n})" for cell, n in common)
            lines.append(f"Most common root causes (learners): {shown}.")
        for g in self.graded:
            lines += [f"Warning: {g.learner}: {flag}." for flag in g.flags]
        if self.skipped:
            lines += ["", f"Skipped {len(self.skipped)} file(s):"]
            lines += [f"  {f}: {why}" for f, why in self.skipped]
        return "\n".join(lines)

    def to_html(self) -> str:
        """The class report people look at (``sheetgen.teacher.class_report``)."""
        from .class_report import render_html

        return render_html(self)

    def summary(self) -> dict[str, Any]:
        """The class at a glance, as data (the JSON document's ``summary``)."""
        rows = self.rows()
        readable = [r["score"] for r in rows if r["status"] != "unreadable"]
        counts = Counter(r["status"] for r in rows)
        roots = Counter(
            class_cell(g.report, c) for g in self.graded if g.report for c in g.report.roots
        )
        meaning = {
            class_cell(g.report, c): c.meaning
            for g in self.graded
            if g.report
            for c in g.report.roots
        }
        return {
            "workbooks": len(rows),
            "ok": counts["ok"],
            "wrong": counts["wrong"],
            "to do": counts["to do"],
            "unreadable": counts["unreadable"],
            "flagged": sum(1 for g in self.graded if g.flags),
            "skipped": len(self.skipped),
            "mean_score": round(statistics.fmean(readable), 2) if readable else None,
            "median_score": round(statistics.median(readable), 2) if readable else None,
            "points_possible": max((r["points_possible"] for r in rows), default=0.0),
            "common_roots": [
                {"cell": cell, "learners": n, "meaning": meaning[cell]}
                for cell, n in roots.most_common(10)
            ],
        }

    def to_gradebook(self, lms: str, *, assignment: str = "sheetgen", points: float = 100.0) -> str:
        """The grade-book import file of ``lms`` (``canvas`` or ``moodle``): each learner's
        score as points out of ``points``.

        Canvas (Grades > Import) matches learners by its ``Student``, ``ID``, ``SIS User ID``,
        ``SIS Login ID`` and ``Section`` columns and reads a ``Points Possible`` row; the
        roster's id goes to ``SIS User ID``. Moodle (Grades > Import > CSV file) lets the
        teacher map a column to a user field and another to the grade item: ``ID number``
        holds the roster's id, and ``Feedback`` the verdict in one line.
        """
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\r\n")
        value = {id(g): _points_of(g, points) for g in self.graded}
        if lms == "canvas":
            out.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
            out.writerow(["Points Possible", "", "", "", "", _number(points)])
            for g in self.graded:
                out.writerow([g.learner, "", g.learner_id, "", "", _number(value[id(g)])])
        elif lms == "moodle":
            out.writerow(["ID number", "Full name", assignment, "Feedback"])
            for g in self.graded:
                feedback = report_summary(g.report) if g.report else f"Unreadable: {g.reason}"
                out.writerow([g.learner_id, g.learner, _number(value[id(g)]), feedback])
        else:
            raise UsageError(f"No grade-book format for {lms!r} (choose canvas or moodle).")
        return buffer.getvalue()

    def render(self, fmt: str, **options: Any) -> str:
        """The report in ``fmt``; ``options`` (assignment, points) for the grade books."""
        renderers: dict[str, Callable[[], str]] = {
            "csv": self.to_csv,
            "json": self.to_json,
            "junit": self.to_junit,
            "text": self.to_text,
            "html": self.to_html,
            "canvas": partial(self.to_gradebook, "canvas", **options),
            "moodle": partial(self.to_gradebook, "moodle", **options),
        }
        if fmt not in renderers:
            raise UsageError(f"Unknown report format {fmt!r} (choose {', '.join(renderers)}).")
        return renderers[fmt]()

    def write(
        self,
        path: Path | str,
        fmt: str | None = None,
        *,
        force: bool = False,
        encoding: str | None = None,
        **options: Any,
    ) -> Path:
        """Write the summary atomically; ``fmt`` defaults to the suffix (.csv .json .xml .txt).

        CSV files are UTF-8 with a byte-order mark unless ``encoding`` says otherwise (a
        character the encoding cannot hold is refused in one sentence, before writing).
        """
        target = Path(path)
        chosen = fmt or FORMATS.get(target.suffix.lower())
        if chosen is None:
            raise UsageError(
                f"Cannot tell the report format from {shown(path)}: use a .csv, .json, .xml, "
                ".txt or .html name, or --format."
            )
        text = self.render(chosen, **options)
        codec = encoding or TEXT_ENCODINGS.get(chosen, "utf-8")
        text = shown(text)  # a non-UTF-8 file name as \xNN, never a surrogate
        try:
            data = text.encode(codec)
        except LookupError:
            raise UsageError(f"Unknown encoding {codec!r}.") from None
        except UnicodeEncodeError as exc:
            raise UsageError(
                f"The report holds {exc.object[exc.start : exc.end]!r}, which {codec} cannot "
                "write; use --encoding utf-8-sig."
            ) from None

        def write(tmp: Path) -> None:
            tmp.write_bytes(data)

        return write_atomically(target, write, force=force)


def _points_of(g: Graded, points: float) -> float:
    return round((score(g.report) if g.report else 0.0) * points / 100.0, 2)


def _number(x: float) -> str:
    return f"{x:g}"


def _row(g: Graded, weight: Weight) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": g.learner_id,
        "learner": g.learner,
        "file": g.path,
        "flags": "; ".join(g.flags),
    }
    r = g.report
    if r is None:
        return base | {
            "score": 0.0,
            "points": 0.0,
            "points_possible": 0.0,
            "right": 0,
            "wrong": 0,
            "todo": 0,
            "waiting": 0,
            "roots": 0,
            "root_cells": "",
            "status": "unreadable",
            "reason": g.reason or "",
            "warnings": "",
        }
    scored = [c for c in r.cells if c.scored]
    roots = [c.cell for c in r.roots]
    wrong = len(r.attention)
    status = "ok" if r.ok else ("wrong" if wrong else "to do" if r.todo or r.waiting else "review")
    if r.review:
        base["flags"] = "; ".join(filter(None, (base["flags"], review_note(r))))
    earned, possible = points(r, weight)
    return base | {
        "score": round(100.0 * earned / possible if possible else 0.0, 1),
        "points": round(earned, 3),
        "points_possible": round(possible, 3),
        "right": sum(1 for c in scored if c.ok),
        "wrong": wrong,
        "todo": len(r.todo),
        "waiting": len(r.waiting),
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
