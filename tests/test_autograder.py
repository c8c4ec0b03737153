"""The Gradescope autograder bundle, run as Gradescope would in a fake /autograder tree.

The bundle's own copy of sheetgen is installed (``pip install --target``, as setup.sh installs
it) and put first on the path, so what runs is what the zip ships, not this checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sheetgen import build, build_exercise
from sheetgen.cli import main
from sheetgen.teacher.autograder import results_for, validate_results
from sheetgen.teacher.exercise import build_class

from . import hostile

Run = Callable[[Path | list[Path] | None], dict[str, Any]]


@pytest.fixture(scope="module")
def autograder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The fake /autograder with the bundle unpacked into source/, and the bundle's sheetgen."""
    base = tmp_path_factory.mktemp("gradescope")
    bundle = base / "autograder.zip"
    assert main(["autograder", "-o", str(bundle)]) == 0
    root = base / "autograder"
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        assert {"setup.sh", "run_autograder"} <= set(names)  # at the root of the zip
        z.extractall(root / "source")
        for info in z.infolist():
            if info.filename in ("setup.sh", "run_autograder"):
                assert (info.external_attr >> 16) & stat.S_IXUSR
    setup = (root / "source" / "setup.sh").read_text()
    assert "pip install" in setup and "sheetgen-src" in setup
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as the harness does
    site = base / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(root / "source" / "sheetgen-src"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert (site / "sheetgen" / "teacher" / "autograder.py").exists()
    return root, site


@pytest.fixture
def run(autograder: tuple[Path, Path]) -> Run:
    root, site = autograder

    def _run(submission: Path | list[Path] | None) -> dict[str, Any]:
        folder = root / "submission"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for file in [submission] if isinstance(submission, Path) else submission or []:
            shutil.copy(file, folder / file.name)
        env = {
            **os.environ,
            "SHEETGEN_AUTOGRADER_ROOT": str(root),
            "SHEETGEN_PYTHON": sys.executable,
            "PYTHONPATH": str(site),
        }
        done = subprocess.run(
            ["bash", str(root / "run_autograder")], env=env, capture_output=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        doc: dict[str, Any] = json.loads((root / "results" / "results.json").read_text("utf-8"))
        assert validate_results(doc) == [], doc
        return doc

    return _run


def test_right_wrong_and_unfinished_submissions(run: Run, tmp_path: Path) -> None:
    right = run(build(tmp_path / "right.xlsx"))
    tests = right["tests"]
    assert isinstance(tests, list) and len(tests) >= 3
    assert right["score"] == sum(t["max_score"] for t in tests) > 0
    assert all(t["status"] == "passed" for t in tests)

    unfinished = run(build_exercise(tmp_path / "hand-out.xlsx", blanks="E3,C4"))
    assert unfinished["score"] == 0.0
    assert sum(t["max_score"] for t in unfinished["tests"]) == 2.0  # only the blanks count
    assert "to do" in str(unfinished["output"]).lower()

    wrong = build_exercise(tmp_path / "wrong.xlsx", blanks="E3,C4")
    wb = openpyxl.load_workbook(wrong)
    wb.active["E3"], wb.active["C4"] = "=1-F2*F2", "=E4+C3"
    wb.save(wrong)
    doc = run(wrong)
    assert doc["score"] == 1.0
    failed = [t for t in doc["tests"] if t["status"] == "failed"]
    assert len(failed) == 1 and "C4" in failed[0]["output"]
    assert "C4" in str(doc["output"]) and str(tmp_path) not in str(doc["output"])


def test_hostile_and_missing_submissions_score_zero_with_a_reason(run: Run, tmp_path: Path) -> None:
    (tmp_path / "bomb").mkdir()
    bomb = hostile.sheet_zip_bomb(tmp_path / "bomb")
    doc = run(bomb)
    assert (
        doc["score"] == 0.0 and doc["tests"] == [] and "could not be checked" in str(doc["output"])
    )
    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a workbook")
    assert run(junk)["score"] == 0.0
    pdf = tmp_path / "essay.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    doc = run(pdf)
    assert doc["score"] == 0.0 and "essay.pdf" in str(doc["output"])
    assert run(None)["score"] == 0.0
    odd = tmp_path / "$(touch pwned); `id` 'x'.xlsx"  # names reach no shell
    shutil.copy(build(tmp_path / "plain.xlsx"), odd)
    assert float(str(run(odd)["score"])) > 0 and not list(Path.cwd().glob("pwned"))


def test_validator_rejects_what_gradescope_would() -> None:
    assert validate_results({"tests": [{"name": "x"}]})  # no score anywhere
    assert validate_results({"score": "10"})
    assert validate_results({"score": 1, "tests": [{"score": 1, "status": "ok"}]})
    assert validate_results({"score": 1, "visibility": "public"})
    assert validate_results({"score": 1, "colour": "red"})
    assert validate_results({"score": 1, "tests": [{"score": 1, "max_score": 1}]}) == []


def test_bundle_refuses_a_bad_layout_and_a_non_zip(tmp_path: Path) -> None:
    assert main(["autograder", "-o", str(tmp_path / "a.zip"), "--layout", "nope"]) == 2
    assert main(["autograder", "-o", str(tmp_path / "a.tar")]) == 2
    assert not list(tmp_path.iterdir())


def test_the_workbook_is_graded_among_other_files_on_its_hand_out_and_flags_stay_hidden(
    run: Run, autograder: tuple[Path, Path], tmp_path: Path
) -> None:
    root, _ = autograder
    roster = tmp_path / "class.csv"
    roster.write_text("id,name\ns001,Ana Lima\ns002,Bo Chen\n", encoding="utf-8")
    build_class(roster, tmp_path / "ho", hints=False)
    bundle = tmp_path / "keys.zip"
    assert main(["autograder", "-o", str(bundle), "--keys", str(tmp_path / "ho-keys")]) == 0
    with zipfile.ZipFile(bundle) as z:
        assert {"keys/class.key", "keys/hand-outs.json"} <= set(z.namelist())
        z.extractall(root / "source", members=["keys/class.key", "keys/hand-outs.json"])
    try:
        mine = tmp_path / "s001-Ana_Lima.xlsx"
        shutil.copy(tmp_path / "ho" / mine.name, mine)
        wb = openpyxl.load_workbook(mine)
        wb.active["E3"] = "=1-F2"
        wb.save(mine)
        junk, lock = tmp_path / "random.xlsx", tmp_path / "~$s001-Ana_Lima.xlsx"
        junk.write_text("junk")
        lock.write_bytes(b"lock")
        doc = run([junk, lock, mine])
        output = str(doc["output"])
        assert output.startswith(f"Graded {mine.name}; also handed in, not graded: random.xlsx")
        assert sum(t["max_score"] for t in doc["tests"]) == 10.0  # the hand-out's points
        assert "Hint:" not in json.dumps(doc)  # built with --no-hints
        assert not [t for t in doc["tests"] if t.get("visibility") == "hidden"]
        hinted = tmp_path / "hints.zip"
        assert main(["autograder", "-o", str(hinted), "--hints"]) == 0
        with zipfile.ZipFile(hinted) as z:
            assert "--hints" in z.read("run_autograder").decode()
        (tmp_path / "sub").mkdir()
        shutil.copy(mine, tmp_path / "sub" / mine.name)
        assert "Hint:" in json.dumps(results_for(tmp_path / "sub", hints=True))

        cheat = build(tmp_path / "cheat.xlsx")
        doc = run(cheat)
        assert doc["score"] == sum(t["max_score"] for t in doc["tests"]) == 10.0  # not 52
        (hidden,) = [t for t in doc["tests"] if t.get("visibility") == "hidden"]
        assert "a complete sheet" in hidden["output"] and "complete" not in str(doc["output"])
    finally:
        shutil.rmtree(root / "source" / "keys")
