"""The commands that judge workbooks: ``verify``, ``grade`` and the Gradescope ``autograder``."""

from __future__ import annotations

import argparse
import sys
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import TooLargeError, UsageError, shown
from ..workbook.safety.messages import file_label, too_large_to_copy
from .options import (
    add_quiet_option,
    add_teacher_options,
    at_least,
    few_collections,
    positive,
    safety_limits,
)

if TYPE_CHECKING:
    from ..check.results import Report
    from ..teacher.grade import ClassReport
    from ..workbook.safety import Limits
    from .options import Commands


def cmd_verify(args: argparse.Namespace) -> int:
    from ..check.verify import verify_workbook
    from ..report.render import json_chunks, text_lines
    from ..workbook.safety.container import opendocument

    limits = safety_limits(args)
    if args.annotate is not None and opendocument(Path(args.path)):
        raise UsageError(
            f"--annotate writes a marked copy of an Excel workbook and {shown(args.path)} "
            "is an OpenDocument spreadsheet: verify it without --annotate, or save it as .xlsx "
            "(File > Save As) and annotate that."
        )
    if args.annotate is not None:  # settled before the check runs, not after its report
        from ..writer.files import check_output, check_writable

        if (
            Path(args.annotate).exists()
            and Path(args.annotate).resolve() == Path(args.path).resolve()
        ):
            raise UsageError(  # before check_output, whose "pass --force" would not help
                "The feedback copy must not overwrite the learner's workbook: "
                "give --annotate another name."
            )
        annotated = check_output(args.annotate, force=args.force)
        check_writable(annotated)
    from ..progress import ticking

    with few_collections():
        with ticking(f"Verifying {shown(args.path)}", quiet=args.quiet):
            report = verify_workbook(
                Path(args.path),
                args.layout,
                variants=args.variants,
                sheet=args.sheet,
                limits=limits,
                hints=True if args.hints else None,
            )
        if args.json:  # a cell at a time: a large sheet's document is never held whole
            sys.stdout.writelines(json_chunks(report))
            sys.stdout.write("\n")
        else:  # a thousand lines at a time: a large sheet's table is not held twice
            lines = text_lines(report, only_wrong=args.only_wrong, short=not args.all)
            while chunk := list(islice(lines, 1000)):
                sys.stdout.write("\n".join(chunk) + "\n")
    if args.annotate is not None:
        written = _feedback_copy(report, args, limits)
        print(f"Wrote the feedback workbook {shown(written)}", file=sys.stderr)
    return report.exit_code


def _feedback_copy(report: Report, args: argparse.Namespace, limits: Limits) -> Path:
    """``--annotate``'s copy of the checked workbook. What writes it (openpyxl) is imported
    only now, once the report is printed and the check's memory let go; running out
    importing it is told as running out writing the copy is (``annotate``)."""
    try:
        from ..report.annotate import annotate
    except MemoryError:
        raise TooLargeError(too_large_to_copy(file_label(Path(args.path)))) from None
    return annotate(report, args.annotate, force=args.force, limits=limits)


def cmd_grade(args: argparse.Namespace) -> int:
    # The grader's imports and the engine's warm-up (imported, the templates' formulas
    # compiled) make some hundred thousand objects that live as long as the run: the
    # collector's passes over them, some 15 ms of the start, would find nothing to free. The
    # books are then checked with the collector as it was (here and in the workers forked
    # from this process), since they do leave cycles behind.
    with few_collections():
        from ..progress import Counter
        from ..teacher.grade import grade_class

        limits = _ready_to_grade(args)
    bar = Counter("Grading", quiet=args.quiet or args.no_progress)
    try:
        result = grade_class(
            args.paths,
            workers=args.workers,
            variants=args.variants,
            progress=bar,
            roster=args.roster,
            keys=args.keys,
            hints=True if args.hints else None,
            limits=limits,
        )
    finally:
        bar.close()
    options = {"assignment": args.assignment, "points": args.points}
    if args.output:
        written = result.write(
            args.output, args.format, force=args.force, encoding=args.encoding, **options
        )
        print(f"Wrote {shown(written)}", file=sys.stderr)
    elif args.format and args.format != "text":
        print(result.render(args.format, **options))
        return _grade_exit(result)
    print(result.to_text())
    return _grade_exit(result)


def _ready_to_grade(args: argparse.Namespace) -> Limits:
    """The limits to grade within, once the report's name is settled (before any grading,
    not after) and the engine warmed up."""
    from ..teacher.grade import FORMATS, warm_up

    limits = safety_limits(args)
    if args.output is not None:
        from ..writer.files import check_output, check_writable

        if args.format:
            _check_suffix(Path(args.output), args.format, FORMATS)
        check_output(
            args.output,
            suffixes=[Path(args.output).suffix] if args.format else FORMATS,
            force=args.force,
            what="reports",
        )
        check_writable(Path(args.output))
    warm_up()
    return limits


_SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods")


def _check_suffix(target: Path, fmt: str, formats: dict[str, str]) -> None:
    """Refuse a name whose suffix promises another format than ``--format`` writes: Canvas's
    CSV in ``x.json``, or Moodle's in ``grades.xlsx``, which Excel then refuses to open. A
    name of no format sheetgen knows (``report``, ``grades.out``) is what ``--format`` is for."""
    own = ".csv" if fmt in ("canvas", "moodle") else {f: s for s, f in formats.items()}[fmt]
    suffix = target.suffix.lower()
    if suffix != own and (suffix in formats or suffix in _SPREADSHEETS):
        raise UsageError(
            f"--format {fmt} writes {own[1:].upper()}, not what the name {shown(target)} "
            f"says ({suffix}): name it {shown(target.with_suffix(own))}."
        )


