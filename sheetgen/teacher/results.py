"""A graded class: every submission's row, and the class rendered as a table, CSV, JSON,
JUnit XML, text, HTML or a grade-book import file."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError, shown
from ..report.learner import to_learner
from ..report.render import JUnitEntry, json_text, review_note, to_dict, to_junit
from ..report.terminal import display_width, pad
from ..writer.files import write_atomically
from .cells import class_cell
from .scoring import (
    SCORE_POLICY,
    Graded,
    Weight,
    equal_weight,
    points,
    readable_scores,
    score,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..check.results import Report

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


@dataclass(frozen=True)
class Missing:
    """A learner of the roster who handed in nothing."""

    id: str
    name: str
    points_possible: float | None = None  # their hand-out's points, when the keys say


@dataclass(frozen=True)
class ClassReport:
    """Every submission's report, rendered as a table, CSV, JSON, JUnit XML or text.

    With a roster: ``missing`` learners (no file) have rows of their own (status
    ``missing``); ``unmatched`` files (no learner of the roster) are listed apart and are no
    learner's row, nor a grade book's.
    """

    graded: tuple[Graded, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # files left out of a folder, with why
    missing: tuple[Missing, ...] = ()
    unmatched: tuple[Graded, ...] = ()
    # Worked out once (a class is often both written and printed): each weight's submission
    # rows, and the points most submissions are out of (:func:`_common_points`).
    _rows: dict[Weight, tuple[dict[str, Any], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _common: list[float | None] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def common_points(self) -> float | None:
        if not self._common:
            self._common.append(_common_points(self.graded))
        return self._common[0]

    def rows(self, weight: Weight = equal_weight) -> list[dict[str, Any]]:
        """One row per submission, then one per missing learner (``status`` ``missing``)."""
        common = self.common_points
        if weight not in self._rows:
            self._rows[weight] = tuple(_row(g, weight, common) for g in self.graded)
        return [dict(row) for row in self._rows[weight]] + [
            _missing_row(m, common) for m in self.missing
        ]

    def unmatched_rows(self, weight: Weight = equal_weight) -> list[dict[str, Any]]:
        """The files that match no learner, as rows (``status`` ``unmatched``)."""
        common = self.common_points
        return [_row(g, weight, common) | {"status": "unmatched"} for g in self.unmatched]

    def table(self, weight: Weight = equal_weight) -> pd.DataFrame:
        import pandas as pd  # a third of a second: only for tables and CSV

        return pd.DataFrame(self.rows(weight), columns=list(COLUMNS))

    @property
    def ok(self) -> bool:
        return all(g.report is not None and g.report.ok for g in self.graded)

    def to_csv(self) -> str:
        """Every learner's row, then the files that match no learner (status ``unmatched``).

        Written as ``table().to_csv(index=False)`` writes it (a test holds the two equal),
        without importing pandas: a third of a second of a class's grading.
        """
        rows = self.rows() + self.unmatched_rows()
        columns = [_csv_column([row.get(name) for row in rows]) for name in COLUMNS]
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\n")
        out.writerow(COLUMNS)
        out.writerows(zip(*columns, strict=True))
        return buffer.getvalue()

    def to_json(self) -> str:
        rows = self.rows()
        handed = len(self.graded)
        return json_text(
            {
                "score_policy": SCORE_POLICY,
                "summary": self.summary(rows),
                "skipped": [{"file": f, "reason": why} for f, why in self.skipped],
                "files": _with_reports(rows[:handed], self.graded),
                "missing": rows[handed:],
                "unmatched": _with_reports(self.unmatched_rows(), self.unmatched),
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
        reports = [g.report for g in self.graded] + [None] * len(self.missing)
        # What is scored (the points, from an exercise's blanks) apart from every other cell
        # found wrong: a blank wrong drags along cells handed out filled, which cost nothing.
        head = ("learner", "score", "points", "to do", "cells wrong", "fix first")
        table = [head] + [
            (
                r["learner"],
                f"{r['score']:.0f}%",
                f"{r['points']:g} of {r['points_possible']:g}",
                _to_do(r, report),
                str(r["wrong"]),
                _fix_first(r, report),
            )
            for r, report in zip(rows, reports, strict=True)
        ]
        widths = [max(display_width(t[i]) for t in table) for i in range(len(head))]
        lines = [
            "  ".join(
                pad(v, w, left=i in (0, 5)) for i, (v, w) in enumerate(zip(t, widths, strict=True))
            ).rstrip()
            for t in table
        ]
        lines.insert(1, "  ".join("-" * min(w, 40) for w in widths))
        glance = self.summary(rows)
        lines += [
            "",
            "Points: one per scored cell that is right (an exercise's blanks, else every "
            "checked cell).",
            "Cells wrong: every cell that needs attention, scored or not (mistakes and the "
            "cells they make wrong).",
            "To do: blanks still empty (+ blanks filled in that wait for one of them: not "
            "wrong, no point yet).",
            f"{plural(glance['workbooks'], 'workbook')}: {glance['ok']} all right, "
            f"{glance['wrong']} with wrong cells, {glance['to do']} unfinished, "
            f"{glance['review']} to review, {glance['unreadable']} unreadable.",
        ]
        if self.missing:
            lines.append(
                f"{plural(len(self.missing), 'learner')} of the roster handed in nothing: "
                + ", ".join(f"{m.name} ({m.id})" for m in self.missing)
                + "."
            )
        readable = readable_scores(rows)
        if readable:
            mean = statistics.fmean(readable)
            lines.append(f"Mean score of the readable workbooks: {mean:.1f}%.")
        common = glance["common_roots"][:5]
        if common:
            shown = ", ".join(f"{c['cell']} ({c['learners']})" for c in common)
            lines.append(f"Most common root causes (learners): {shown}.")
        for g in self.graded:
            lines += [f"Warning: {g.learner}: {flag}." for flag in g.flags]
        review = [(g.learner, review_note(g.report)) for g in self.graded if g.report]
        lines += [
            f"To review by hand: {learner}: {note.removeprefix('review ')}."
            for learner, note in review
            if note
        ]
        if self.unmatched:
            lines += [
                "",
                f"{plural(len(self.unmatched), 'file')} matching no learner of the "
                "roster (in no grade book):",
            ]
            lines += [f"  {g.path}: {_unmatched_why(g)}" for g in self.unmatched]
        if self.skipped:
            lines += ["", f"Skipped {plural(len(self.skipped), 'file')}:"]
            lines += [f"  {f}: {why}" for f, why in self.skipped]
        return "\n".join(lines)

    def to_html(self) -> str:
        """The class report people look at (``sheetgen.teacher.class_report``)."""
        from .class_report import render_html

        return render_html(self)

    def summary(self, rows: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """The class at a glance, as data (the JSON document's ``summary``), from ``rows``
        (:meth:`rows`, when the caller has them already)."""
        if rows is None:
            rows = self.rows()
        readable = readable_scores(rows)
        counts = Counter(r["status"] for r in rows)
        roots: Counter[str] = Counter()
        meaning: dict[str, str] = {}
        for report in (g.report for g in self.graded if g.report):
            for c in report.roots:
                cell = class_cell(report, c)
                roots[cell] += 1
                meaning[cell] = c.meaning
        return {
            "workbooks": len(self.graded),
            "ok": counts["ok"],
            "wrong": counts["wrong"],
            "to do": counts["to do"],
            "review": counts["review"],
            "unreadable": counts["unreadable"],
            "flagged": sum(1 for g in self.graded if g.flags),
            "missing": len(self.missing),
            "unmatched": len(self.unmatched),
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
        score as points out of ``points``; files matching no learner are left out.

        Canvas (Grades > Import; the Canvas Instructor Guide's "How do I import grades in the
        Gradebook?", community.canvaslms.com/t5/Instructor-Guide/.../ta-p/807) matches
        learners by its ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID`` and
        ``Section`` columns and reads a ``Points Possible`` row; the roster's id
        goes to ``SIS User ID``. A learner who handed in nothing has an empty score: no grade,
        which Canvas shows as "-" and its missing-submission policy (Grades > Settings > Late
        Policies) may turn into a set grade; a 0 would claim the work was marked.

        Moodle (Grades > Import > CSV file) lets the teacher map a column to a user field and
        another to the grade item: ``ID number`` holds the roster's id, and ``Feedback`` the
        verdict in one line, in words meant for the learner (no file path, no other
        learner's name). A missing learner's grade is ``-``, which Moodle's CSV import reads as
        "no grade" (``gradeimport_csv_load_data::update_grade_item``: ``''`` or ``'-'``).
        """
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\r\n")
        value = {id(g): _points_of(g, points) for g in self.graded}
        graded, files = _best_of_each(self.graded, value)
        if lms == "canvas":
            out.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
            out.writerow(["Points Possible", "", "", "", "", _number(points)])
            for g in graded:
                out.writerow(
                    [g.full_name or g.learner, "", g.learner_id, "", "", _number(value[id(g)])]
                )
            for m in self.missing:
                out.writerow([m.name, "", m.id, "", "", ""])
        elif lms == "moodle":
            out.writerow(["ID number", "Full name", assignment, "Feedback"])
            for g in graded:
                feedback = learner_feedback(g)
                if files[id(g)] > 1:
                    feedback += f" (The best of the {files[id(g)]} files you handed in.)"
                out.writerow(
                    [g.learner_id, g.full_name or g.learner, _number(value[id(g)]), feedback]
                )
            for m in self.missing:
                out.writerow([m.id, m.name, "-", "No submission was received."])
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


def _with_reports(rows: Sequence[dict[str, Any]], graded: Sequence[Graded]) -> list[dict[str, Any]]:
    """Each file's row with its full report (the JSON document's)."""
    return [
        row | {"report": to_dict(g.report) if g.report else None}
        for row, g in zip(rows, graded, strict=True)
    ]


def _points_of(g: Graded, points: float) -> float:
    return round((score(g.report) if g.report else 0.0) * points / 100.0, 2)


def _number(x: float) -> str:
    return f"{x:g}"


def plural(n: int, noun: str) -> str:
    """``1 workbook``, ``2 workbooks``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _best_of_each(
    graded: Sequence[Graded], value: Mapping[int, float]
) -> tuple[list[Graded], dict[int, int]]:
    """One submission per learner of the roster, their best (in the order they come), and how
    many files each chosen one stands for: a grade book holds one grade per learner, and two
    rows of one id (a draft beside the final) leave the grade to the import's row order.
    Files of no roster id keep a row each."""
    best: dict[str, Graded] = {}
    files: Counter[str] = Counter()
    for g in graded:
        if g.learner_id:
            files[g.learner_id] += 1
            if g.learner_id not in best or value[id(g)] > value[id(best[g.learner_id])]:
                best[g.learner_id] = g
    chosen = [g for g in graded if not g.learner_id or best[g.learner_id] is g]
    return chosen, {id(g): files[g.learner_id] if g.learner_id else 1 for g in chosen}


def _to_do(row: Mapping[str, Any], report: Report | None) -> str:
    """The blanks still to do, and the scored cells waiting for them (filled in, their point
    not earned until the blank they read is): with them a line's points add up."""
    waiting = sum(1 for c in report.cells if c.scored and c.status == "waiting") if report else 0
    return f"{row['todo']} + {waiting} waiting" if waiting else str(row["todo"])


def learner_feedback(g: Graded) -> str:
    """The verdict in one line for the learner: their cells, never a path or a flag (flags
    name other learners and are the teacher's)."""
    name = Path(g.path).name
    if g.report is None:
        reason = to_learner(g.reason or "").replace(g.path, name).replace(shown(g.path), name)
        return f"Your file {name} could not be checked: {reason}"
    scored = [c for c in g.report.cells if c.scored]
    right = sum(1 for c in scored if c.ok)
    parts = [f"{right} of {plural(len(scored), 'cell')} right"]
    wrong = [c.cell for c in g.report.attention if c.scored]
    if wrong:
        parts.append(f"to fix: {_first(wrong)}")
    todo = [c.cell for c in g.report.todo]
    if todo:
        parts.append(f"still to do: {_first(todo)}")
    return "; ".join(parts) + "."


def _fix_first(r: Mapping[str, Any], report: Report | None) -> str:
    if r["status"] == "unreadable":
        return f"unreadable: {r['reason']}"
    if r["status"] == "missing":
        return "handed in nothing"
    if r["status"] == "review" and report is not None:  # nothing wrong, not all computed
        return f"review by hand: {_first(c.cell for c in report.review)}"
    return str(r["root_cells"])


def _first(cells: Iterable[str], most: int = 12) -> str:
    """At most ``most`` cell names, and ``...`` for more."""
    names = list(cells)
    return " ".join(names[:most]) + (" ..." if len(names) > most else "")


def _csv_column(values: list[Any]) -> list[str]:
    """One column's cells as pandas writes them: a column of numbers with a float or a gap
    among them is a float column (``52.0``; a gap empty), any other value as ``str`` (None
    empty)."""
    numbers = all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
    )
    if numbers and any(v is None or isinstance(v, float) for v in values):
        return ["" if v is None or v != v else repr(float(v)) for v in values]
    return ["" if v is None else str(v) for v in values]


