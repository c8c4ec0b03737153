"""How build and verify times grow with the size of generated sheets.

Usage: ``PYTHONPATH=. python benchmarks/growth.py [--quick]``. Prints one row per layout:
its spec, how many formula cells it has, and the seconds to build (generate the layout and
write the .xlsx) and to verify (open, evaluate every checked cell, compare). The formulas
engine's import (a few seconds, paid once per process) is excluded by a warm-up.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

from sheetgen import build, verify_workbook
from sheetgen.engine.evaluate import compile_formula
from sheetgen.layouts.families import resolve_layout

SPECS = [
    "single_neuron",
    "network:layers=2-3-1",
    "network:layers=4-8-4-1",
    "network:layers=8-16-8-2",
    "network:layers=10-20-10-1",
    "training:steps=50",
    "training:steps=200",
    "training:steps=1000",
]
QUICK = SPECS[:3] + SPECS[5:7]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the small layouts")
    args = parser.parse_args()
    compile_formula("=A1+1")  # import the engine outside the timings
    print(f"{'layout':34} {'weights':>7} {'formula cells':>13} {'build s':>8} {'verify s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for spec in QUICK if args.quick else SPECS:
            start = time.perf_counter()
            lay = resolve_layout(spec)
            path = build(Path(tmp, "b.xlsx"), lay, force=True)
            built = time.perf_counter()
            report = verify_workbook(path)
            verified = time.perf_counter()
            formulas = sum(c.kind == "formula" for c in lay.cells)
            weights = sum(re.fullmatch(r"w\d.*", q) is not None for q in lay.defaults)
            print(
                f"{spec:34} {weights:7} {formulas:13} {built - start:8.2f} "
                f"{verified - built:9.2f}" + ("" if report.ok else "  NOT OK"),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
