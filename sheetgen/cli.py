"""The ``sheetgen`` command: a thin shell over the library.

Exit codes: 0 all right; 1 the check ran and found wrong cells; 2 it could not run (bad usage,
a missing, unreadable or hostile file), with one sentence on stderr and never a traceback; 3
(verify, grade) nothing wrong, but some cells sheetgen could not compute: review them.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import io
import os
import re
import secrets
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from . import __version__
from .errors import OutputExistsError, SheetgenError, UsageError, shown
from .layouts.families import FAMILIES
from .maths.optimizers import OPTIMIZER_OPTIONS, OPTIMIZERS
from .report.terminal import ASCII_ERRORS, ascii_fallback

if TYPE_CHECKING:
    from .teacher.grade import ClassReport
    from .workbook.safety import Limits

PARAMETERS = ("input", "weight", "bias", "target")


def _add_parameters(parser: argparse.ArgumentParser, *, tiny: bool) -> None:
    group = parser.add_argument_group("neuron parameters (defaults: the article's)")
    for name in PARAMETERS:
        group.add_argument(f"--{name}", type=float, metavar="X", help=f"the {name}")
    if tiny:
        group.add_argument(
            "--tiny",
            type=float,
            metavar="D",
            help="the nudge of the faux gradients (default 0.0001)",
        )


VARIANT_OPTIONS = ("activation", "loss", "difference", "inputs", "distance")


def _add_variant_options(parser: argparse.ArgumentParser) -> None:
    from .maths.neuron import DIFFERENCES, LOSSES

    group = parser.add_argument_group(
        "neuron variants (with --activation, any of these builds a 'neuron' layout; "
        "defaults: the article's)"
    )
    group.add_argument("--loss", choices=tuple(LOSSES), help="default half-squared (error²/2)")
    group.add_argument(
        "--difference", choices=DIFFERENCES, help="faux gradients' finite difference (forward)"
    )
    group.add_argument("--inputs", type=int, metavar="N", help="number of inputs (default 1)")
    group.add_argument(
        "--distance",
        action=argparse.BooleanOptionalAction,
        help="a column with each faux gradient's distance from the real one "
        "(default: on, except for the article's own sheet)",
    )


def _import_openpyxl_without_numpy() -> None:
    """Import openpyxl without numpy: a tenth of a second that build, templates and reference
    do not need.

    openpyxl imports numpy (when it can) only so that cells accept numpy's scalar types; the
    builder writes Python floats. numpy is blocked during openpyxl's own import alone, and
    only in a process that has imported neither: numpy stays importable afterwards (``verify``
    in the same process imports it for the formulas engine). Such an openpyxl still takes
    numpy's float64, a float subclass, but not numpy's other scalar types; the library, for
    scripts that may write those, imports openpyxl as usual.
    """
    if "openpyxl" in sys.modules or "numpy" in sys.modules:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]  # makes `import numpy` fail
    try:
        import openpyxl  # noqa: F401
    finally:
        del sys.modules["numpy"]


def _overrides(args: argparse.Namespace, names: Sequence[str]) -> dict[str, float | None]:
    return {n: getattr(args, n, None) for n in names}


def cmd_reference(args: argparse.Namespace) -> int:
    _import_openpyxl_without_numpy()
    from .layouts.layout import load_layout
    from .maths.neuron import Neuron, article_report, describe
    from .writer.build import parameters

    params = parameters(load_layout(), _overrides(args, (*PARAMETERS, "tiny")))
    neuron = Neuron(params["input"], params["weight"], params["bias"], params["target"])
    print(article_report(neuron))
    if args.all:
        for name, value in neuron.quantities(params["tiny"]).items():
            print(f"{name:24} {describe(name):28} {value: .17g}")
    return 0


# Every option of every generated family, and the flag that sets it (``learning_rate`` is
# ``--learning-rate``). A flag a family has no option for is refused, never ignored.
FAMILY_OPTIONS = {family.name: family.options for family in FAMILIES}
SPEC_FLAGS = ("layers", "steps", "learning_rate", "faux", *VARIANT_OPTIONS, *OPTIMIZER_OPTIONS)


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def _spec_value(option: str, value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if option == "layers":
        return str(value).replace(",", "-")
    if option == "faux":  # a spec separates its options by commas: names join with +
        return str(value).replace(",", "+").replace(" ", "")
    return str(value)


def build_spec(args: argparse.Namespace) -> str:
    """The layout spec ``build`` writes: LAYOUT (a template, a family or a family's spec) with
    the family flags applied. A variant flag turns the article's sheet into a ``neuron``
    variant; a flag the family has no option for is refused in one sentence."""
    given = {k: getattr(args, k) for k in SPEC_FLAGS if getattr(args, k, None) is not None}
    layout = str(args.layout)
    family, sep, raw = layout.partition(":")
    if family not in FAMILY_OPTIONS:
        if not given or sep:
            return layout
        if layout != "single_neuron":
            raise UsageError(
                f"{_flag(next(iter(given)))} applies to the generated layouts "
                f"({', '.join(FAMILY_OPTIONS)}), not to {layout!r}."
            )
        family = "neuron"
        layout = "the article's sheet (single_neuron)"
    options = dict(item.partition("=")[::2] for item in filter(None, raw.split(",")))
    options = {k.strip(): v.strip() for k, v in options.items()}
    for option, value in given.items():
        if option not in FAMILY_OPTIONS[family]:
            applies = [f for f, known in FAMILY_OPTIONS.items() if option in known]
            raise UsageError(
                f"{_flag(option)} applies to {' and '.join(applies)}, not to {layout}."
            )
        if option in options and options[option] != _spec_value(option, value):
            raise UsageError(
                f"{option} is given twice ({options[option]} in the spec, {value} as "
                f"{_flag(option)}): give it once."
            )
        options[option] = _spec_value(option, value)
    if family == "network":
        options.setdefault("layers", "2-3-1")
    if family == "neuron":
        from .layouts.neuron import parse_options

        return parse_options(options).spec  # the family's canonical spelling
    if not options:
        return family
    return family + ":" + ",".join(f"{k}={v}" for k, v in options.items())


def default_output(spec: str) -> Path:
    """``output/`` + a file name derived from the whole spec: distinct specs, distinct names."""
    from .writer.build import DEFAULT_OUTPUT

    family, sep, raw = spec.partition(":")
    if family == "neuron":
        from .layouts.neuron import output_name

        return DEFAULT_OUTPUT.parent / output_name(spec)
    if not sep:  # a template's name or a path to one
        path = Path(spec)
        stem = path.stem if path.suffix == ".toml" else path.name
        return DEFAULT_OUTPUT.parent / (_safe_name(stem) + ".xlsx")
    parts = [family]
    for item in sorted(filter(None, raw.split(","))):
        key, _, value = item.partition("=")
        parts.append(f"{key.strip()}-{value.strip()}")
    return DEFAULT_OUTPUT.parent / (_safe_name("_".join(parts)) + ".xlsx")


def _safe_name(text: str) -> str:
    """``text`` as one file name: characters a file system may refuse become ``%XX``."""
    return re.sub(r"[^\w.+=-]", lambda m: "".join(f"%{b:02X}" for b in m[0].encode()), text)


def cmd_build(args: argparse.Namespace) -> int:
    _import_openpyxl_without_numpy()  # the build needs neither numpy nor the formulas engine
    from .layouts.families import planned_cells, resolve_layout
    from .writer.build import refuse_too_large
    from .writer.files import check_output

    spec = build_spec(args)
    planned = planned_cells(spec)  # a sheet too large to check is refused before any work
    limits = _limits(args) if args.limit or planned is not None else None
    if limits is not None:
        refuse_too_large(spec, planned, limits)
    if args.blank is not None and not args.exercise:
        raise UsageError("--blank chooses the cells of an exercise: add --exercise.")
    overrides = _overrides(args, (*PARAMETERS, "tiny"))
    if (args.roster or args.keys) and not args.exercise:
        raise UsageError("--roster and --keys build a class's hand-outs: add --exercise.")
    if args.no_hints and not args.exercise:
        raise UsageError("--no-hints is for the notes of an exercise: add --exercise.")
    if args.exercise and args.roster:
        from .teacher.exercise import build_class

        if args.seed is not None:
            raise UsageError("--seed and --roster exclude each other: a roster seeds by id.")
        out = args.output or Path("hand-out")
        written = build_class(
            args.roster,
            out,
            spec,
            keys_dir=args.keys,
            blanks=args.blank,
            hints=not args.no_hints,
            force=args.force,
            **overrides,
        )
        keys = {str(k.parent) for _, _, k in written}
        many = len(written) != 1
        print(
            f"Wrote {len(written)} hand-out{'s' if many else ''} to {out} and "
            f"{'their answer keys' if many else 'its answer key'}, the learners' codes "
            f"(codes.csv) and the class key to {', '.join(sorted(keys))}",
            file=sys.stderr,
        )
        return 0
    if args.output is not None:
        output = check_output(args.output, force=args.force)
    else:
        output = default_output(spec)
        seed = "" if args.seed is None else f"_seed-{args.seed}"
        prefix = "exercise_" if args.exercise else ""  # beside its answer key, never over it
        output = output.with_name(f"{prefix}{output.stem}{seed}.xlsx")
        if output.parent.is_dir():
            check_output(output, force=args.force)
    if args.exercise:
        from .teacher.exercise import build_exercise

        path = build_exercise(
            output,
            spec,
            blanks=args.blank,
            seed=args.seed,
            force=args.force,
            hints=not args.no_hints,
            learner=None,
            **overrides,
        )
        print(
            f"Wrote {shown(path)} (the answer key: the same command without --exercise)",
            file=sys.stderr,
        )
        return 0
    if args.seed is not None:
        from .teacher.exercise import seeded_parameters

        overrides = seeded_parameters(resolve_layout(spec), args.seed, overrides)
    from .progress import ticking
    from .writer.build import build_within

    with ticking(f"Building {shown(output)}", quiet=args.quiet):
        path = build_within(limits, output, spec, force=args.force, **overrides)
    print(f"Wrote {shown(path)}", file=sys.stderr)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .check.verify import verify_workbook
    from .report.render import to_json, to_text
    from .workbook.safety.container import opendocument

    limits = _limits(args)
    if args.annotate is not None and opendocument(Path(args.path)):
        raise UsageError(
            f"--annotate writes a marked copy of an Excel workbook and {shown(args.path)} "
            "is an OpenDocument spreadsheet: verify it without --annotate, or save it as .xlsx "
            "(File > Save As) and annotate that."
        )
    if args.annotate is not None:  # settled before the check runs, not after its report
        from .writer.files import check_output, check_writable

        annotated = check_output(args.annotate, force=args.force)
        if annotated.exists() and annotated.resolve() == Path(args.path).resolve():
            raise UsageError("The feedback copy must not overwrite the learner's workbook.")
        check_writable(annotated)
    from .progress import ticking

    with ticking(f"Verifying {shown(args.path)}", quiet=args.quiet):
        report = verify_workbook(
            Path(args.path),
            args.layout,
            variants=args.variants,
            sheet=args.sheet,
            limits=limits,
            hints=True if args.hints else None,
        )
    print(to_json(report) if args.json else to_text(report, only_wrong=args.only_wrong))
    if args.annotate is not None:
        from .report.annotate import annotate

        written = annotate(report, args.annotate, force=args.force, limits=limits)
        print(f"Wrote the feedback workbook {shown(written)}", file=sys.stderr)
    return report.exit_code


def cmd_grade(args: argparse.Namespace) -> int:
    from .progress import Counter
    from .teacher.grade import FORMATS, grade_class

    limits = _limits(args)
    if args.output is not None:  # settled before grading starts, not after
        from .writer.files import check_output, check_writable

        check_output(
            args.output,
            suffixes=[Path(args.output).suffix] if args.format else FORMATS,
            force=args.force,
            what="reports",
        )
        check_writable(Path(args.output))
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


def _grade_exit(result: ClassReport) -> int:
    """0 every workbook right; 1 one wrong or unreadable; 3 none wrong, but some cells not
    computed by sheetgen (checked from saved values, or not checked), as ``verify``'s 3."""
    codes = {g.report.exit_code if g.report is not None else 1 for g in result.graded}
    return 1 if 1 in codes else 3 if 3 in codes else 0


def cmd_autograder(args: argparse.Namespace) -> int:
    from .teacher.autograder import write_bundle

    written = write_bundle(
        args.output, args.layout, force=args.force, keys=args.keys, hints=args.hints
    )
    print(f"Wrote {written} (upload it as the assignment's Gradescope autograder)", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .serve.config import MEGABYTE, ServeConfig, check_config, parse_deadline
        from .serve.run import check_address, serve
    except ImportError as exc:
        raise UsageError(
            f"sheetgen serve needs the serve extra ({exc.name} is missing): "
            "pip install 'sheetgen[serve]'."
        ) from None
    _limits(args)  # a bad --limit or SHEETGEN_LIMITS: a sentence now, not in every worker
    chosen = os.environ.get("SHEETGEN_TEACHER_TOKEN", "")
    token = chosen or secrets.token_urlsafe(24)
    config = ServeConfig(
        host=args.host,
        port=args.port,
        max_upload=int(args.max_upload * MEGABYTE),
        workers=args.workers,
        queue=args.queue,
        check_seconds=args.check_seconds,
        check_memory=args.check_memory * MEGABYTE,
        variants=args.variants,
        limits=tuple(args.limit),
        collect=args.collect,
        roster=args.roster,
        codes=args.codes,
        deadline=parse_deadline(args.deadline) if args.deadline else None,
        attempts=args.attempts,
        feedback=args.feedback,
        rate_limit=args.rate_limit,
        token=token,
    )
    check_config(config)
    check_address(config.host, config.port)
    if args.collect is not None and not chosen:
        print(
            f"sheetgen: the teacher's token is {token} (set SHEETGEN_TEACHER_TOKEN to choose it)",
            file=sys.stderr,
        )
    where = f"http://{args.host}:{args.port}/"
    mode = (
        f"collecting into {shown(args.collect)}" if args.collect else "self-check, nothing stored"
    )
    print(f"sheetgen: serving {where} ({mode}); Ctrl-C stops it", file=sys.stderr)
    serve(config)
    return 0


def cmd_templates(args: argparse.Namespace) -> int:
    _import_openpyxl_without_numpy()
    from .layouts.families import load
    from .layouts.layout import available_layouts, load_layout

    for name in available_layouts():
        lay = load_layout(name)
        print(f"{name:20} {lay.description}")
    for family in FAMILIES:
        pattern, description = load(family.usage)()
        print(f"{pattern}  {description}")
    return 0


def _add_teacher_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hints",
        action="store_true",
        help="explain wrong cells with the formula's hint even for a hand-out built with "
        "--no-hints",
    )
    parser.add_argument(
        "--variants",
        type=_count(0),
        metavar="N",
        default=None,
        help="re-check with N other sets of inputs, to catch numbers typed into formulas "
        "(default 3; 0 skips)",
    )
    _add_limit_option(parser)


def _add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress on stderr (shown only on a terminal, for work over a second)",
    )


