"""A Gradescope autograder: the bundle ``sheetgen autograder`` writes, and what it runs.

The bundle follows Gradescope's autograder specification: a zip with ``setup.sh`` (installs
sheetgen from the source shipped inside the zip, so the autograder grades with exactly the
checker the teacher ran) and ``run_autograder`` at its root. Gradescope unpacks it to
``/autograder/source``, puts the learner's files in ``/autograder/submission`` and expects
``/autograder/results/results.json``: a score, and one test per group of scored cells (the
forward pass, the local gradients...) with ``score``, ``max_score`` and an ``output`` saying
what to fix, plus the learner's feedback as the submission's ``output``.

``run`` never fails without writing ``results.json``: a submission with no workbook, an
unreadable or hostile one, scores 0 and says why in one sentence. The root is
``/autograder`` unless ``SHEETGEN_AUTOGRADER_ROOT`` says otherwise (tests use a temporary one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import SheetgenError, UsageError
from ..writer.files import write_atomically

ROOT_ENV = "SHEETGEN_AUTOGRADER_ROOT"
SOURCE_DIR = "sheetgen-src"
TEMPLATES = "sheetgen.templates"  # shipped from templates/, as in sheetgen's own pyproject.toml

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission (see sheetgen.teacher.autograder). It must always leave a
# results.json behind, even when the checker itself cannot start.
set -u
ROOT="${SHEETGEN_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${SHEETGEN_PYTHON:-python3}"
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
cd "$ROOT"
export SHEETGEN_TEMPLATES="$ROOT/source/%(source)s/templates"
"$PYTHON" -m sheetgen.teacher.autograder --root "$ROOT" %(layout)s
if [ ! -s "$ROOT/results/results.json" ]; then
  MESSAGE="The autograder could not run; please tell your teacher."
  printf '{"score": 0, "output": "%%s"}\\n' "$MESSAGE" > "$ROOT/results/results.json"
fi
exit 0
"""

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image: install sheetgen from the
# source shipped in this zip (its dependencies come from PyPI).
set -euo pipefail
if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-pip
fi
SRC="$(cd "$(dirname "$0")" && pwd)/%(source)s"
python3 -m pip install --no-cache-dir "$SRC" \\
  || python3 -m pip install --no-cache-dir --break-system-packages "$SRC"
