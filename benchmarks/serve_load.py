"""``sheetgen serve`` under load: latency percentiles and checks per second over loopback.

    python benchmarks/serve_load.py                      # 20 clients, 400 uploads, 2 workers
    python benchmarks/serve_load.py --clients 40 --uploads 1000 --workers 2

Not part of the test run (``tests/test_serve_live.py`` asserts the answers, not the speed).
It starts ``sheetgen serve`` as users do (the installed command), uploads the article's sheet,
right and wrong by turns, to ``POST /api/check`` from many client threads at once, and prints
p50/p95/max latency, checks per second, the CPU time the server process and its workers spent
per check, their resident memory, and the machine's load average (the clients run on the same
cores, so on a shared machine the figures are lower bounds).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.serving, the driver

from sheetgen import build
from tests.serving import load, running


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(x) for x in text]
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--uploads", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sheetgen-load-") as folder:
        here = Path(folder)
        right = build(here / "right.xlsx")
        wb = openpyxl.load_workbook(right)
        wb["Neuron"]["E3"] = "=1-F2^3"
        wb.save(here / "wrong.xlsx")
        files = [(right, True), (here / "wrong.xlsx", False)]
        with running(["--workers", str(args.workers)], here) as server:
            pid = server.process.pid
            load(server.url, files, clients=args.clients, uploads=20)  # warm up
            workers = children(pid)
            before = {p: cpu_seconds(p) for p in [pid, *workers]}
            clients_before = time.process_time()
            result = load(
                server.url,
                files,
                clients=args.clients,
                uploads=args.uploads,
                seconds=args.seconds,
            )
            spent = {p: cpu_seconds(p) - before[p] for p in before}
            clients = time.process_time() - clients_before
            memory = {p: rss_mb(p) for p in before}
        n = len(result.seconds)
        print(f"{args.clients} clients, {args.workers} workers, {os.cpu_count()} cores")
        print(result.line())
        print(f"answers: {sorted(set(result.statuses))}; wrong answers: {len(result.mistakes)}")
        print(
            f"CPU per check: server {spent[pid] / n * 1000:.1f} ms, workers "
            f"{sum(spent[p] for p in workers) / n * 1000:.1f} ms, the clients (this process) "
            f"{clients / n * 1000:.1f} ms"
        )
        print(
            f"RSS: server {memory[pid]:.0f} MB, workers "
            + ", ".join(f"{memory[p]:.0f} MB" for p in workers)
        )
        print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
