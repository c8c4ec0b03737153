"""Whole-process timings of two installed sheetgens, run by turns (issue 22's speed targets).

    python benchmarks/side_by_side.py OTHER/bin/sheetgen [--runs 5] [--only grade,network,...]

Each measure runs ``sheetgen`` of this environment and ``OTHER`` one after the other, ``runs``
times, and prints the median wall-clock and CPU seconds (user + system, children included) of
each with their ratio. On a machine shared with other work only figures measured by turns,
CPU time above all, compare. Measures (their workbooks are made in a temporary folder):

- ``grade``: ``sheetgen grade DIR -q -o x.csv --force`` of 200 article submissions
  (``run.make_class``), all cores; workbooks a second from the wall-clock median;
- ``network``: ``sheetgen build network --layers 40,40,1`` and ``sheetgen verify`` of it;
- ``memory``: ``sheetgen verify`` of an 80-80-1 network (every faux row): peak resident MB;
- ``optimizers``: ``sheetgen build training --optimizer sgd|adam --steps 200`` and ``verify``;
- ``inprocess``: ``verify_workbook`` of the article in a warmed process (each side's own
  Python): the median of 200 calls, and of ``read_checked`` (reading) alone;
- ``xor``: ``sheetgen verify`` of one ``build training --layers 2-2-1 --data xor --steps 200``
  sheet (issue 23's), SGD and Adam, built once by this side: the verifiers alone compared.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(sys.executable).parent / "sheetgen"


def timed(command: Sequence[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak resident MB of ``command`` (run to its end)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024  # ru_maxrss: the largest child so far, in KB


def compare(name: str, commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Run each side's command by turns; print and return the medians."""
    walls: dict[str, list[float]] = {side: [] for side in commands}
    cpus: dict[str, list[float]] = {side: [] for side in commands}
    for _ in range(runs):
        for side, command in commands.items():
            wall, cpu, _ = timed(command)
            walls[side].append(wall)
            cpus[side].append(cpu)
    out: dict[str, float] = {}
    shown = []
    for side in commands:
        out[f"{side} wall"] = statistics.median(walls[side])
        out[f"{side} cpu"] = statistics.median(cpus[side])
        shown.append(f"{side} {out[f'{side} wall']:.2f} s wall, {out[f'{side} cpu']:.2f} s CPU")
    print(f"{name}: {'; '.join(shown)}", flush=True)
    return out


def peak_mb(command: list[str]) -> float:
    """Peak resident MB of ``command`` alone (a fresh interpreter measures it)."""
    code = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, text=True)
    return float(done.stdout.strip() or "nan")


IN_PROCESS = """
import statistics, sys, time
from pathlib import Path
from sheetgen.check.verify import verify_workbook
from sheetgen.workbook.safety import configured_limits, read_checked
path, limits = Path(sys.argv[1]), configured_limits()
for _ in range(30):
    verify_workbook(path)
def median_ms(f):
    times = []
    for _ in range(200):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)
print(median_ms(lambda: verify_workbook(path)), median_ms(lambda: read_checked(path, limits)))
"""


def in_process(sides: dict[str, str], folder: Path, runs: int) -> None:
    """``verify_workbook`` of the article, by turns in each side's own Python."""
    article = folder / "article.xlsx"
    subprocess.run([sides["this"], "build", "-o", str(article)], capture_output=True, check=True)
    found: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    for _ in range(runs):
        for side, exe in sides.items():
            python = str(Path(exe).parent / "python")
            done = subprocess.run(  # not from the checkout: "-c" would import its sheetgen
                [python, "-c", IN_PROCESS, str(article)], capture_output=True, text=True, cwd=folder
            )
            verify, read = (float(x) for x in done.stdout.split())
            found[side].append((verify, read))
    for side, pairs in found.items():
        verify = statistics.median(v for v, _ in pairs)
        read = statistics.median(r for _, r in pairs)
        runs_shown = ", ".join(f"{v:.2f}" for v, _ in pairs)
        print(
            f"verify_workbook of the article, {side}: {verify:.2f} ms (runs {runs_shown}); "
            f"reading {read:.2f} ms",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", help="the other installation's sheetgen executable")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="grade,network,memory,optimizers,inprocess,xor")
    args = parser.parse_args(argv)
    sides = {"this": str(HERE), "other": args.other}
    only = set(args.only.split(","))
    folder = Path(tempfile.mkdtemp(prefix="sheetgen-sbs-"))
    try:
        if "grade" in only:
            sys.path.insert(0, str(Path(__file__).parent))
            from run import make_class

            (folder / "class").mkdir()
            make_class(folder / "class", 200)
            out = compare(
                "grade 200 article submissions",
                {
                    s: [
                        exe,
                        "grade",
                        str(folder / "class"),
                        "-q",
                        "--force",
                        "-o",
                        f"{folder}/{s}.csv",
                    ]
                    for s, exe in sides.items()
                },
                args.runs,
            )
            print(
                "  workbooks a second: "
                + ", ".join(f"{s} {200 / out[f'{s} wall']:.0f}" for s in sides),
                flush=True,
            )
        if "inprocess" in only:
            in_process(sides, folder, args.runs)
        if "network" in only:
            built = {s: str(folder / f"n40-{s}.xlsx") for s in sides}
            compare(
                "build network 40,40,1",
                {
                    s: [exe, "build", "network", "--layers", "40,40,1", "-o", built[s], "--force"]
                    for s, exe in sides.items()
                },
                args.runs,
            )
            compare(
                "verify network 40,40,1",
                {s: [exe, "verify", built[s], "-q"] for s, exe in sides.items()},
                args.runs,
            )
        if "memory" in only:
            sheet = folder / "n80.xlsx"
            subprocess.run(
                [sides["this"], "build", "network", "--layers", "80,80,1", "-o", str(sheet)],
                stdout=subprocess.DEVNULL,
                check=True,
            )
            size = sheet.stat().st_size / 1e6
            for s, exe in sides.items():
                mb = peak_mb([exe, "verify", str(sheet), "-q"])
                print(f"verify 80-80-1 ({size:.1f} MB file), {s}: {mb:.0f} MB peak", flush=True)
        if "xor" in only:
            for optimizer in ("sgd", "adam"):
                sheet = str(folder / f"xor-{optimizer}.xlsx")
                options = ["--layers", "2-2-1", "--data", "xor", "--steps", "200", "-o", sheet]
                subprocess.run(
                    [sides["this"], "build", "training", *options, "--optimizer", optimizer],
                    stdout=subprocess.DEVNULL,
                    check=True,
                )
                compare(
                    f"verify training 2-2-1 xor --optimizer {optimizer} --steps 200",
                    {s: [exe, "verify", sheet, "-q"] for s, exe in sides.items()},
                    args.runs,
                )
        if "optimizers" in only:
            for optimizer in ("sgd", "adam"):
                built = {s: str(folder / f"{optimizer}-{s}.xlsx") for s in sides}
                compare(
                    f"build training --optimizer {optimizer} --steps 200",
                    {
                        s: [
                            exe,
                            "build",
                            "training",
                            "--optimizer",
                            optimizer,
                            "--force",
                            "--steps",
                            "200",
                            "-o",
                            built[s],
                        ]
                        for s, exe in sides.items()
                    },
                    args.runs,
                )
                compare(
                    f"verify training --optimizer {optimizer} --steps 200",
                    {s: [exe, "verify", built[s], "-q"] for s, exe in sides.items()},
                    args.runs,
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("TQDM_DISABLE", "1")
    main()
