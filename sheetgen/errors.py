"""Exceptions sheetgen raises on purpose, each carrying one sentence for the user.

The CLI turns every one of them into that sentence on stderr and exit code 2
("the check could not run"); exit 1 is reserved for "ran, found wrong cells", and ``verify``'s
exit 3 for "ran, nothing wrong, but not every cell computed by sheetgen" (a formula it cannot
compute, checked from the value the file saved or not checked: ``Report.exit_code``).

    SheetgenError
     ├── UsageError           bad options or parameters
     ├── OutputExistsError    refusing to overwrite without --force
     ├── TemplateError        a layout description in templates/ is malformed
     ├── LayoutNotFoundError  the workbook does not hold the layout we check
     └── InputFileError       the input file cannot be read as a workbook
          ├── UnsafeFileError     it is hostile or exceeds a safety limit
          └── TooLargeError       it needs more memory to read or check than the process has
"""

from __future__ import annotations

import gc
import os
import traceback
from pathlib import Path


class SheetgenError(Exception):
    """Base class: ``str(error)`` is the one sentence shown to the user."""

    exit_code = 2


class UsageError(SheetgenError):
    """The caller asked for something that cannot be done (bad value, bad option)."""


class OutputExistsError(SheetgenError):
    """An output file exists and the caller did not ask to overwrite it."""


class TemplateError(SheetgenError):
    """A layout description is malformed; a bug in sheetgen or a user's template."""


class LayoutNotFoundError(SheetgenError):
    """The workbook does not contain the layout being verified."""


class InputFileError(SheetgenError):
    """The input is missing, unreadable, or not a workbook sheetgen reads."""


class UnsafeFileError(InputFileError):
    """The input is hostile or exceeds a safety limit (bomb, macros, external links...)."""


class TooLargeError(InputFileError):
    """Reading or checking the input ran out of memory: nothing says it is damaged or
    hostile, only that this process cannot hold it (a small machine, a server's cap on one
    check), so the way on is more memory, not a new copy of the file. Its ``MemoryError`` is
    chained (``__cause__``), to say where it ran out."""


def let_go(exc: BaseException, handled: BaseException | None) -> None:
    """Let the memory a piece of work that ran out held go back, before its sentence is made
    (:class:`TooLargeError`'s: making it needs memory too).

    What the work held (a check's book, evaluator and verdicts; what a reader had read; the
    feedback copy's workbook) is referenced only by the frames of ``exc``'s traceback, and of
    the exceptions it was handling when it ran out (``exc``'s context, up to ``handled``, the
    caller's own): those frames' locals are cleared, so the error the caller keeps holds none
    of it (its traceback still says where it ran out). A frame still running (the caller's,
    which caught ``exc``) is not cleared: work whose memory is to go runs in a frame of its
    own. What only cycles then hold (a scan and its XML parser hold each other, and the
    reader's captures) is collected at once, not left to the collector's next pass. What the
    caller passed in stays the caller's.

    Clearing a frame runs code, which needs a little memory itself, and none may be free
    until something is let go: if it runs out too, the tracebacks are dropped instead
    (setting an attribute to None needs none), so the sentence is still made, without
    where it ran out."""
    error: BaseException | None = exc
    try:
        while error is not None and error is not handled:
            traceback.clear_frames(error.__traceback__)
            error = error.__context__
    except MemoryError:
        error = exc
        while error is not None and error is not handled:
            error.__traceback__ = None
            error = error.__context__
    gc.collect()


def shown(path: Path | str) -> str:
    """The path as the user gave it, printable (non-UTF-8 bytes of a name as ``\\xNN``)."""
    text = os.fspath(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