def _add_limit_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="raise a safety limit for files you trust, e.g. max_cells=1000000 "
        "(repeatable; see sheetgen.workbook.safety.Limits; also SHEETGEN_LIMITS); build "
        "refuses what verify would refuse within them",
    )


def _limits(args: argparse.Namespace) -> Limits:
    """``SHEETGEN_LIMITS`` and then ``--limit`` options; a bad one is a sentence before any work."""
    from .workbook.safety import configured_limits

    return configured_limits(args.limit)


def _count(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least``."""

    def count(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if number < least:
            raise argparse.ArgumentTypeError(f"must be {least} or more, not {number}")
        return number

    return count


def _positive(text: str) -> float:
    """An argparse type: a number above 0."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return number


class _Parser(argparse.ArgumentParser):
    """Argument errors in one sentence and where to read more, not the whole usage block:
    the help of the command they concern (``sheetgen verify -h``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: Mapping[str, argparse.ArgumentParser] = {}  # by name, for the top parser

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:  # argparse leaves them to the top parser: name the command's help instead
            command = self.commands.get(getattr(parsed, "command", None) or "", self)
            command.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed

    def error(self, message: str) -> NoReturn:
        sentence = message[0].upper() + message[1:] if message else "Bad arguments"
        self.exit(2, f"{self.prog}: {sentence.rstrip('.')}. Run '{self.prog} -h' for help.\n")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sheetgen",
        description="Build and verify spreadsheets that teach backpropagation, cell by cell.",
    )
    parser.add_argument("--version", action="version", version=f"sheetgen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = sub.choices

    p = sub.add_parser(
        "reference",
        help="print the reference neuron's gradients",
        description="Print the article program's two lines for these parameters.",
    )
    _add_parameters(p, tiny=True)
    p.add_argument("--all", action="store_true", help="also list every quantity the sheet shows")
    p.set_defaults(run=cmd_reference)

    p = sub.add_parser(
        "build",
        help="write the workbook with live formulas",
        description="Write the article's workbook (.xlsx) with live formulas.",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="where to write (default output/single_neuron.xlsx)",
    )
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.add_argument(
        "layout",
        nargs="?",
        default="single_neuron",
        help="what to build: a template name (see 'templates'), 'network', 'training' or a "
        "spec like 'neuron:inputs=2'; default single_neuron",
    )
    _add_parameters(p, tiny=True)
    group = p.add_argument_group("network and training")
    group.add_argument(
        "--layers",
        metavar="N,N,...",
        help="network sizes: inputs, hidden..., outputs (2,3,1); with training, train that network",
    )
    group.add_argument("--steps", type=_count(1), metavar="N", help="training steps (default 50)")
    group.add_argument(
        "--faux",
        metavar="all|none|N|NAME,...",
        help="which weights and biases of a network get a faux-gradient row: all (default), "
        "none, a fixed sample of N, or names such as w1_1_1,b2_1",
    )
    group.add_argument(
        "--learning-rate", type=float, metavar="R", help="training learning rate (default 0.1)"
    )
    group.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help="how a training sheet steps: gradient descent (sgd, default), momentum, rmsprop "
        "or adam, its state in labelled columns",
    )
    group.add_argument(
        "--beta", type=float, metavar="B", help="momentum's or rmsprop's beta (default 0.9)"
    )
    group.add_argument("--beta1", type=float, metavar="B", help="adam's beta1 (default 0.9)")
    group.add_argument("--beta2", type=float, metavar="B", help="adam's beta2 (default 0.999)")
    group.add_argument(
        "--epsilon", type=float, metavar="E", help="rmsprop's or adam's epsilon (default 1e-08)"
    )
    group.add_argument(
        "--activation",
        metavar="NAME",
        help="the activation: tanh (default), sigmoid, relu or linear for a neuron variant; "
        "the network's or training's",
    )
    _add_variant_options(p)
    p.add_argument(
        "--exercise",
        action="store_true",
        help="write a learner's version with cells left blank to fill in",
    )
    p.add_argument(
        "--blank",
        metavar="ROWS|CELLS",
        help="what the exercise leaves blank: rows (3,4) or cells (E3,C4); "
        "default the local and global gradient rows",
    )
    p.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="reproducible random parameters, one N per learner (the same N builds the key)",
    )
    p.add_argument(
        "--roster",
        type=Path,
        metavar="CSV",
        help="with --exercise: one hand-out per learner of this CSV (id and name columns) in "
        "the folder -o (default hand-out/), parameters derived from each id, and an answer "
        "key each in --keys",
    )
    p.add_argument(
        "--keys",
        type=Path,
        metavar="DIR",
        help="where --roster writes the answer keys (default: the hand-out folder's name + -keys)",
    )
    p.add_argument(
        "--no-hints",
        action="store_true",
        help="blanks' notes say what the cell means, not the formula",
    )
    _add_limit_option(p)
    _add_quiet_option(p)
    p.set_defaults(run=cmd_build)

    p = sub.add_parser(
        "verify",
        help="check every cell of a workbook against the reference",
        description="Evaluate a workbook's formulas and check every cell. "
        "Exit 0: all right; 1: wrong cells found; 2: could not check; 3: nothing wrong, but "
        "some cells sheetgen could not compute: review them.",
    )
    p.add_argument("path", help="the workbook to check: .xlsx, .xlsm or .ods (never modified)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--only-wrong", action="store_true", help="list only the cells that fail")
    p.add_argument(
        "--layout", default=None, help="template name or spec (default: what the file records)"
    )
    p.add_argument(
        "--sheet",
        default=None,
        metavar="NAME",
        help="the sheet to judge (default: the one holding the layout with the learner's work)",
    )
    _add_teacher_options(p)
    p.add_argument(
        "--annotate",
        metavar="OUT",
        help="also write a copy of the workbook with wrong cells marked and commented "
        "(.xlsx and .xlsm inputs; an .ods is refused: save it as .xlsx first)",
    )
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    _add_quiet_option(p)
    p.set_defaults(run=cmd_verify)

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
        help="override the suffix; canvas and moodle write those grade books' import CSV",
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
        type=float,
        default=100.0,
        metavar="N",
        help="points possible in the grade book (default 100; the score is scaled to it)",
    )
    p.add_argument("--force", action="store_true", help="overwrite REPORT if it exists")
    p.add_argument("--workers", type=_count(1), metavar="N", help="processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="the same as --quiet")
    _add_quiet_option(p)
    _add_teacher_options(p)
    p.set_defaults(run=cmd_grade)

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

    p = sub.add_parser(
        "serve",
        help="a web page where learners check (or hand in) their sheet",
        description="Serve the learner's page and its JSON API (POST /api/check); with "
        "--collect, keep every submission for the teacher's pages under /teacher.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_count(0), default=8000, help="port (default 8000)")
    p.add_argument(
        "--max-upload",
        type=_positive,
        default=10.0,
        metavar="MB",
        help="largest upload accepted, in MB (default 10; 413 beyond)",
    )
    p.add_argument(
        "--workers", type=_count(1), default=2, metavar="N", help="checking processes (default 2)"
    )
    p.add_argument(
        "--queue",
        type=_count(0),
        default=64,
        metavar="N",
        help="checks that may wait for a worker (default 64; 503 beyond)",
    )
    p.add_argument(
        "--check-seconds",
        type=_positive,
        default=20.0,
        metavar="S",
        help="time one check may take before its worker is killed (default 20)",
    )
    p.add_argument(
        "--check-memory",
        type=_count(64),
        default=1024,
        metavar="MB",
        help="address space of each checking process, in MB (default 1024)",
    )
    p.add_argument("--collect", type=Path, metavar="DIR", help="keep submissions in DIR")
    p.add_argument("--roster", type=Path, metavar="CSV", help="the class (collect mode)")
    p.add_argument(
        "--codes",
        type=Path,
        metavar="PATH",
        help="the learners' codes, id,name,code (default hand-out-keys/codes.csv)",
    )
    p.add_argument("--deadline", metavar="ISO-TIME", help="no submissions after this time")
    p.add_argument("--attempts", type=_count(1), metavar="N", help="submissions per learner")
    p.add_argument(
        "--feedback",
        choices=("full", "summary", "none"),
        default="full",
        help="what a learner sees after handing in (default full)",
    )
    p.add_argument(
        "--rate-limit",
        type=_count(1),
        nargs="?",
        const=30,
        metavar="N",
        help="at most N uploads a minute from one address (default: no limit; N defaults to 30)",
    )
    _add_teacher_options(p)
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("templates", help="list the layouts that can be built and verified")
    p.set_defaults(run=cmd_templates)
    return parser


codecs.register_error(ASCII_ERRORS, ascii_fallback)


@contextlib.contextmanager
def _forgiving_output() -> Iterator[None]:
    """Within: a character the terminal's encoding lacks (cp1252, ASCII, ``LC_ALL=C``) is
    transliterated on stdout and escaped on stderr, never fatal. ``--json`` is ASCII anyway."""
    changed: list[tuple[io.TextIOWrapper, str]] = []
    for stream, errors in ((sys.stdout, ASCII_ERRORS), (sys.stderr, "backslashreplace")):
        if isinstance(stream, io.TextIOWrapper) and stream.errors != errors:
            changed.append((stream, stream.errors or "strict"))
            stream.reconfigure(errors=errors)
    try:
        yield
    finally:
        for stream, errors in changed:
            with contextlib.suppress(ValueError):  # closed meanwhile
                stream.reconfigure(errors=errors)


def main(argv: Sequence[str] | None = None) -> int:
    with _forgiving_output():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    args = make_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except OutputExistsError as exc:  # the library's sentence, and the flag that overrides it
        print(f"sheetgen: {exc} Pass --force to overwrite it.", file=sys.stderr)
        return exc.exit_code
    except SheetgenError as exc:
        print(f"sheetgen: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `sheetgen verify x.xlsx | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("sheetgen: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: one sentence, the traceback only on request
        if os.environ.get("SHEETGEN_DEBUG"):
            traceback.print_exc()
        print(
            f"sheetgen: internal error ({type(exc).__name__}: {exc}); "
            "set SHEETGEN_DEBUG=1 to see where.",
            file=sys.stderr,
        )
        return 2
