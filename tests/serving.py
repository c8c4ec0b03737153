"""A real ``sheetgen serve`` process on a loopback port, and a load of uploads against it.

Used by the live tests (``tests/test_serve_live.py``) and by ``benchmarks/serve_load.py``.
The server is started as users start it (the installed ``sheetgen`` command) and always stopped,
its worker processes with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import openpyxl

from sheetgen import build

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def right_and_wrong(folder: Path) -> dict[str, Path]:
    """The article's sheet as built (``right``) and with ``=1-F2^3`` in E3 (``wrong``: E3 a
    root cause, B4, D4 and E4 wrong because of it)."""
    right = build(folder / "right.xlsx")
    wb = openpyxl.load_workbook(right)
    wb["Neuron"]["E3"] = "=1-F2^3"
    wb.save(folder / "wrong.xlsx")
    return {"right": right, "wrong": folder / "wrong.xlsx"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def rss_mb(self) -> float:
        """The server process's resident memory (workers not included)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def kill(self) -> None:
        """SIGKILL the server (its workers see their socket close and exit)."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)


def sheetgen_command() -> list[str]:
    here = Path(sys.executable).parent / "sheetgen"
    return [str(here)] if here.exists() else [sys.executable, "-m", "sheetgen"]


@contextlib.contextmanager
def running(
    args: Sequence[str], folder: Path, env: dict[str, str] | None = None, start_seconds: float = 60
) -> Iterator[Server]:
    """``sheetgen serve ARGS`` on a free loopback port, until the block ends."""
    port = free_port()
    log = folder / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*sheetgen_command(), "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env={**os.environ, **(env or {})},
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"sheetgen serve stopped: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{server.url}/api/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"sheetgen serve did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()


@dataclass
class Load:
    """What a load run saw: each upload's status and seconds, and the answers that were wrong."""

    statuses: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    mistakes: list[str] = field(default_factory=list)
    wall: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def line(self) -> str:
        rate = len(self.seconds) / self.wall if self.wall else 0.0
        return (
            f"{len(self.seconds)} uploads in {self.wall:.1f} s ({rate:.0f}/s): "
            f"p50 {self.percentile(50) * 1000:.0f} ms, p95 {self.percentile(95) * 1000:.0f} ms, "
            f"max {max(self.seconds) * 1000:.0f} ms, mean "
            f"{statistics.fmean(self.seconds) * 1000:.0f} ms"
        )


def load(
    url: str,
    files: Sequence[tuple[Path, bool]],
    *,
    clients: int = 20,
    uploads: int = 200,
    seconds: float = 120.0,
) -> Load:
    """``uploads`` checks of ``files`` (path, whether it is right) from ``clients`` threads,
    each with its own connection; stops after ``seconds`` whatever is left."""
    result = Load()
    lock = threading.Lock()
    counter = iter(range(uploads))
    stop = time.monotonic() + seconds
    bodies = [(p.name, p.read_bytes(), ok) for p, ok in files]

    def client() -> None:
        with httpx2.Client(base_url=url, timeout=60) as http:
            while time.monotonic() < stop:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                name, data, ok = bodies[n % len(bodies)]
                start = time.perf_counter()
                try:
                    answer = http.post("/api/check", files={"file": (name, data, XLSX)})
                except httpx2.HTTPError as exc:
                    with lock:
                        result.mistakes.append(f"{name}: {type(exc).__name__}")
                    continue
                took = time.perf_counter() - start
                with lock:
                    result.statuses.append(answer.status_code)
                    result.seconds.append(took)
                    if answer.status_code != 200 or answer.json().get("ok") is not ok:
                        result.mistakes.append(f"{name}: {answer.status_code} {answer.text[:200]}")

    begin = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.wall = time.perf_counter() - begin
    return result
