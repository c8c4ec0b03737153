"""Grading a class: verify every learner's workbook, in parallel, into one ``ClassReport``.

How a workbook is scored is ``sheetgen.teacher.scoring``'s; which files are graded,
``gather``'s; whose each file is, ``identify``'s; the class's outputs, ``results``'.
"""

from __future__ import annotations

import gc
import importlib
import math
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.compiled import FormulaCache, compile_formula
from ..errors import SheetgenError, UsageError
from .gather import WORKBOOK_SUFFIXES, collect, gather
from .handouts import check_handouts
from .identify import flag_copies, identify
from .provenance import Manifest, read_manifest
from .results import FORMATS, ClassReport, Missing
from .roster import Learner, read_roster
from .scoring import Graded, grade_one, score

if TYPE_CHECKING:
    import pandas as pd

    from ..workbook.safety import Limits

__all__ = [
    "FORMATS",
    "ClassReport",
    "Graded",
    "collect",
    "gather",
    "grade",
    "grade_class",
    "grade_one",
    "identify",
    "score",
]

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
    keys: Path | str | None = None,
    hints: bool | None = None,
) -> ClassReport:
    """Verify every workbook of ``paths`` (files or folders) over ``workers`` processes.

    ``limits`` are the safety limits each file is checked within (default:
    ``safety.configured_limits()``, read in each worker).

    Results arrive in order as they are done (``progress(done, total, graded)`` is called for
    each). A file that kills its worker process gets a row saying so; the others are redone.
    Then each file is given its learner (``identify``, with ``roster`` if given), scored on
    its learner's hand-out and flagged where it is not theirs (``check_handouts``, with the
    ``keys`` folder of a roster build if given), and copies are flagged (``flag_copies``).
    With a roster (or keys), learners with no file are ``missing`` and files that match no
    learner are ``unmatched``: listed apart, never rows of a grade book.
    ``hints`` overrides the hand-outs' own choice of hints in the feedback.
    """
    paths = list(paths)
    # A bad roster or keys folder: one sentence before any work.
    manifest = read_manifest(keys) if keys is not None else None
    learners = read_roster(roster) if roster is not None else ()
    if manifest is not None and not learners:
        learners = tuple(Learner(e.learner_id, e.record.name) for e in manifest.learners)
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
    run = partial(grade_one, variants=variants, seed=seed, limits=limits, hints=hints)
    results: list[Graded] = []
    # One hand-out's submissions share their formulas: each is compiled once for the run (in
    # this process before the workers are forked, or by the worker that first meets it).
    for graded in _run(run, files, n, FormulaCache()):
        results.append(graded)
        if progress is not None:
            progress(len(results), len(files), graded)
    roots = [Path(p) for p in paths if Path(p).is_dir()]
    assembled = check_handouts(identify(results, roots, learners), manifest)
    flagged = flag_copies(assembled)
    if not learners:
        return ClassReport(tuple(flagged), gathered.skipped)
    handed = {g.learner_id for g in flagged if g.learner_id}
    points = _points_by_id(manifest)
    missing = tuple(
        Missing(learner.id, learner.name, points.get(learner.id))
        for learner in learners
        if learner.id not in handed
    )
    return ClassReport(
        tuple(g for g in flagged if g.learner_id),
        gathered.skipped,
        missing=missing,
        unmatched=tuple(g for g in flagged if not g.learner_id),
    )


def _points_by_id(manifest: Manifest | None) -> dict[str, float]:
    """Each learner's hand-out points (for those who handed in nothing), as the manifest says;
    without one, a missing learner is out of the class's most common points (``results``)."""
    if manifest is not None:
        return {e.learner_id: float(len(e.record.blanks)) for e in manifest.learners}
    return {}


def _run(
    run: Callable[..., Graded],
    files: list[str],
    workers: int,
    formulas: FormulaCache | None = None,
) -> Iterator[Graded]:
    """``run(path)`` for each file, in order, over ``workers`` processes; ``run`` is given
    ``formulas=`` too when there are ``formulas`` to share."""
    if workers <= 1:
        yield from map(run if formulas is None else partial(run, formulas=formulas), files)
        return
    # Forked workers inherit the imported engine and these compiled formulas.
    warm_up(formulas if formulas is not None else FormulaCache())
    call = partial(_with_adopted, run)
    # Small chunks (a few books each, some 30 ms of work): no worker is left with a long last
    # chunk while the other has nothing left to do; a chunk's round trip costs far less.
    chunk = max(1, math.ceil(len(files) / (workers * 16)))
    done = 0
    # What is imported so far lives as long as the run: kept out of the collector's full
    # passes, in this process (as the reports pile up) and in the forked workers (whose
    # passes would otherwise also copy every page they touch). A host's own frozen objects
    # are its to release, so only a run that froze them thaws them.
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        with _pool(workers, formulas) as pool:
            for graded in pool.map(call, files, chunksize=chunk):
                done += 1
                yield graded
    except BrokenProcessPool:
        # A worker died (a crash in a C library, memory): redo the rest one file per process,
        # so that only the file that kills its process gets that as its reason.
        for path in files[done:]:
            yield _isolated(call, path, formulas)
    finally:
        if freeze:
            gc.unfreeze()


def _pool(workers: int, formulas: FormulaCache | None) -> ProcessPoolExecutor:
    """A pool whose workers adopt ``formulas``: inherited where they are forked; elsewhere
    (spawned: compiled functions do not pickle) each worker compiles its own."""
    context = _context()
    shared = formulas if context.get_start_method() == "fork" else None
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_adopt, initargs=(shared,))


def _isolated(run: Callable[[str], Graded], path: str, formulas: FormulaCache | None) -> Graded:
    try:
        with _pool(1, formulas) as pool:
            return pool.submit(run, path).result()
    except BrokenProcessPool:
        return Graded(path, None, "the checker's process died while reading this file")


# A worker process's own: the run's compiled formulas, handed over when the process starts
# (forked: inherited, never pickled), so that each job names only its file.
_ADOPTED: list[FormulaCache] = []


def _adopt(formulas: FormulaCache | None) -> None:
    if formulas is not None:
        _ADOPTED.append(formulas)


def _with_adopted(run: Callable[..., Graded], path: str) -> Graded:
    return run(path, formulas=_ADOPTED[0]) if _ADOPTED else run(path)


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def warm_up(formulas: FormulaCache | None = None) -> None:
    """Import what every book's check needs and compile the templates' formulas (into
    ``formulas`` too, when given): what a run over workers does before forking them, and
    what a caller may do ahead of a run (the command line does, while its collector rests;
    the run's own warm-up then finds it all done)."""
    from ..layouts.layout import available_layouts, load_layout

    # Every book's verify imports the layout recogniser, and zipfile the codec of the names
    # of entries not flagged UTF-8: once here, not once per worker.
    importlib.import_module("sheetgen.check.recognise")
    importlib.import_module("encodings.cp437")

    # What every book needs, the templates' formulas, is compiled here once; a learner's own
    # formula (SINH, MAX...) by the worker that meets it, on a core that is free by then
    # (compiling it here would hold up both workers' start for what only some books need).
    for name in available_layouts():
        try:
            layout = load_layout(name)
        except SheetgenError:
            continue
        for spec in layout.checked:
            if spec.formula:
                if formulas is None:
                    compile_formula(spec.formula)  # remembered by the engine's own cache
                else:
                    formulas.compiled(spec.formula)


def grade(paths: Iterable[Path | str], **options: Any) -> pd.DataFrame:
    """One row per workbook (see ``ClassReport.table``); options as for ``grade_class``."""
    return grade_class(paths, **options).table()
