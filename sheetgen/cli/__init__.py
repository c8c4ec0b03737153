"""The ``sheetgen`` command: a thin shell over the library.

One module per group of commands (``build``: reference, build, templates; ``check``: verify,
grade, autograder; ``serve``), each with its arguments; ``options`` holds what they share.

May import: every folder of the package; only ``sheetgen.__main__`` imports it.

Exit codes: 0 all right; 1 the check ran and found wrong cells; 2 it could not run (bad usage,
a missing, unreadable or hostile file, or one too large to check in the memory free), with one
sentence on stderr and never a traceback; 3
(verify, grade) nothing wrong, but some cells sheetgen could not compute: review them.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import gc
import io
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn

from .. import __version__
from ..errors import OutputExistsError, SheetgenError
from ..report.terminal import ASCII_ERRORS, ascii_fallback
from .build import (
    FAMILY_OPTIONS,
    add_build,
    add_reference,
    add_templates,
    build_spec,
    default_output,
)
from .check import add_autograder, add_grade, add_verify
from .options import Parser
from .serve import add_serve

__all__ = ["FAMILY_OPTIONS", "build_spec", "default_output", "main", "make_parser", "run"]


def make_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sheetgen",
        description="Build and verify spreadsheets that teach backpropagation, cell by cell.",
    )
    parser.add_argument("--version", action="version", version=f"sheetgen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = sub.choices
    add_reference(sub)
    add_build(sub)
    add_verify(sub)
    add_grade(sub)
    add_autograder(sub)
    add_serve(sub)
    add_templates(sub)
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


def run() -> NoReturn:
    """The ``sheetgen`` console script and ``python -m sheetgen``: :func:`main` in a process
    of its own, which then ends.

    Such a process may set what the libraries it loads read at their import: OpenBLAS (under
    numpy, which the engine loads) starts a thread per core that spins at import, 0.07-0.1 s
    of CPU a process, for matrices far too small to share out (the rounding analysis', a
    network's faux rows); one thread does the same work. A user's own
    ``OPENBLAS_NUM_THREADS`` is kept. What the command leaves on the heap is kept out of the
    interpreter's last collections (``gc.freeze``): the system takes the ending process's
    memory back whole, and those passes over every object imported (numpy, the engine) and
    made (a class's reports) cost some 20 ms of every command. Callers that go on (tests,
    scripts) call :func:`main`, which changes nothing of its host's.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = main()
    gc.freeze()
    raise SystemExit(code)


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
