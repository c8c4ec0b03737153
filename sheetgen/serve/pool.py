"""The worker processes that check uploads, with a time and a memory limit per check and a
bounded queue in front of them.

Each worker is a process of its own (``python -m sheetgen.serve.work``: a fresh interpreter,
nothing inherited from the server's threads, the caller's main module never run again) that
caps its address space (``RLIMIT_AS``) and answers one job at a time over a socket pair. A
check that outlives its time (CPU time: see :meth:`_Worker._answered`) has its worker killed
and replaced; a worker that dies (memory,
a crash in a C library) is replaced too; either way only that upload gets the error. When
every worker is busy and :attr:`CheckPool.queue` checks already wait, :meth:`CheckPool.run`
raises :class:`PoolBusy` at once (the server answers 503 with ``Retry-After``): memory stays
bounded however many clients come.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path

from .work import Answer, Job

READY = "ready"
_START_SECONDS = 120.0


class PoolBusy(Exception):
    """Every worker is busy and the queue is full; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"The server is busy; try again in {retry_after} s.")
        self.retry_after = retry_after


WALL_FACTOR = 5
"""A check stops after this many times ``--check-seconds`` on the clock, however little CPU it
got (a machine so loaded is better told so than left waiting)."""

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process ``pid`` has spent, from ``/proc`` (Linux); where
    there is none, the clock's time, so that the limit is the clock's as it was."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return time.monotonic()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime and stime, fields 14 and 15


RETRY_SECONDS = 60
"""How long a learner whose check ran out of time is asked to wait before trying again."""


def out_of_time(name: str, seconds: float) -> Answer:
    """The answer to a check stopped at ``seconds``: the server's limit, not the file's fault
    (a very large sheet, or a machine loaded past its means), so 503 with a time to
    retry, and the limit named as the teacher's to raise (the learner passes no options)."""
    return {
        "error": f"{name} could not be checked within the {seconds:g} s of computing the "
        "server gives one check, which says nothing about your sheet (a very large sheet, or a "
        "server loaded past its means, can need more): check it again in a minute, and if it "
        "happens again, tell your teacher, who can raise the limit (--check-seconds).",
        "status": 503,
        "retry_after": RETRY_SECONDS,
    }


class _Worker:
    """One worker process and its end of the pipe; replaced whole when it fails."""

    def __init__(self, memory: int, limits: tuple[str, ...]) -> None:
        self._memory, self._limits = memory, limits
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sheetgen.serve.work",
                    str(theirs.fileno()),
                    str(self._memory),
                    json.dumps(list(self._limits)),
                ],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
        self.conn = Connection(ours.detach())
        self.ready = False

    def wait_ready(self) -> None:
        if not self.ready and self.conn.poll(_START_SECONDS):
            try:
                self.ready = self.conn.recv() == READY
            except (EOFError, OSError):
                self.ready = False

    def call(self, job: Job, seconds: float) -> Answer:
        """Send ``job`` and wait for its answer (blocking: run in a thread)."""
        with self._lock:
            if self.process.poll() is not None:  # died while idle: this upload is not to blame
                self._restart()
            self.wait_ready()
            try:
                self.conn.send(job)
                if self._answered(seconds):
                    answer: Answer = self.conn.recv()
                    return answer
            except (EOFError, OSError):
                self._restart()
                failure = "stopped the process checking it (it may need too much memory)"
                return {
                    "error": f"{job['name']} could not be checked: it {failure}.",
                    "status": 422,
                }
            self._restart()
            return out_of_time(str(job["name"]), seconds)

    def _answered(self, seconds: float) -> bool:
        """Whether the worker answers before it has spent ``seconds`` of CPU time on the job,
        and within :data:`WALL_FACTOR` times that in all. CPU time, not the clock's: on a
        machine busy with other checks a large sheet waits for a core, and the wait is not the
        sheet's cost (a data sheet of 73,500 cells is 6.4 s of CPU, 18.5 s on a loaded
        machine). A worker that computes the whole time reaches the limit as before."""
        wall = time.monotonic() + seconds * WALL_FACTOR
        spent = _cpu_seconds(self.process.pid)
        while True:
            if self.process.poll() is not None:  # died: the pipe says so (EOFError)
                return True
            left = seconds - (_cpu_seconds(self.process.pid) - spent)
            now = time.monotonic()
            if left <= 0 or now >= wall:
                return False
            # After ``left`` more seconds at most ``left`` more of CPU were spent: look again.
            if self.conn.poll(min(left, wall - now)):
                return True

    def _restart(self) -> None:
        self.stop()
        self._start()

    def stop(self) -> None:
        self.conn.close()
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)


class CheckPool:
    """``workers`` processes, at most ``queue`` checks waiting for one."""

    def __init__(
        self,
        workers: int,
        queue: int,
        *,
        seconds: float,
        memory: int,
        limits: tuple[str, ...] = (),
    ) -> None:
        self.workers, self.queue, self.seconds = workers, queue, seconds
        self._memory, self._limits = memory, limits
        self._all: list[_Worker] = []
        self._idle: asyncio.Queue[_Worker] | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._pending = 0
        self._recent: list[float] = []

    def start(self) -> None:
        """Start the workers (in parallel) and wait until each has warmed up."""
        self._all = [_Worker(self._memory, self._limits) for _ in range(self.workers)]
        for worker in self._all:
            worker.wait_ready()
        self._idle = asyncio.Queue()
        for worker in self._all:
            self._idle.put_nowait(worker)
        self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="sheetgen-check")

    @property
    def pending(self) -> int:
        """Checks running or waiting."""
        return self._pending

    async def run(self, job: Job) -> Answer:
        """The worker's answer to ``job``; :class:`PoolBusy` when the queue is full."""
        if self._idle is None or self._threads is None:
            raise RuntimeError("the pool is not started")
        if self._pending >= self.workers + self.queue:
            raise PoolBusy(self._retry_after())
        self._pending += 1
        try:
            worker = await self._idle.get()
            loop = asyncio.get_running_loop()
            idle = self._idle
            start = time.perf_counter()
            seconds = float(job.get("seconds", self.seconds))
            done = self._threads.submit(worker.call, job, seconds)
            # The worker goes back to the idle queue when its check is over, even if the
            # client that asked has gone meanwhile (never two jobs on one pipe).
            done.add_done_callback(lambda _: loop.call_soon_threadsafe(idle.put_nowait, worker))
            answer = await asyncio.wrap_future(done)
            self._recent = [*self._recent[-31:], time.perf_counter() - start]
            return answer
        finally:
            self._pending -= 1

    def _retry_after(self) -> int:
        each = sum(self._recent) / len(self._recent) if self._recent else 1.0
        return max(1, math.ceil(self._pending * each / self.workers))

    def close(self) -> None:
        for worker in self._all:
            worker.stop()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
