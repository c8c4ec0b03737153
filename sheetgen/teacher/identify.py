"""Whose each submission is, and which submissions are not their own.

A file is named after the roster's learner its path names, or the hand-out it records; copies
(byte-identical files, one hand-out's parameters under two learners) are flagged, never
scored differently.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..report.render import listed
from .roster import LEARNER_ID, LEARNER_NAME, SEED, Learner
from .scoring import Graded


def identify(
    graded: Sequence[Graded], roots: Sequence[Path], roster: Sequence[Learner] = ()
) -> list[Graded]:
    """Name the learner of each file: the roster's learner its folder or file name names, else
    the learner the hand-out records, else the file name, or the folder when file names repeat
    (LMS downloads: every learner's file may be called ``neuron.xlsx``).

    Whether it is their own hand-out is ``sheetgen.teacher.handouts``'s to say.
    """
    stems = Counter(Path(g.path).stem.casefold() for g in graded)
    roots = [root.resolve() for root in roots]  # once, not once per file
    ids = {learner.id: learner for learner in roster}
    keys = _roster_keys(roster)
    out = []
    for g in graded:
        parts = _relative_parts(Path(g.path), roots)
        by_path = _match_roster(parts, keys)
        rec = dict(g.recorded)
        signed = [r.learner_id for r in g.found.decoded() if r.learner_id]
        rec_id = signed[0] if signed else rec.get(LEARNER_ID, "")
        if by_path is not None:
            learner_id, name = by_path.id, by_path.name
        elif rec_id and (not roster or rec_id in ids):  # else on no roster: listed apart
            learner_id = rec_id
            name = ids[rec_id].name if rec_id in ids else rec.get(LEARNER_NAME, rec_id)
        else:
            stem = Path(g.path).stem
            folder = parts[-2] if len(parts) > 1 else ""
            learner_id, name = "", folder if stems[stem.casefold()] > 1 and folder else stem
        out.append(replace(g, name=name, learner_id=learner_id, full_name=name))
    recorded = Counter(g.recorded_id for g in out if g.recorded_id)
    out = [
        replace(g, flags=(*g.flags, f"{recorded[g.recorded_id]} files record the same hand-out"))
        if g.recorded_id and recorded[g.recorded_id] > 1 and g.learner_id == g.recorded_id
        else g
        for g in out
    ]
    names = Counter(g.name for g in out)
    labels = [_labelled(g, roots, whole=False) if names[g.name] > 1 else g.name for g in out]
    again = Counter(labels)  # files of one folder: their file names too
    return [
        replace(g, name=_labelled(g, roots, whole=True) if again[label] > 1 else label)
        for g, label in zip(out, labels, strict=True)
    ]


def _labelled(g: Graded, roots: Sequence[Path], *, whole: bool) -> str:
    """``g``'s name with where its file is: its folder, or (``whole``) its folder and file
    name, for several files of one learner's folder."""
    parts = _relative_parts(Path(g.path), roots)
    where = "/".join(parts[-2:] if whole else parts[-2:-1]) or Path(g.path).name
    return f"{g.name} ({where})"


def _relative_parts(path: Path, roots: Sequence[Path]) -> tuple[str, ...]:
    """``path``'s parts below the first of the (resolved) ``roots`` that holds it."""
    for root in roots:
        try:
            return path.resolve().relative_to(root).parts
        except ValueError:
            continue
    return path.parts[-2:]


def _roster_keys(roster: Sequence[Learner]) -> list[tuple[Learner, str, str]]:
    """Each learner with what a path is searched for: the id folded, the name folded to
    words between spaces (``" jose nunez "``); made once per roster, not once per file."""
    return [(learner, _fold(learner.id), f" {_spaced(_fold(learner.name))} ") for learner in roster]


def _match_roster(parts: Sequence[str], keys: Sequence[tuple[Learner, str, str]]) -> Learner | None:
    """The roster learner a path names: an id as a whole token, or a full name (accents and
    case aside, whole words only), the longest match winning."""
    if not keys:
        return None
    tokens = [_fold(p) for p in parts]
    words = {w for t in tokens for w in re.split(r"[^0-9a-z@.]+", t) if w}
    spaced = [f" {_spaced(t)} " for t in tokens]
    best: tuple[int, Learner] | None = None
    for learner, ident, name in keys:
        hit = 0
        if ident in words or ident in tokens:
            hit = len(learner.id) + 1000
        elif name.strip() and any(name in t for t in spaced):
            hit = len(name) - 2  # the name's length, the spaces around it aside
        if hit and (best is None or hit > best[0]):
            best = (hit, learner)
    return best[1] if best else None


def _spaced(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


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
                others = [graded[j].learner for j in group if j != i]
                if len(others) == 1:
                    flags[i].append(f"byte-identical to the submission of {others[0]}")
                else:
                    flags[i].append(
                        f"byte-identical to {len(others)} other submissions: "
                        + listed(others, NAMED)
                    )
    for group in same_params.values():
        who = {graded[i].learner_id or graded[i].learner for i in group}
        if len(group) > 1 and len(who) > 1:
            for i in group:
                others = [graded[j].learner for j in group if j != i]
                flags[i].append(f"the same hand-out parameters as {listed(others, NAMED)}")
    return [replace(g, flags=tuple(flags[i])) for i, g in enumerate(graded)]


NAMED = 3
"""Names a copy's flag lists before "and N more": a class of copies stays one short line each,
not every name on every row (the flags column, the grade's warnings)."""