python3 -m sheetgen --version
"""

_VALID_VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")


def write_bundle(out: Path | str, layout: str | None = None, *, force: bool = False) -> Path:
    """Write the autograder zip (``setup.sh``, ``run_autograder``, sheetgen's source)."""
    target = Path(out)
    if target.suffix.lower() != ".zip":
        raise UsageError(f"{target.name}: Gradescope wants the autograder as a .zip file.")
    if layout is not None:
        from ..layouts.families import resolve_layout

        resolve_layout(layout)  # a bad --layout is refused before anything is written
    files = _source_files()
    quoted = f"--layout {_shell_quote(layout)}" if layout else ""

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            _add(z, "setup.sh", SETUP_SH % {"source": SOURCE_DIR}, executable=True)
            run = RUN_AUTOGRADER % {"source": SOURCE_DIR, "layout": quoted}
            _add(z, "run_autograder", run, executable=True)
            _add(z, f"{SOURCE_DIR}/pyproject.toml", _pyproject())
            for name, path in files:
                z.write(path, f"{SOURCE_DIR}/{name}")

    return write_atomically(target, write, force=force)


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _add(z: zipfile.ZipFile, name: str, text: str, *, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.external_attr = (0o755 if executable else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, text)


def _package() -> Path:
    """The installed ``sheetgen`` folder (this module is in its ``teacher`` folder)."""
    return Path(__file__).resolve().parents[1]


def _source_files() -> list[tuple[str, Path]]:
    """sheetgen's own modules and the layout templates, as they are installed here."""
    from ..layouts.layout import templates_dir

    package = _package()
    out = [
        (f"sheetgen/{p.relative_to(package).as_posix()}", p)
        for p in sorted(package.rglob("*"))
        if p.is_file() and p.suffix in (".py", ".typed") and "__pycache__" not in p.parts
    ]
    templates = templates_dir()
    out += [
        (f"templates/{p.relative_to(templates).as_posix()}", p)
        for p in sorted(templates.rglob("*.toml"))
    ]
    return out


def _pyproject() -> str:
    """A minimal build description with the runtime dependencies sheetgen is installed with."""
    from .. import __version__

    try:
        required = metadata.requires("sheetgen") or []
    except metadata.PackageNotFoundError:
        required = []
    runtime = [r for r in required if "extra ==" not in r]
    deps = ",\n".join(f"    {json.dumps(r)}" for r in runtime)
    package = _package()
    folders = sorted(
        ".".join(("sheetgen", *p.parent.relative_to(package).parts))
        for p in package.rglob("__init__.py")
        if "__pycache__" not in p.parts and p.parent.name != "templates"
    )
    packages = ", ".join(json.dumps(f) for f in (*folders, TEMPLATES, f"{TEMPLATES}.families"))
    return (
        '[build-system]\nrequires = ["setuptools>=61"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "sheetgen"\nversion = "{__version__}"\n'
        f'requires-python = ">=3.11"\ndependencies = [\n{deps}\n]\n\n'
        # The templates ship inside the package, as in sheetgen's own pyproject.toml.
        "[tool.setuptools]\n"
        f"packages = [{packages}]\n\n"
        '[tool.setuptools.package-dir]\n"sheetgen.templates" = "templates"\n\n'
        '[tool.setuptools.package-data]\nsheetgen = ["py.typed"]\n'
        '"sheetgen.templates" = ["*.toml"]\n"sheetgen.templates.families" = ["*.toml"]\n'
    )


# ---------------------------------------------------------------------------------------------
# What run_autograder runs


def results_for(submission: Path, layout: str | None = None) -> dict[str, Any]:
    """The ``results.json`` document for the files in ``submission`` (never raises)."""
    from .gather import gather

    start = time.perf_counter()
    gathered = gather([submission]) if submission.is_dir() else None
    files = list(gathered.files) if gathered else []
    if not files:
        handed = ", ".join(Path(f).name for f, _ in (gathered.skipped if gathered else ()))
        extra = f" (you handed in: {handed})" if handed else ""
        return _document(
            0.0,
            f"No workbook (.xlsx, .xlsm or .ods) was found in your submission{extra}.",
            [],
            start,
        )
    chosen, others = files[0], files[1:]
    note = (
        f"Graded {chosen.name}; also handed in, not graded: "
        f"{', '.join(p.name for p in others)}.\n\n"
        if others
        else ""
    )
    try:
        from ..check.verify import verify_workbook
        from ..report.render import to_text

        report = verify_workbook(chosen, layout)
    except SheetgenError as exc:
        return _document(0.0, f"{note}{chosen.name} could not be checked: {exc}", [], start)
    except Exception as exc:  # a bug of ours: the learner still gets a result, and the reason
        reason = f"internal error ({type(exc).__name__}: {exc})"
        return _document(0.0, f"{note}{chosen.name} could not be checked: {reason}", [], start)
    tests = group_tests(report)
    score = sum(t["score"] for t in tests)
    feedback = to_text(report, only_wrong=True).replace(str(chosen), chosen.name)
    return _document(score, note + feedback, tests, start)


def group_tests(report: Any) -> list[dict[str, Any]]:
    """One Gradescope test per group of scored cells, in sheet order."""
    from ..maths.neuron import describe

    groups: dict[str, list[Any]] = {}
    for c in report.cells:
        if c.scored:
            groups.setdefault(cell_group(c.quantity), []).append(c)
    tests = []
    for number, (name, cells) in enumerate(groups.items(), start=1):
        right = [c for c in cells if c.ok]
        lines = []
        for c in cells:
            if c.ok:
                continue
            verdict = c.message or c.status
            lines.append(f"{c.cell} ({describe(c.quantity)}): {verdict}")
            if c.explanation:
                lines.append(f"    {c.explanation}")
        done = "The cell is right." if len(cells) == 1 else f"All {len(cells)} cells are right."
        output = "\n".join(lines) if lines else done
        tests.append(
            {
                "name": f"{name} ({', '.join(c.cell for c in cells[:8])}"
                f"{', ...' if len(cells) > 8 else ''})",
                "number": str(number),
                "score": float(len(right)),
                "max_score": float(len(cells)),
                "status": "passed" if len(right) == len(cells) else "failed",
                "output": output,
                "visibility": "visible",
            }
        )
    return tests


def cell_group(quantity: str) -> str:
    """The group a quantity is tested in: its step, then local or global gradients, the nudged
    forward pass, or the forward pass."""
    parts = quantity.split(".")
    prefix = ""
    if parts[0].startswith("step") and parts[0][4:].isdigit():
        prefix, parts = f"step {parts[0][4:]}: ", parts[1:]
    head = parts[0] if parts else ""
    if head in ("local", "global"):
        return f"{prefix}{head} gradients"
    if head == "new":
        return f"{prefix}update"
    if head == "nudge":
        return f"{prefix}faux gradients (nudged {parts[1] if len(parts) > 1 else ''})".replace(
            " ()", ""
        )
    return f"{prefix}forward pass"


def _document(
    score: float, output: str, tests: list[dict[str, Any]], start: float
) -> dict[str, Any]:
    return {
        "score": score,
        "execution_time": round(time.perf_counter() - start, 3),
        "output": output,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def run(root: Path, layout: str | None = None) -> Path:
    """Grade ``root/submission`` into ``root/results/results.json``."""
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    doc = results_for(root / "submission", layout)
    target = results / "results.json"
    text = json.dumps(doc, indent=2, ensure_ascii=False)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    write_atomically(target, write, force=True)
    print(f"score {doc['score']} of {sum(t['max_score'] for t in doc['tests'])}")
    return target


def validate_results(doc: Any) -> list[str]:
    """What in ``doc`` does not follow Gradescope's results.json format (empty when it does)."""
    problems: list[str] = []
    top = {
        "score",
        "execution_time",
        "output",
        "output_format",
        "test_output_format",
        "test_name_format",
        "visibility",
        "stdout_visibility",
        "extra_data",
        "tests",
        "leaderboard",
    }
    per_test = {
        "score",
        "max_score",
        "status",
        "name",
        "name_format",
        "number",
        "output",
        "output_format",
        "tags",
        "visibility",
        "extra_data",
    }
    formats = ("text", "html", "simple_format", "md", "ansi")
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"]
    problems += [f"unknown key {k!r}" for k in doc if k not in top]
    tests = doc.get("tests", [])
    if not isinstance(tests, list):
        return [*problems, "tests is not a list"]
    if "score" not in doc and not all(isinstance(t, dict) and "score" in t for t in tests):
        problems.append("no score: neither the submission nor every test has one")
    for key in ("score", "execution_time"):
        if key in doc and not _number(doc[key]):
            problems.append(f"{key} is not a number")
    for key in ("output",):
        if key in doc and not isinstance(doc[key], str):
            problems.append(f"{key} is not text")
    for key in ("output_format", "test_output_format", "test_name_format"):
        if key in doc and doc[key] not in formats:
            problems.append(f"{key} is not one of {formats}")
    for key in ("visibility", "stdout_visibility"):
        if key in doc and doc[key] not in _VALID_VISIBILITY:
            problems.append(f"{key} is not one of {_VALID_VISIBILITY}")
    for i, t in enumerate(tests):
        if not isinstance(t, dict):
            problems.append(f"test {i} is not an object")
            continue
        problems += [f"test {i}: unknown key {k!r}" for k in t if k not in per_test]
        for key in ("score", "max_score"):
            if key in t and not _number(t[key]):
                problems.append(f"test {i}: {key} is not a number")
        for key in ("name", "number", "output"):
            if key in t and not isinstance(t[key], str):
                problems.append(f"test {i}: {key} is not text")
        if "status" in t and t["status"] not in ("passed", "failed"):
            problems.append(f"test {i}: status is not passed or failed")
        if "visibility" in t and t["visibility"] not in _VALID_VISIBILITY:
            problems.append(f"test {i}: visibility is not one of {_VALID_VISIBILITY}")
        if "tags" in t and not (
            isinstance(t["tags"], list) and all(isinstance(x, str) for x in t["tags"])
        ):
            problems.append(f"test {i}: tags is not a list of text")
    return problems


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sheetgen.teacher.autograder")
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--layout", default=None)
    args = parser.parse_args(argv)
    root = args.root or Path(os.environ.get(ROOT_ENV, "/autograder"))
    run(root, args.layout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
