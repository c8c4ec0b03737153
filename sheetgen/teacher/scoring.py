"""Scoring one learner's workbook: its report, verified on its own, and its points.

Score policy (``score``): every scored cell weighs the same, and earns its weight only when its
verdict is ``ok``; a cell checked from the value the learner's application saved (sheetgen
cannot compute its formula) earns it too, and is flagged for review; a cell sheetgen cannot
compute with no saved number is left out of the score and flagged. In an exercise the scored
cells are the blanks the learner had to fill in, and nothing else: the cells handed out already
filled are context (reported, never counted), so an untouched hand-out scores 0. In any other
workbook every cell the layout checks is scored. A cell wrong only because of another
(inherited) loses its point too, since the number it shows is wrong; the summary counts root
causes separately so that a teacher can see "one mistake, seven cells". Blanks still to do, and
cells waiting for them, earn nothing and are not called wrong. Parameter cells are the
learner's to change and are never scored (an unusable one leaves the cells unchecked, which
earn nothing). A workbook that cannot be read scores 0 and its row says why. A script may pass
its own ``weight(cell) -> float`` instead.

One broken or hostile file never stops the batch: each file is verified on its own, and any
failure, expected (``SheetgenError``) or not, becomes that file's row with the reason.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..check.verify import CellResult, Report, verify_workbook
from ..errors import SheetgenError
from ..workbook.safety import configured_limits
from ..workbook.safety.files import read_input
from .provenance import Found, read_found_or_refusal
from .roster import LEARNER_ID

if TYPE_CHECKING:
    from ..engine.compiled import FormulaCache
    from ..workbook.safety import Limits

Weight = Callable[[CellResult], float]

SCORE_POLICY = (
    "equal weight per scored cell; in an exercise only the blanks are scored (pre-filled cells "
    "are context); to-do and waiting cells earn nothing"
)


def equal_weight(cell: CellResult) -> float:
    """The default policy: each checked cell counts once."""
    return 1.0


def points(
    report: Report, weight: Weight = equal_weight, scored: Sequence[CellResult] | None = None
) -> tuple[float, float]:
    """(earned, possible): the scored cells' weight earned by right cells, and their total.

    ``scored``: the report's scored cells, when the caller has picked them out already."""
    if scored is None:
        scored = [c for c in report.cells if c.scored]
    return sum(weight(c) for c in scored if c.ok), sum(weight(c) for c in scored)


def score(report: Report, weight: Weight = equal_weight) -> float:
    """Percentage of the scored cells' weight earned by right cells (see the module docstring)."""
    earned, total = points(report, weight)
    return 100.0 * earned / total if total else 0.0


def readable_scores(rows: Iterable[Mapping[str, Any]]) -> list[float]:
    """The scores of a class's rows that a mean is taken over: the workbooks that were read (an
    unreadable file's 0, or a learner's who handed in nothing, says nothing of a sheet)."""
    return [r["score"] for r in rows if r["status"] not in ("unreadable", "missing")]


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
    flags: tuple[str, ...] = ()  # copies, other hand-outs, complete sheets (see handouts)
    found: Found = field(default_factory=Found)  # its signed records and signatures
    expected_points: float | None = None  # the learner's hand-out's points, once known
    full_name: str = ""  # their name alone, without where their file is (grade books)

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
    hints: bool | None = None,
    formulas: FormulaCache | None = None,
) -> Graded:
    """Verify one file; never raises (a module-level function, so worker processes can run it).

    ``formulas``: the compiled formulas shared with the other files of the run (see
    ``verify_workbook``)."""
    start = time.perf_counter()
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    data = b""
    try:
        # Read once, as verify would (the same bounded reader, limits and sentences): the
        # hash and the records below are of the very bytes checked.
        limits = limits or configured_limits()
        data = read_input(Path(path), limits)
        report = verify_workbook(
            path,
            variants=variants,
            seed=seed,
            limits=limits,
            hints=hints,
            formulas=formulas,
            data=data,
        )
        graded = Graded(path, report)
    except SheetgenError as exc:
        graded = Graded(path, None, str(exc))
    except Exception as exc:  # a bug of ours or the engine's: this file's row, not the batch
        graded = Graded(path, None, f"internal error ({type(exc).__name__}: {exc})")
    digest, recorded, found = "", tuple[tuple[str, str], ...](), Found()
    if graded.report is not None:  # one pass over the package for records and properties
        searched = read_found_or_refusal(data, path)
        if isinstance(searched, str):  # refused as too large to check, as verify's running out
            graded = Graded(path, None, searched)
        else:
            digest, found = hashlib.sha256(data).hexdigest(), searched
        recorded = found.properties
    del data
    return replace(
        graded,
        seconds=time.perf_counter() - start,
        timestamp=stamp,
        digest=digest,
        recorded=recorded,
        found=found,
    )
