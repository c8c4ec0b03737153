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
import contextlib
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
from ..maths.optimizers import STATE
from ..report.learner import to_learner
from ..writer.files import write_atomically
from .provenance import Found, read_found_or_refusal

ROOT_ENV = "SHEETGEN_AUTOGRADER_ROOT"
SOURCE_DIR = "sheetgen-src"
KEYS_DIR = "keys"
"""Where ``autograder --keys`` ships the class key and the manifest of hand-outs (Gradescope
shows learners their results, never the autograder's source)."""
TEMPLATES = "sheetgen.templates"  # shipped from templates/, as in sheetgen's own pyproject.toml

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission (see sheetgen.teacher.autograder). It must always leave a
# results.json behind, even when the checker itself cannot start.
set -u
ROOT="${SHEETGEN_AUTOGRADER_ROOT:-/autograder}"
if [ -z "${SHEETGEN_PYTHON:-}" ] && [ -x "$ROOT/source/venv/bin/python" ]; then
  PYTHON="$ROOT/source/venv/bin/python"  # where setup.sh installed sheetgen
else
  PYTHON="${SHEETGEN_PYTHON:-python3}"
fi
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
# Gradescope runs this once, as root, when it builds the autograder image (its base images are
# Ubuntu 22.04, whose python3 is 3.10, and Ubuntu 24.04, whose python3 is 3.12). sheetgen needs
# Python 3.11 or newer: the newest one on the image is used, else Python 3.11 is installed from
# the deadsnakes PPA (python3.11 and python3.11-venv). sheetgen is installed from the source
# shipped in this zip into its own virtual environment (dependencies from PyPI), which
# run_autograder uses. Every step says what it did.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$HERE/venv"
say() { echo "sheetgen setup: $*"; }
export DEBIAN_FRONTEND=noninteractive
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 \\
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY="$(command -v "$candidate")"
    break
  fi
done
if [ -z "$PY" ]; then
  HAVE="$(python3 --version 2>&1 || echo 'no python3')"
  say "the image has $HAVE; sheetgen needs 3.11 or newer: installing Python 3.11 (deadsnakes PPA)"
  apt-get update -q
  apt-get install -y -q software-properties-common
  add-apt-repository -y ppa:deadsnakes/ppa
  apt-get update -q
  apt-get install -y -q python3.11 python3.11-venv
  PY="$(command -v python3.11)"
fi
VERSION="$("$PY" -c 'import sys; print("%%d.%%d" %% sys.version_info[:2])')"
say "using Python $VERSION at $PY"
if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
  say "installing python$VERSION-venv (the image's Python has no venv module)"
  apt-get update -q
  apt-get install -y -q "python$VERSION-venv"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --no-cache-dir --upgrade pip