def _unmatched_why(g: Graded) -> str:
    if g.report is None:
        return f"unreadable ({g.reason})"
    return f"{_row(g, equal_weight, None)['score']:.0f}%, named by no roster learner"


def _common_points(graded: Sequence[Graded]) -> float | None:
    """The points most submissions are out of: what an unreadable file is out of when its
    learner's hand-out is not known."""
    possible = Counter(
        g.expected_points if g.expected_points is not None else points(g.report)[1]
        for g in graded
        if g.report is not None
    )
    return possible.most_common(1)[0][0] if possible else None


def _missing_row(m: Missing, common: float | None) -> dict[str, Any]:
    return (
        {"id": m.id, "learner": m.name, "file": "", "flags": ""}
        | _NOTHING
        | {
            "points_possible": _possible(m.points_possible, common),
            "status": "missing",
            "reason": "no submission",
        }
    )


def _possible(known: float | None, common: float | None) -> float:
    """The points a row with no report is out of: its hand-out's when known, else what most
    of the class's workbooks are out of (:func:`_common_points`)."""
    return round(known if known is not None else common or 0.0, 3)


# The counts of a row with no report (a learner who handed in nothing, an unreadable file).
_NOTHING: dict[str, Any] = {
    "score": 0.0,
    "points": 0.0,
    "right": 0,
    "wrong": 0,
    "todo": 0,
    "waiting": 0,
    "roots": 0,
    "root_cells": "",
    "warnings": "",
}


def _row(g: Graded, weight: Weight, common: float | None = None) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": g.learner_id,
        "learner": g.learner,
        "file": g.path,
        "flags": "; ".join(g.flags),
    }
    r = g.report
    if r is None:
        return (
            base
            | _NOTHING
            | {
                "points_possible": _possible(g.expected_points, common),
                "status": "unreadable",
                "reason": g.reason or "",
            }
        )
    scored = [c for c in r.cells if c.scored]
    roots = [c.cell for c in r.roots]
    wrong = len(r.attention)
    status = "ok" if r.ok else ("wrong" if wrong else "to do" if r.todo or r.waiting else "review")
    if r.review:
        base["flags"] = "; ".join(filter(None, (base["flags"], review_note(r))))
    earned, possible = points(r, weight, scored)
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
