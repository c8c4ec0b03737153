"""Where a ``sheetgen grade`` run's CPU and wall time go, parent and workers (issue 22).

    python benchmarks/grade_profile.py [DIR] [--workers N] [--runs 3] [--profile FOLDER]

Grades ``DIR`` (default: 200 article submissions, ``run.make_class``, made in a temporary
folder) as ``sheetgen grade DIR -q -o x.csv`` does, in this process, ``runs`` times (a fresh
interpreter each, so that imports count), and prints the median of each stage:

- the parent: the interpreter's start, importing the command line and the grader, the
  command's warm-up before the run (importing the engine: numpy and ``formulas``; compiling
  the templates' formulas), gathering the files and forking the workers, waiting for results
  (its own CPU meanwhile: taking results in), identifying, flagging and writing the grade
  book. (This script imports the grader itself, to time its stages, before the command runs:
  that import is outside the command's ``few_collections``, and costs a little more here.)
- each worker: CPU in its books (the first book apart: a process's first-time costs), and
  outside them (taking jobs, sending results back), its page faults (copies of the pages it
  shares with the parent) and how many books it took;
- the pickled results' size (what the workers send back).

With ``--profile FOLDER`` each worker's books are also profiled (``cProfile``, one
``worker-PID.prof`` each, and the parent's ``parent.prof``) and the top functions of the
workers together are printed. Profiling slows everything several times: its stage times are
not the run's.

Not part of the test run: it measures. On a machine shared with other work compare CPU
seconds, not the wall clock.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# One run, in a fresh interpreter: the stamps are taken around the grader's own stages.
ONE_RUN = r"""
import json, os, resource, sys, time
START_WALL = time.perf_counter()


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


marks = [("start", 0.0, cpu())]


def mark(name):
    marks.append((name, time.perf_counter() - START_WALL, cpu()))


folder, workers, profile, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
import sheetgen.cli as cli
mark("cli imported")
import concurrent.futures.process as cfp
import pickle

import sheetgen.teacher.grade as grade
import sheetgen.teacher.results as results
mark("grader imported")

warm_up, run_all, with_adopted = grade.warm_up, grade._run, grade._with_adopted
write, worker_loop = results.ClassReport.write, cfp._process_worker
sent = []


def timed_warm_up(*args, **kwargs):
    first = not any(name == "warm-up start" for name, _, _ in marks)
    if first:  # the command's own; the run's, before forking, finds it done
        mark("warm-up start")
    warm_up(*args, **kwargs)
    if first:
        mark("warm-up end")


def timed_run(*args, **kwargs):
    first = True
    for graded in run_all(*args, **kwargs):
        if first:
            mark("first result")
            first = False
        if len(sent) < 50:
            sent.append(len(pickle.dumps(graded)))
        yield graded
    mark("last result")


def timed_write(*args, **kwargs):
    mark("write start")
    written = write(*args, **kwargs)
    mark("write end")
    return written


WORKER = {"books": [], "profile": None}


def timed_book(run, path):
    if profile != "-" and WORKER["profile"] is None:
        import cProfile
        WORKER["profile"] = cProfile.Profile()
    before = cpu()
    if WORKER["profile"] is not None:
        WORKER["profile"].enable()
    try:
        return with_adopted(run, path)
    finally:
        if WORKER["profile"] is not None:
            WORKER["profile"].disable()
        WORKER["books"].append(cpu() - before)


def timed_worker(*args, **kwargs):
    begun = cpu()
    try:
        return worker_loop(*args, **kwargs)
    finally:
        books = WORKER["books"]
        r = resource.getrusage(resource.RUSAGE_SELF)
        line = {
            "pid": os.getpid(),
            "before first book": begun,
            "books": len(books),
            "first book": books[0] if books else 0.0,
            "other books": sum(books[1:]),
            "outside books": cpu() - begun - sum(books),
            "page faults": r.ru_minflt,
        }
        with open(out + ".workers", "a") as f:
            f.write(json.dumps(line) + "\n")
        if WORKER["profile"] is not None:
            WORKER["profile"].dump_stats(os.path.join(profile, f"worker-{os.getpid()}.prof"))


grade.warm_up, grade._run, grade._with_adopted = timed_warm_up, timed_run, timed_book
results.ClassReport.write, cfp._process_worker = timed_write, timed_worker
argv = ["grade", folder, "-q", "--force", "-o", out + ".csv"]
if workers != "-":
    argv += ["--workers", workers]
parent = None
if profile != "-":
    import cProfile
    parent = cProfile.Profile()
    parent.enable()
sys.stdout = open(os.devnull, "w")
sys.argv = ["sheetgen", *argv]
try:
    cli.run()  # as the console script runs it (its process settings included)
except SystemExit:
    pass
if parent is not None:
    parent.disable()
    parent.dump_stats(os.path.join(profile, "parent.prof"))
mark("done")
children = resource.getrusage(resource.RUSAGE_CHILDREN)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
found = {"marks": marks, "children": children.ru_utime + children.ru_stime, "pickled": sent}
with open(out + ".parent", "w") as f:
    json.dump(found | {"parent faults": faults}, f)
