"""Signs of life on a terminal for long work: ``build``, ``verify`` and ``grade`` through tqdm.

Nothing is shown for work under a second (tqdm's ``delay``), nothing when stderr is not a
terminal (a pipe, a file, CI) or when the user asks for quiet (``--quiet``; ``TQDM_DISABLE``
as for any tqdm program); stdout, where reports go, is never written. The line is cleared
when the work ends. The library itself shows nothing: the command line wraps its calls.

- :class:`Counter`: work of known size (a class's workbooks), a bar with a count and a rate.
- :func:`ticking`: one call of unknown length (building or verifying one large sheet): its
  name and the seconds spent, refreshed from a background thread until the call returns.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

DELAY = 1.0
"""Seconds before anything is shown: shorter work needs no sign of life."""


def _wanted(stream: IO[str], quiet: bool) -> bool:
    return not quiet and stream.isatty()


def _width(stream: IO[str]) -> int | None:
    """The line's width for tqdm: None (tqdm asks the terminal) unless the terminal says it has
    no columns, as a pseudo-terminal nobody sized does (``script`` run from a pipe, some
    ``docker exec -t``): tqdm would cut the line to nothing there, so 80."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return None if columns > 0 else 80


class Counter:
    """A bar for ``total`` items; call it with ``(done, total, *anything)`` as each finishes."""

    def __init__(self, desc: str, *, quiet: bool = False, stream: IO[str] | None = None) -> None:
        self.desc = desc
        self.stream = stream or sys.stderr
        self.enabled = _wanted(self.stream, quiet)
        self.bar: Any = None

    def __call__(self, done: int, total: int, *_: object) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                desc=self.desc,
                unit="file",
                delay=DELAY,
                leave=False,
                file=self.stream,
                ncols=_width(self.stream),
            )
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextlib.contextmanager
def ticking(desc: str, *, quiet: bool = False, stream: IO[str] | None = None) -> Iterator[None]:
    """Show ``desc`` and the time spent while the ``with`` block runs (after a second)."""
    stream = stream or sys.stderr
    if not _wanted(stream, quiet):
        yield
        return
    from tqdm import tqdm

    bar = tqdm(
        total=None,
        desc=desc,
        bar_format="{desc} {elapsed}",
        delay=DELAY,
        leave=False,
        file=stream,
        ncols=_width(stream),
    )
    done = threading.Event()
    drawn = threading.Event()

    started = time.monotonic()

    def tick() -> None:
        while not done.wait(0.25):
            if time.monotonic() - started >= DELAY:  # refresh() would show it at once
                bar.refresh()
                drawn.set()

    thread = threading.Thread(target=tick, name="sheetgen-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if drawn.is_set():  # close() wipes only a line tqdm drew in update(), not refresh()
            bar.clear()
        bar.close()
