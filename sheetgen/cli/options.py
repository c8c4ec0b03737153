"""What the commands share: their argument parser, argument types and common options."""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

if TYPE_CHECKING:
    from ..workbook.safety import Limits


PARAMETERS = ("input", "weight", "bias", "target")


def add_parameters(parser: argparse.ArgumentParser, *, tiny: bool) -> None:
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


def add_variant_options(parser: argparse.ArgumentParser) -> None:
    from ..maths.neuron import DIFFERENCES, LOSSES

    group = parser.add_argument_group(
        "neuron variants (with --activation, any of these builds a 'neuron' layout; "
        "defaults: the article's)"
    )
    group.add_argument(
        "--loss",
        choices=tuple(LOSSES),
        help="default half-squared (error²/2); cross-entropy makes the output a probability "
        "(a sigmoid; several network outputs a softmax), targets in [0, 1]",
    )
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


def import_openpyxl_without_numpy() -> None:
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


def parameter_overrides(args: argparse.Namespace, names: Sequence[str]) -> dict[str, float | None]:
    return {n: getattr(args, n, None) for n in names}


def add_teacher_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hints",
        action="store_true",
        help="explain wrong cells with the formula's hint even for a hand-out built with "
        "--no-hints",
    )
    parser.add_argument(
        "--variants",
        type=at_least(0),
        metavar="N",
        default=None,
        help="re-check with N other sets of inputs, to catch numbers typed into formulas "
        "(default 3; 0 skips)",
    )
    add_limit_option(parser)


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress on stderr (shown only on a terminal, for work over a second)",
    )


def add_limit_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="raise a safety limit for files you trust, e.g. max_cells=1000000 "
        "(repeatable; see sheetgen.workbook.safety.Limits; also SHEETGEN_LIMITS); build "
        "refuses what verify would refuse within them",
    )


def safety_limits(args: argparse.Namespace) -> Limits:
    """``SHEETGEN_LIMITS`` and then ``--limit`` options; a bad one is a sentence before any work."""
    from ..workbook.safety import configured_limits

    return configured_limits(args.limit)


def at_least(least: int, most: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least`` (and at most ``most``)."""

    def count(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if number < least:
            raise argparse.ArgumentTypeError(f"must be {least} or more, not {number}")
        if most is not None and number > most:
            raise argparse.ArgumentTypeError(f"must be at most {most}, not {number}")
        return number

    return count


def positive(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    if number == math.inf:
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
    return number


class Parser(argparse.ArgumentParser):
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


if TYPE_CHECKING:
    Commands: TypeAlias = argparse._SubParsersAction[Parser]  # what make_parser's commands join


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """Within: Python's cyclic garbage collector seldom runs (as it did, after).

    A check (and a build) holds an object or more per cell (the book, the layout, the
    evaluator's values, the verdicts) and makes them by the hundred thousand, so the
    collector's full passes over all of them were a seventh of verifying a large sheet, and
    found almost nothing: those objects hold no reference cycles, and reference counting
    frees them (the few cycles, the engine's compiled formulas, are still collected, later).
    This process is the CLI's own, so it may say when its collector runs; the library never
    does. At the end, the usual thresholds would start a full pass over everything the command
    made at its next allocation (~40 ms after a training run's check, in a process about to
    end): the objects are counted as collected instead (frozen while the counts are reset), and
    their few cycles are left to the next full pass, if the process goes on to one.
    """
    was = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)  # a young collection per 100,000 objects, few full ones
    try:
        yield
    finally:
        gc.set_threshold(*was)
        if gc.isenabled() and gc.get_freeze_count() == 0:  # a host's own freeze is left alone
            gc.freeze()
            gc.collect()  # of the unfrozen: nothing; every generation's count back to 0
            gc.unfreeze()  # into the oldest generation, as a full pass leaves survivors