"""

STAGES = [
    ("imports: command line", "start", "cli imported"),
    ("imports: grader", "cli imported", "grader imported"),
    ("before warm-up (the report's name checked)", "grader imported", "warm-up start"),
    ("warm-up: engine import, templates compiled", "warm-up start", "warm-up end"),
    ("gather, forking, first results back", "warm-up end", "first result"),
    ("in-process: checks, gather, first book", "grader imported", "first result"),
    ("the rest of the results (parent's share)", "first result", "last result"),
    ("identify, flag, render", "last result", "write start"),
    ("writing the grade book", "write start", "write end"),
    ("to the end", "write end", "done"),
]


def one_run(folder: Path, workers: str, profile: str, scratch: Path) -> dict[str, object]:
    out = str(scratch / f"run{len(list(scratch.glob('*.parent')))}")
    env = dict(os.environ, TQDM_DISABLE="1")
    subprocess.run(
        [sys.executable, "-c", ONE_RUN, str(folder), workers, profile, out],
        check=True,
        env=env,
        cwd=scratch,  # not the checkout: "-c" would import its sheetgen
    )
    parent = json.loads(Path(out + ".parent").read_text())
    found = Path(out + ".workers")
    lines = found.read_text().splitlines() if found.exists() else []
    parent["workers"] = [json.loads(line) for line in lines]
    return dict(parent)


def report(runs: list[dict[str, object]]) -> None:
    def stamps(run: dict[str, object]) -> dict[str, tuple[float, float]]:
        return {name: (wall, cpu) for name, wall, cpu in run["marks"]}  # type: ignore[attr-defined]

    print(f"{'parent stage':46s} {'wall s':>8s} {'CPU s':>8s}   (median of {len(runs)} runs)")
    started = statistics.median(stamps(r)["start"][1] for r in runs)
    print(f"{'the interpreter and site (CPU only)':46s} {'':8s} {started:8.3f}")
    for label, a, b in STAGES:
        walls, cpus = [], []
        for run in runs:
            s = stamps(run)
            in_process = not run["workers"]  # no worker reported: the books were checked here
            if label.startswith("in-process") and not in_process:
                continue
            if a in s and b in s:
                walls.append(s[b][0] - s[a][0])
                cpus.append(s[b][1] - s[a][1])
        if walls:
            print(f"{label:46s} {statistics.median(walls):8.3f} {statistics.median(cpus):8.3f}")
    total_parent = statistics.median(stamps(r)["done"][1] for r in runs)
    total_children = statistics.median(float(r["children"]) for r in runs)  # type: ignore[arg-type]
    wall = statistics.median(stamps(r)["done"][0] for r in runs)
    print(f"{'parent in all':46s} {wall:8.3f} {total_parent:8.3f}")
    print(f"{'workers in all':46s} {'':8s} {total_children:8.3f}")
    print()
    keys = ["books", "first book", "other books", "outside books", "page faults"]
    print("worker  " + "  ".join(f"{k:>13s}" for k in keys) + "   (median over runs, by rank)")
    ranks = max((len(r["workers"]) for r in runs), default=0)  # type: ignore[arg-type]
    for rank in range(ranks):
        cells = []
        for k in keys:
            values = [
                float(sorted(r["workers"], key=lambda w: -w["books"])[rank][k])  # type: ignore[index]
                for r in runs
                if len(r["workers"]) > rank  # type: ignore[arg-type]
            ]
            cells.append(f"{statistics.median(values):13.3f}")
        print(f"{rank:6d}  " + "  ".join(cells))
    sizes = [s for r in runs for s in r["pickled"]]  # type: ignore[attr-defined]
    if sizes:
        print(f"\na result sent back, pickled: {statistics.median(sizes):,.0f} bytes (median)")


def top(folder: Path, count: int) -> None:
    import pstats

    found = [str(p) for p in folder.glob("worker-*.prof")]
    if found:
        print(f"\nThe workers' books together ({len(found)} profiles), by own time:")
        stats = pstats.Stats(*found, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(count)
        print("Their own time by where the code lives (sheetgen's modules, else the library):")
        where: dict[str, float] = {}
        for (file, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
            where[_owner(file, name)] = where.get(_owner(file, name), 0.0) + row[2]
        total = sum(where.values()) or 1.0
        for owner, seconds in sorted(where.items(), key=lambda kv: -kv[1])[:count]:
            print(f"  {100 * seconds / total:5.1f}%  {owner}")


def _owner(file: str, name: str) -> str:
    """``sheetgen/check/judge.py``, a library's name (``formulas``, ``zipfile``), or the
    built-in function called (``{method 'get' of 'dict' objects}``: ``built-ins``)."""
    if file == "~":
        return "built-ins (C functions: dict.get, zlib, pyexpat, re...)"
    parts = Path(file).parts
    if "sheetgen" in parts:
        return "/".join(parts[parts.index("sheetgen") :])
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    return f"python: {Path(file).stem}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", help="the class (default: 200 made here)")
    parser.add_argument("--workers", default="-", help="as grade's --workers (default: its)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", help="a folder for cProfile's files (slows the run)")
    parser.add_argument("--top", type=int, default=25, help="functions shown with --profile")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="sheetgen-gp-"))
    try:
        folder = Path(args.folder).resolve() if args.folder else scratch / "class"
        if not args.folder:
            sys.path.insert(0, str(Path(__file__).parent))
            from run import make_class

            folder.mkdir()
            make_class(folder, 200)
        profile = "-"
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            profile = str(Path(args.profile).resolve())
            for old in Path(profile).glob("*.prof"):
                old.unlink()
        runs = [one_run(folder, args.workers, profile, scratch) for _ in range(args.runs)]
        report(runs)
        if args.profile:
            top(Path(profile), args.top)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
