"""The ``sheetgen`` command: a thin shell over the library.

Exit codes: 0 all right; 1 the check ran and found wrong cells; 2 it could not run (bad usage,
a missing, unreadable or hostile file), with one sentence on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .errors import SheetgenError

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


def _overrides(args: argparse.Namespace, names: Sequence[str]) -> dict[str, float | None]:
    return {n: getattr(args, n, None) for n in names}


def cmd_reference(args: argparse.Namespace) -> int:
    from .build import parameters
    from .layout import load_layout
    from .reference import Neuron, article_report, describe

    params = parameters(load_layout(), _overrides(args, (*PARAMETERS, "tiny")))
    neuron = Neuron(params["input"], params["weight"], params["bias"], params["target"])
    print(article_report(neuron))
    if args.all:
        for name, value in neuron.quantities(params["tiny"]).items():
            print(f"{name:24} {describe(name):28} {value: .17g}")
    return 0


def _import_openpyxl_without_numpy() -> None:
    """Import openpyxl without numpy, a fifth of a second ``build`` does not need.

    openpyxl imports numpy only to accept numpy scalars as cell values; the builder writes
    Python floats. Only openpyxl's own import is affected: numpy stays importable afterwards.
    """
    if "openpyxl" in sys.modules or "numpy" in sys.modules:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]  # makes `import numpy` fail
    try:
        import openpyxl  # noqa: F401
    finally:
        del sys.modules["numpy"]


def cmd_build(args: argparse.Namespace) -> int:
    _import_openpyxl_without_numpy()
    from .build import DEFAULT_OUTPUT, build

    path = build(
        args.output or DEFAULT_OUTPUT,
        args.layout,
        force=args.force,
        **_overrides(args, (*PARAMETERS, "tiny")),
    )
    print(f"Wrote {path}", file=sys.stderr)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .report import to_json, to_text
    from .verify import verify_workbook

    report = verify_workbook(Path(args.path), args.layout)
    print(to_json(report) if args.json else to_text(report, only_wrong=args.only_wrong))
    return 0 if report.ok else 1


def cmd_templates(args: argparse.Namespace) -> int:
    from .layout import available_layouts, load_layout

    for name in available_layouts():
        lay = load_layout(name)
        print(f"{name:20} {lay.description}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sheetgen",
        description="Build and verify spreadsheets that teach backpropagation, cell by cell.",
    )
    parser.add_argument("--version", action="version", version=f"sheetgen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
        type=Path,
        metavar="PATH",
        help="where to write (default output/single_neuron.xlsx)",
    )
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.add_argument(
        "layout",
        nargs="?",
        default="single_neuron",
        help="what to build: a template name (see 'templates'); default single_neuron",
    )
    _add_parameters(p, tiny=True)
    p.set_defaults(run=cmd_build)

    p = sub.add_parser(
        "verify",
        help="check every cell of a workbook against the reference",
        description="Evaluate a workbook's formulas and check every cell. "
        "Exit 0: all right; 1: wrong cells found; 2: could not check.",
    )
    p.add_argument("path", help="the .xlsx workbook to check (never modified)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--only-wrong", action="store_true", help="list only the cells that fail")
    p.add_argument("--layout", default=None, help="template name (default: detect)")
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("templates", help="list the layouts that can be built and verified")
    p.set_defaults(run=cmd_templates)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except SheetgenError as exc:
        print(f"sheetgen: {exc}", file=sys.stderr)
        return exc.exit_code
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
