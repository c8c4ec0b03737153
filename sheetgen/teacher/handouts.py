"""Which hand-out each submission is scored against, and what about it is not the learner's own.

Points come from the learner's hand-out: the cells it left blank are the scored cells,
whatever the file handed in looks like. The hand-out is, in order: the one the keys folder's
manifest lists for the learner; the one the file's own record describes; the blanks most of the
class's exercises share. A complete sheet (an answer key, a plain ``build``) is thus scored on
the same cells as everyone else, never on all of them.

What is not the learner's own is a **flag** with its evidence, never a silent change of score:
a complete sheet, a file from no hand-out, another learner's hand-out or answer key, a record
whose signature does not match (edited or made up), parameters that are not the hand-out's.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..check.results import Report
from ..maths.neuron import describe
from .provenance import Manifest, Record
from .results import plural
from .roster import LEARNER_ID, LEARNER_NAME
from .scoring import Graded

__all__ = ["Handout", "check_handouts", "scored_on"]


@dataclass(frozen=True)
class Handout:
    """The cells a learner was to fill in (quantities) and the parameters handed out."""

    blanks: tuple[str, ...]
    parameters: Mapping[str, float]
    layout: str
    source: str  # "the keys folder", "the file's record", "the class's hand-outs"


def scored_on(report: Report, blanks: Sequence[str]) -> Report:
    """``report`` scored on ``blanks`` (quantities) alone: every other checked cell is context,
    as the cells an exercise hands out filled in are."""
    wanted = set(blanks)
    cells = tuple(
        replace(c, context=c.quantity not in wanted) if c.graded else c for c in report.cells
    )
    return replace(report, cells=cells)


def check_handouts(
    graded: Sequence[Graded],
    manifest: Manifest | None = None,
    *,
    fallback: Handout | None = None,
) -> list[Graded]:
    """Score each submission on its learner's hand-out and flag what is not theirs.

    The class was handed signed hand-outs when the keys folder is given or any file carries a
    record: a file without one is then flagged. ``fallback``: the hand-out of a file that
    records none, when the class's own files do not say (the autograder grades one file at a
    time).
    """
    records = {id(g): _records(g, manifest) for g in graded}
    signed = manifest is not None or any(records.values())
    common = _common_handout(graded, signed=signed) or fallback
    out = []
    for g in graded:
        handout = _handout_of(g, manifest, records[id(g)], common)
        flags = list(g.flags)
        flags += _provenance_flags(g, manifest, records[id(g)], signed)
        report = g.report
        expected = float(len(handout.blanks)) if handout else None
        if report is not None and handout is not None:
            own = any(
                kind == "hand-out" and r.learner_id in ("", g.learner_id)
                for kind, r in records[id(g)]
            )
            # A complete sheet: no blanks recorded nor noted, and not this learner's own
            # signed hand-out (whose marks of blanks an application may have dropped).
            if not report.exercise and not own:
                flags.append(
                    f"a complete sheet, not a hand-out with blanks: scored on the hand-out's "
                    f"{len(handout.blanks)} cells (from {handout.source})"
                )
            if handout.layout and (report.spec or report.layout) != handout.layout:
                flags.append(
                    f"the layout is {report.spec or report.layout}, the hand-out's is "
                    f"{handout.layout}"
                )
            flags += _parameter_flags(report, handout)
            if (
                handout.source == "the file's record"
                and common is not None
                and set(handout.blanks) != set(common.blanks)
            ):
                flags.append(
                    f"its record names {plural(len(handout.blanks), 'cell')} to fill in, the "
                    f"class's hand-outs {len(common.blanks)} (only --keys checks a record)"
                )
            report = scored_on(report, handout.blanks)
        out.append(replace(g, report=report, flags=tuple(flags), expected_points=expected))
    return out


def _records(g: Graded, manifest: Manifest | None) -> list[tuple[str, Record]]:
    """(kind, record) of every hand-out or key the file's signatures name."""
    if manifest is not None:
        return [(kind, e.record) for kind, e in manifest.whose(g.found)]
    return [(r.kind, r) for r in g.found.decoded()]


def _handout_of(
    g: Graded,
    manifest: Manifest | None,
    records: Sequence[tuple[str, Record]],
    common: Handout | None,
) -> Handout | None:
    if manifest is not None and g.learner_id in manifest.by_id:
        r = manifest.by_id[g.learner_id].record
        return Handout(r.blanks, r.parameters, r.layout, "the keys folder")
    mine = [r for _, r in records if r.learner_id == g.learner_id] or [r for _, r in records]
    if mine:
        r = mine[0]
        return Handout(r.blanks, r.parameters, r.layout, "the file's record")
    return common


def _common_handout(graded: Sequence[Graded], *, signed: bool) -> Handout | None:
    """The blanks most of the class's exercises share (for a file that records none), when
    the class was handed signed hand-outs or most of its readable files are exercises: a class
    of complete sheets is graded on every cell."""
    shapes: Counter[tuple[str, tuple[str, ...]]] = Counter()
    readable = 0
    for g in graded:
        r = g.report
        readable += r is not None
        if r is not None and r.exercise:
            blanks = tuple(c.quantity for c in r.cells if c.scored)
            shapes[(r.spec or r.layout, blanks)] += 1
    if not shapes or (not signed and 2 * shapes.total() <= readable):
        return None
    (layout, blanks), _ = shapes.most_common(1)[0]
    return Handout(blanks, {}, layout, "the class's hand-outs")


def _provenance_flags(
    g: Graded, manifest: Manifest | None, records: Sequence[tuple[str, Record]], signed: bool
) -> list[str]:
    if g.report is None:
        return []
    flags = []
    if manifest is not None:
        for r in manifest.forged(g.found):
            who = f" (it claims to be for {r.name or r.learner_id})" if r.learner_id else ""
            flags.append(
                "its hand-out record was altered, made up or signed with another class's key: "
                f"the signature does not match{who}"
            )
    mine = g.learner_id
    for kind, r in records:
        if kind == "key":
            flags.append(f"the answer key of {r.name} ({r.learner_id}), not a hand-out")
        elif mine and r.learner_id and r.learner_id != mine:
            flags.append(f"handed in by {g.name} but it is the hand-out of {r.name}")
    if not records and not g.found.any:
        props = dict(g.recorded)
        rec_id = props.get(LEARNER_ID, "")
        if mine and rec_id and rec_id != mine:
            owner = props.get(LEARNER_NAME, rec_id)
            flags.append(f"handed in by {g.name} but it is the hand-out of {owner}")
        if signed and g.report.exercise:
            flags.append("no hand-out record: the title cell's signed note and names are gone")
        elif signed:
            flags.append("from no hand-out: no signed record (a plain build or another file)")
    elif not records and manifest is not None:
        flags.append("its signatures belong to no hand-out of this class")
    return flags


def _parameter_flags(report: Report, handout: Handout) -> list[str]:
    differ = []
    for name, want in handout.parameters.items():
        found = report.parameters.get(name)
        if name not in report.parameters or isinstance(found, bool):
            continue
        if not isinstance(found, int | float) or not math.isclose(
            float(found), want, rel_tol=1e-9, abs_tol=1e-12
        ):
            differ.append(f"{describe(name)} {found!r} (hand-out {want:g})")
    if not differ:
        return []
    return ["parameters that are not the hand-out's: " + ", ".join(differ)]