def _grade_exit(result: ClassReport) -> int:
    """0 every workbook right; 1 one wrong or unreadable; 3 none wrong, but some cells not
    computed by sheetgen (checked from saved values, or not checked), as ``verify``'s 3."""
    codes = {g.report.exit_code if g.report is not None else 1 for g in result.graded}
    return 1 if 1 in codes else 3 if 3 in codes else 0


def cmd_autograder(args: argparse.Namespace) -> int:
    from ..teacher.autograder import write_bundle

    written = write_bundle(
        args.output, args.layout, force=args.force, keys=args.keys, hints=args.hints
    )
    print(f"Wrote {written} (upload it as the assignment's Gradescope autograder)", file=sys.stderr)
    return 0


def add_verify(sub: Commands) -> None:
    """The ``verify`` command's arguments."""
    p = sub.add_parser(
        "verify",
        help="check every cell of a workbook against the reference",
        description="Evaluate a workbook's formulas and check every cell. "
        "Exit 0: all right; 1: wrong cells found; 2: could not check; 3: nothing wrong, but "
        "some cells sheetgen could not compute: review them.",
    )
    p.add_argument("path", help="the workbook to check: .xlsx, .xlsm or .ods (never modified)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    listing = p.add_mutually_exclusive_group()
    listing.add_argument("--only-wrong", action="store_true", help="list only the cells that fail")
    listing.add_argument(
        "--all",
        action="store_true",
        help="list every checked cell, also on a large sheet (one of more than 500 cells lists "
        "only the cells that need attention without it)",
    )
    p.add_argument(
        "--layout", default=None, help="template name or spec (default: what the file records)"
    )
    p.add_argument(
        "--sheet",
        default=None,
        metavar="NAME",
        help="the sheet to judge (default: the one holding the layout with the learner's work)",
    )
    add_teacher_options(p)
    p.add_argument(
        "--annotate",
        metavar="OUT",
        help="also write a copy of the workbook with wrong cells marked and commented "
        "(.xlsx and .xlsm inputs; an .ods is refused: save it as .xlsx first)",
    )
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    add_quiet_option(p)
    p.set_defaults(run=cmd_verify)


def add_grade(sub: Commands) -> None:
    """The ``grade`` command's arguments."""
    p = sub.add_parser(
        "grade",
        help="verify a class's workbooks and summarise them",
        description="Verify every workbook (files, or folders searched with their subfolders "
        "for .xlsx, .xlsm and .ods files) in parallel and write one row per learner. Score: "
        "equal weight per scored cell (in an exercise, the blanks alone). "
        "Exit 0: all right; 1: some are not; 2: could not run; 3: nothing wrong, but some "
        "cells sheetgen could not compute: review them.",
    )
    p.add_argument("paths", nargs="+", metavar="DIR|FILE", help="workbooks or folders of them")
    p.add_argument(
        "-o",
        "--output",
        metavar="REPORT",
        help="write the summary here (.csv, .json, .xml = JUnit, .txt, .html = the class report)",
    )
    p.add_argument(
        "--format",
        choices=("csv", "json", "junit", "text", "html", "canvas", "moodle"),
        help="the format of a REPORT named with no format's suffix (a suffix of another format "
        "is refused); canvas and moodle write those grade books' import CSV (.csv)",
    )
    p.add_argument(
        "--roster",
        type=Path,
        metavar="CSV",
        help="the class list (id and name columns): names learners by their folder or file, "
        "and lists those who handed in nothing",
    )
    p.add_argument(
        "--keys",
        type=Path,
        metavar="DIR",
        help="the keys folder of the roster build: checks each file's signed record and scores "
        "it on its learner's hand-out",
    )
    p.add_argument(
        "--encoding",
        metavar="NAME",
        help="encoding of the written report (default: CSV in UTF-8 with a BOM, for Excel)",
    )
    p.add_argument(
        "--assignment",
        default="sheetgen",
        metavar="NAME",
        help="the grade-book column of --format canvas|moodle (default sheetgen)",
    )
    p.add_argument(
        "--points",
        type=positive,
        default=100.0,
        metavar="N",
        help="points possible in the grade book (default 100; the score is scaled to it)",
    )
    p.add_argument("--force", action="store_true", help="overwrite REPORT if it exists")
    p.add_argument(
        "--workers", type=at_least(1), metavar="N", help="processes (default: all cores)"
    )
    p.add_argument("--no-progress", action="store_true", help="the same as --quiet")
    add_quiet_option(p)
    add_teacher_options(p)
    p.set_defaults(run=cmd_grade)


def add_autograder(sub: Commands) -> None:
    """The ``autograder`` command's arguments."""
    p = sub.add_parser(
        "autograder",
        help="write a Gradescope autograder bundle (.zip)",
        description="Write a zip that follows Gradescope's autograder specification: setup.sh "
        "installs this sheetgen, run_autograder verifies the submitted workbook and writes "
        "results/results.json (one test per group of scored cells, the feedback as output).",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("autograder.zip"),
        metavar="ZIP",
        help="where to write (default autograder.zip)",
    )
    p.add_argument(
        "--layout",
        default=None,
        help="the layout submissions must follow (default: what each file records, or any "
        "template)",
    )
    p.add_argument(
        "--keys",
        type=Path,
        metavar="DIR",
        help="ship a roster build's keys folder: each learner scored on their own hand-out, "
        "and files not theirs flagged to you",
    )
    p.add_argument(
        "--hints",
        action="store_true",
        help="give learners the formula hints even on hand-outs built with --no-hints",
    )
    p.add_argument("--force", action="store_true", help="overwrite ZIP if it exists")
    p.set_defaults(run=cmd_autograder)
