"""How `sheetgen build` and `sheetgen verify` grow with the cells of a sheet, family by family.

    python benchmarks/growth.py                       # every family, sizes up to 80-80-1
    python benchmarks/growth.py --quick               # the smaller sizes only
    python benchmarks/growth.py --against /tmp/old/bin/python   # the same, side by side

Not part of the test run: it measures. Each row builds one layout spec and verifies it, each as
a whole `sheetgen` process (start-up included, as a user sees it), and prints the sheet's
cells, the wall-clock and CPU seconds and the peak memory (RSS) of each process. The closing
note fits CPU seconds = a + b * cells per family by least squares: ``b`` (milliseconds per
1,000 cells) is the cost of a cell, and a good fit over sizes ten times apart says the cost
grows with the cells, not faster. ``--against PYTHON`` runs every row again with another
interpreter's sheetgen (an older checkout installed in its own virtual environment) right
after this one's, so both see the same machine: on a shared machine only figures measured
side by side compare. A spec the other sheetgen does not know (``faux=``) is skipped there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FAMILIES: dict[str, list[str]] = {
    "neuron": ["neuron:inputs=10", "neuron:inputs=40", "neuron:inputs=100"],
    "network": [
        "network:layers=10-10-1",
        "network:layers=20-20-1",
        "network:layers=40-40-1",
        "network:layers=64-32-10,faux=200",
        "network:layers=80-80-1",
    ],
    "training": ["training:steps=1000", "training:steps=3000", "training:steps=10000"],
    "network training": [
        "training:layers=3-3-1,steps=300",
        "training:layers=3-3-1,steps=1000",
        "training:layers=3-3-1,steps=2800",
    ],
}
QUICK = {family: specs[:-1] for family, specs in FAMILIES.items()}
ENV = {**os.environ, "TQDM_DISABLE": "1"}


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    mb: float
    ok: bool


def run(cmd: Sequence[str], folder: Path) -> Run:
    """One whole process: wall seconds, CPU seconds (user + system) and its own peak RSS.

    It runs in ``folder``, never in a checkout: ``python -m sheetgen`` would import the
    checkout's sheetgen instead of the interpreter's own."""
    started = time.perf_counter()
    child = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, cwd=folder
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.stderr is not None
    err = child.stderr.read().decode(errors="replace").strip()
    child.stderr.close()
    if child.returncode not in (0, 1):
        print(f"    ({' '.join(cmd[-3:])}: {err.splitlines()[-1] if err else child.returncode})")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, child.returncode == 0)


def cells_of(python: str, spec: str, folder: Path) -> int | None:
    """The cells of ``spec``'s layout, as the sheetgen of ``python`` generates it."""
    code = (
        "import sys\nfrom sheetgen.layouts.families import resolve_layout\n"
        "print(len(resolve_layout(sys.argv[1]).cells))"
    )
    out = subprocess.run(
        [python, "-c", code, spec], capture_output=True, text=True, env=ENV, cwd=folder
    )
    return int(out.stdout) if out.returncode == 0 else None


def measure(python: str, spec: str, folder: Path) -> tuple[int, Run, Run] | None:
    cells = cells_of(python, spec, folder)
    if cells is None:
        return None
    path = folder / "sheet.xlsx"
    sheetgen = [python, "-m", "sheetgen"]
    built = run([*sheetgen, "build", spec, "-o", str(path), "--force"], folder)
    if not built.ok:
        return cells, built, Run(0.0, 0.0, 0.0, False)
    checked = run([*sheetgen, "verify", str(path)], folder)
    return cells, built, checked


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares ``seconds = a + b * cells``: (a, b)."""
    n = len(points)
    mx = sum(c for c, _ in points) / n
    my = sum(s for _, s in points) / n
    sxx = sum((c - mx) ** 2 for c, _ in points)
    b = sum((c - mx) * (s - my) for c, s in points) / sxx if sxx else 0.0
    return my - b * mx, b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out each family's largest")
    parser.add_argument("--against", metavar="PYTHON", help="another sheetgen's interpreter")
    parser.add_argument("--family", action="append", help="only these families")
    args = parser.parse_args()
    pythons = [("this", sys.executable)] + ([("other", args.against)] if args.against else [])
    families = QUICK if args.quick else FAMILIES
    print(
        f"{'family':17} {'spec':34} {'who':5} {'cells':>7} "
        f"{'build s':>8} {'cpu':>6} {'MB':>5} {'verify s':>9} {'cpu':>6} {'MB':>5}"
    )
    series: dict[tuple[str, str, str], list[tuple[int, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for family, specs in families.items():
            if args.family and family not in args.family:
                continue
            for spec in specs:
                for who, python in pythons:
                    found = measure(python, spec, Path(tmp))
                    if found is None:
                        print(f"{family:17} {spec:34} {who:5} (not known to this sheetgen)")
                        continue
                    cells, b, v = found
                    mark = "" if v.ok else "  NOT VERIFIED"
                    print(
                        f"{family:17} {spec:34} {who:5} {cells:7} {b.wall:8.2f} {b.cpu:6.2f} "
                        f"{b.mb:5.0f} {v.wall:9.2f} {v.cpu:6.2f} {v.mb:5.0f}{mark}",
                        flush=True,
                    )
                    series.setdefault((family, who, "build"), []).append((cells, b.cpu))
                    if v.ok:
                        series.setdefault((family, who, "verify"), []).append((cells, v.cpu))
    print("\nFitted CPU seconds = a + b * cells (b in ms per 1,000 cells):")
    for (family, who, step), points in series.items():
        if len(points) >= 2:
            a, slope = fit(points)
            print(f"  {family:17} {who:5} {step:6}  a = {a:5.2f} s  b = {slope * 1e6:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