"$VENV/bin/python" -m pip install -q --no-cache-dir "$HERE/%(source)s"
say "installed $("$VENV/bin/python" -m sheetgen --version) into $VENV"
"""

_VALID_VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")


def write_bundle(
    out: Path | str,
    layout: str | None = None,
    *,
    force: bool = False,
    keys: Path | str | None = None,
    hints: bool = False,
) -> Path:
    """Write the autograder zip (``setup.sh``, ``run_autograder``, sheetgen's source) and,
    with ``keys`` (a roster build's keys folder), the class key and manifest that score each
    learner on their own hand-out. ``hints`` gives every learner the formula hints, even on a
    hand-out built without them."""
    target = Path(out)
    if target.suffix.lower() != ".zip":
        raise UsageError(f"{target.name}: Gradescope wants the autograder as a .zip file.")
    if layout is not None:
        from ..layouts.families import resolve_layout

        resolve_layout(layout)  # a bad --layout is refused before anything is written
    files = _source_files()
    if keys is not None:
        from .provenance import KEY_FILE, MANIFEST_FILE, read_manifest

        read_manifest(keys)  # a keys folder that cannot be read: refused before writing
        files += [(f"{KEYS_DIR}/{n}", Path(keys) / n) for n in (KEY_FILE, MANIFEST_FILE)]
    quoted = f"--layout {_shell_quote(layout)}" if layout else ""
    quoted += " --hints" if hints else ""

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            _add(z, "setup.sh", SETUP_SH % {"source": SOURCE_DIR}, executable=True)
            run = RUN_AUTOGRADER % {"source": SOURCE_DIR, "layout": quoted}
            _add(z, "run_autograder", run, executable=True)
            _add(z, f"{SOURCE_DIR}/pyproject.toml", _pyproject())
            for name, path in files:
                z.write(path, name if name.startswith(f"{KEYS_DIR}/") else f"{SOURCE_DIR}/{name}")

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


def results_for(
    submission: Path, layout: str | None = None, *, hints: bool | None = None
) -> dict[str, Any]:
    """The ``results.json`` document for the files in ``submission`` (never raises).
    ``hints`` overrides a no-hints hand-out's choice (the bundle's ``--hints``).

    The workbook graded is the one that carries a hand-out's record, else the first that
    holds a layout sheetgen checks; junk, lock files and other workbooks are listed, not
    graded. It is scored on its hand-out's cells (``sheetgen.teacher.handouts``: the file's
    record, else the layout's default blanks), and what is not the learner's own goes to a
    hidden test only the teacher sees.
    """
    from .gather import gather

    start = time.perf_counter()
    gathered = gather([submission]) if submission.is_dir() else None
    files = list(gathered.files) if gathered else []
    ignored = [Path(f).name for f, _ in (gathered.skipped if gathered else ())]
    if not files:
        extra = f" (you handed in: {', '.join(ignored)})" if ignored else ""
        return _document(
            0.0,
            f"No workbook (.xlsx, .xlsm or .ods) was found in your submission{extra}.",
            [],
            start,
        )
    chosen, report, problem, found = _choose(files, layout, hints)
    others = [p.name for p in files if p != chosen] + ignored
    note = (
        f"Graded {chosen.name}; also handed in, not graded: {', '.join(others)}.\n\n"
        if others
        else ""
    )
    if report is None:
        said = to_learner(problem or "")
        return _document(0.0, f"{note}{chosen.name} could not be checked: {said}", [], start)
    from ..report.render import to_text

    report, flags = _own_hand_out(chosen, report, submission.parent, found)
    tests = group_tests(report)
    score = sum(t["score"] for t in tests)
    feedback = to_text(report, only_wrong=True).replace(str(chosen), chosen.name)
    if flags:
        tests.append(
            {
                "name": "Hand-out check (seen by the teacher only)",
                "score": 0.0,
                "max_score": 0.0,
                "status": "failed",
                "output": "\n".join(f"Flag: {f}." for f in flags),
                "visibility": "hidden",
            }
        )
    return _document(score, note + feedback, tests, start)


def _choose(
    files: Sequence[Path], layout: str | None, hints: bool | None = None
) -> tuple[Path, Any, str, Found]:
    """The file to grade, its report (or None), why it could not be checked, and the hand-out
    records it carries (read once: the choice and the scoring both need them)."""
    from ..check.verify import verify_workbook

    found: dict[Path, Found] = {}
    refused: dict[Path, str] = {}
    for f in files:
        searched = read_found_or_refusal(f, f)
        if isinstance(searched, str):  # too large to check, as verify says when it runs out
            found[f], refused[f] = Found(), searched
        else:
            found[f] = searched
    signed = [f for f in files if found[f].any]
    first: tuple[Path, Any, str, Found] | None = None
    for f in [*signed, *(f for f in files if f not in signed)]:
        if f in refused:
            first = first or (f, None, refused[f].replace(str(f), f.name), found[f])
            continue
        try:
            return f, verify_workbook(f, layout, hints=hints), "", found[f]
        except SheetgenError as exc:
            problem = str(exc).replace(str(f), f.name)
        except Exception as exc:  # a bug of ours: the learner still gets a result, and why
            problem = f"internal error ({type(exc).__name__}: {exc})"
        first = first or (f, None, problem, found[f])
    assert first is not None
    return first


def _own_hand_out(path: Path, report: Any, root: Path, found: Found) -> tuple[Any, list[str]]:
    """``report`` scored on its hand-out's cells, and the flags for the teacher: with the keys
    folder shipped in the bundle (``autograder --keys``), the learner's hand-out; else the one
    the file records (a complete sheet without a record is then scored on every cell)."""
    from .handouts import Handout, check_handouts
    from .provenance import read_manifest
    from .scoring import Graded

    ids, name = _submitter(root)
    decoded = [r for r in found.decoded() if r.learner_id]
    recorded = decoded[0] if decoded else None
    if recorded is not None and (not ids or recorded.learner_id in ids):
        learner_id, name = recorded.learner_id, name or recorded.name
    else:  # Gradescope's student id (or e-mail) for a file that is not their hand-out
        learner_id = ids[0] if ids else ""
    manifest = None
    with contextlib.suppress(SheetgenError):
        keys = root / "source" / KEYS_DIR
        manifest = read_manifest(keys) if keys.is_dir() else None
    fallback = None
    if manifest is not None and manifest.learners:
        first = manifest.learners[0].record
        fallback = Handout(first.blanks, {}, first.layout, "the class's hand-outs")
        known = [i for i in ids if i in manifest.by_id]
        if known and (recorded is None or recorded.learner_id not in manifest.by_id):
            learner_id = known[0]
    graded = Graded(
        str(path),
        report,
        recorded=found.properties,
        name=name,
        learner_id=learner_id,
        found=found,
    )
    (checked,) = check_handouts([graded], manifest, fallback=fallback)
    return checked.report, list(checked.flags)


def _submitter(root: Path) -> tuple[list[str], str]:
    """Who submitted, from Gradescope's ``submission_metadata.json``: their student id
    (``sid``) and e-mail address, either of which a roster may use as the id, and name."""
    try:
        doc = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        user = doc["users"][0]
        ids = [str(user[k]) for k in ("sid", "email") if user.get(k)]
        return ids, str(user.get("name") or "")
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return [], ""


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
    """The group a quantity is tested in: its step (a data set's examples of a step together),
    then local or global gradients, the optimizer's state, the update, the nudged forward pass,
    or the forward pass."""
    parts = quantity.split(".")
    prefix = ""
    if parts[0].startswith("step") and parts[0][4:].isdigit():
        prefix, parts = f"step {parts[0][4:]}: ", parts[1:]
    if parts and parts[0].startswith("example") and parts[0][7:].isdigit():
        parts = parts[1:]
    head = parts[0] if parts else ""
    if head in ("local", "global"):
        return f"{prefix}{head} gradients"
    if prefix and any(head in state for state in STATE.values()):
        return f"{prefix}optimizer state"
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


def run(root: Path, layout: str | None = None, *, hints: bool | None = None) -> Path:
    """Grade ``root/submission`` into ``root/results/results.json``."""
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    doc = results_for(root / "submission", layout, hints=hints)
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
    parser.add_argument("--hints", action="store_true")
    args = parser.parse_args(argv)
    root = args.root or Path(os.environ.get(ROOT_ENV, "/autograder"))
    run(root, args.layout, hints=True if args.hints else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
