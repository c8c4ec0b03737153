"""Reading and vetting one small workbook, in process and warm: ``read_checked`` (what
``verify`` and ``grade`` read a file with) and grade's ``read_found`` (its records), side by
side with another sheetgen (issue 22's class target).

    python benchmarks/read_checked.py --base OTHER/.venv/bin/python [--runs 5] [--class DIR]

Each run is a fresh interpreter per side, the two sides alternating: it reads the 200
submissions of ``run.make_class`` (made once in a temporary folder unless ``--class`` names
one) once to warm up, then three times more, then the article 600 times, and reports the CPU
seconds (``time.process_time``) per book of each. Printed: the medians of each side and the
median of the per-run ratios (base over this one). With ``--pieces`` this interpreter's own
time is split by stage instead (the worksheet's rows read by ``rows.read_rows``, and the rest).

Not part of the test run: it measures. On a machine shared with other work compare the
ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ONE_RUN = r"""
import sys, time
from pathlib import Path
from sheetgen import build
from sheetgen.teacher.provenance import read_found
from sheetgen.workbook.safety import read_checked

def per_call(function, items, rounds):  # CPU seconds a call takes, after a warm round
    for item in items:
        function(item)
    t = time.process_time()
    for _ in range(rounds):
        for item in items:
            function(item)
    return (time.process_time() - t) / (rounds * len(items))

files = sorted(Path(sys.argv[1]).glob("*.xlsx"))
article = build(Path(sys.argv[2]) / f"article-{sys.argv[3]}.xlsx")
submission = per_call(read_checked, files, 3)
one = per_call(read_checked, [article], 600)
found = per_call(read_found, [f.read_bytes() for f in files], 3)
print(submission * 1e3, one * 1e3, found * 1e3)
"""

WHAT = ("read_checked, a submission", "read_checked, the article", "read_found, a submission")


def pieces(folder: Path) -> None:
    """This interpreter's ``read_checked`` of the class, with and without the rows' reading
    (``read_rows`` answered from a memory of the runs it read before)."""
    import sheetgen.workbook.safety.sheetpass as sheetpass
    from sheetgen.workbook.rows import Rows
    from sheetgen.workbook.safety import read_checked

    files = sorted(folder.glob("*.xlsx"))

    def per_book() -> float:
        for f in files:
            read_checked(f)
        start = time.process_time()
        for _ in range(3):
            for f in files:
                read_checked(f)
        return (time.process_time() - start) / (3 * len(files)) * 1e3

    whole = per_book()
    read_rows = getattr(sheetpass, "read_rows")  # noqa: B009 (what the pass calls)
    memory: dict[str, Rows | None] = {}

    def remembered(text: str) -> Rows | None:
        if text not in memory:
            memory[text] = read_rows(text)
        return memory[text]

    setattr(sheetpass, "read_rows", remembered)  # noqa: B010 (a stand-in, for this measure)
    rest = per_book()
    print(f"read_checked {whole:.3f} ms a book; rows.read_rows {whole - rest:.3f} ms of it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="the other sheetgen's python")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--class", dest="folder", type=Path, help="a folder of submissions")
    parser.add_argument("--pieces", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder
        if folder is None:
            sys.path.insert(0, str(Path(__file__).parent))
            from run import make_class

            folder = Path(tmp) / "class"
            folder.mkdir()
            make_class(folder, 200)
        if args.pieces:
            pieces(folder)
            return
        if args.base is None:
            parser.error("--base PYTHON is needed to compare")
        sides = {"base": args.base, "this": sys.executable}
        seen: dict[str, list[list[float]]] = {side: [] for side in sides}
        for run in range(args.runs):
            for side, python in sides.items():
                out = subprocess.run(
                    [python, "-c", ONE_RUN, str(folder), tmp, f"{side}{run}"],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=tmp,
                ).stdout
                seen[side].append([float(x) for x in out.split()])
        for i, what in enumerate(WHAT):
            base = statistics.median(r[i] for r in seen["base"])
            this = statistics.median(r[i] for r in seen["this"])
            ratio = statistics.median(
                b[i] / t[i] for b, t in zip(seen["base"], seen["this"], strict=True)
            )
            print(f"{what:28s} base {base:.3f} ms  this {this:.3f} ms  ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
