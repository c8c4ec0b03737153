"""Progress on a terminal: shown for work over a second, never on a pipe or when quiet."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from sheetgen import progress
from sheetgen.cli import main


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _tqdm_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TQDM_DISABLE", raising=False)


def test_a_count_is_shown_on_a_terminal_after_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    quick = Terminal()
    bar = progress.Counter("Grading", stream=quick)
    bar(1, 2)
    bar(2, 2)
    bar.close()
    assert quick.getvalue() == ""  # under a second: nothing
    monkeypatch.setattr(progress, "DELAY", 0.0)
    slow = Terminal()
    bar = progress.Counter("Grading", stream=slow)
    bar(1, 3)
    bar(3, 3)
    bar.close()
    assert "Grading" in slow.getvalue() and "/3 " in slow.getvalue()


@pytest.mark.parametrize(("stream", "quiet"), [(io.StringIO(), False), (Terminal(), True)])
def test_nothing_on_a_pipe_or_when_quiet(
    monkeypatch: pytest.MonkeyPatch, stream: io.StringIO, quiet: bool
) -> None:
    monkeypatch.setattr(progress, "DELAY", 0.0)
    bar = progress.Counter("Grading", stream=stream, quiet=quiet)
    bar(1, 1)
    bar.close()
    with progress.ticking("Verifying", stream=stream, quiet=quiet):
        time.sleep(0.3)
    assert stream.getvalue() == ""


def test_one_long_call_shows_its_name_and_the_time_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY", 0.2)
    shown = Terminal()
    with progress.ticking("Building big.xlsx", stream=shown):
        time.sleep(0.8)
    text = shown.getvalue()
    assert "Building big.xlsx 00:00" in text
    quick = Terminal()
    with progress.ticking("Building small.xlsx", stream=quick):
        pass
    assert quick.getvalue() == ""


def test_the_commands_take_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.xlsx"
    assert main(["build", "-o", str(path), "--quiet"]) == 0
    assert main(["verify", str(path), "-q"]) == 0
    assert main(["grade", str(path), "--quiet", "--workers", "1", "--variants", "0"]) == 0
    assert "Building" not in capsys.readouterr().err


@pytest.mark.parametrize("columns", [0, 100])
def test_a_terminal_of_any_reported_width_is_shown_the_line(columns: int) -> None:
    """A real pseudo-terminal, sized as a user's (100 columns) or as one nobody sized (0
    columns: ``script`` run from a pipe); tqdm alone drew an empty line on the second."""
    leader, follower = pty.openpty()
    try:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        child = (
            "import time\n"
            "from sheetgen import progress\n"
            "progress.DELAY = 0.1\n"
            "with progress.ticking('Verifying big.xlsx'):\n"
            "    time.sleep(0.6)\n"
        )
        env = {k: v for k, v in os.environ.items() if k not in ("TQDM_DISABLE", "COLUMNS")}
        subprocess.run(
            [sys.executable, "-c", child], stderr=follower, check=True, timeout=60, env=env
        )
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the follower is closed and everything read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert b"Verifying big.xlsx 00:00" in shown
