"""The command line: exit codes, one JSON document, one sentence on failure, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sheetgen.cli import main
from sheetgen.layouts.layout import Layout

from .conftest import edit


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_reference_prints_the_article_programs_two_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "reference")
    assert code == 0
    assert out == "Weight gradient: -0.0080\nBias gradient: -0.0201\n"


def test_reference_takes_parameters_and_lists_everything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "reference", "--weight", "-0.3", "--input", "0.9", "--all")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Weight gradient: ") and lines[1].startswith("Bias gradient: ")
    assert any(line.startswith("nudge.weight.gradient") for line in lines)


def test_build_then_verify_passes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "n.xlsx"
    assert run(capsys, "build", "-o", str(path))[0] == 0
    code, out, _ = run(capsys, "verify", str(path))
    assert code == 0
    assert out.splitlines()[-1].startswith("OK: all 52 cells")


def test_build_refuses_to_overwrite_with_exit_2(
    capsys: pytest.CaptureFixture[str], article: Path
) -> None:
    before = article.read_bytes()
    code, _, err = run(capsys, "build", "-o", str(article))
    assert code == 2
    assert err.strip() == f"sheetgen: {article} already exists. Pass --force to overwrite it."
    assert article.read_bytes() == before
    assert run(capsys, "build", "-o", str(article), "--force", "--weight", "0.2")[0] == 0
    assert article.read_bytes() != before


def test_verify_a_broken_sheet_exits_1_naming_the_cell(
    capsys: pytest.CaptureFixture[str], article: Path, tmp_path: Path, layout: Layout
) -> None:
    broken = edit(article, tmp_path / "b.xlsx", layout, {"local.net": "=1-{output}^3"})
    code, out, _ = run(capsys, "verify", str(broken))
    assert code == 1
    cell = layout.by_quantity["local.net"].at
    assert f"{cell} is " in out and "it should be 0.5590551677" in out
    assert out.splitlines()[-1].startswith("FAILED:") and cell in out.splitlines()[-1]


def test_verify_json_is_exactly_one_document(
    capsys: pytest.CaptureFixture[str], article: Path, tmp_path: Path, layout: Layout
) -> None:
    broken = edit(article, tmp_path / "b.xlsx", layout, {"global.weight": -0.008})
    code, out, _ = run(capsys, "verify", str(broken), "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False
    cells = {c["cell"]: c for c in doc["cells"]}
    c4 = cells[layout.by_quantity["global.weight"].at]
    assert c4["status"] == "typed" and c4["found"] == -0.008
    assert c4["expected"] == pytest.approx(-0.008042171772040318, rel=1e-12)
    assert all({"cell", "status", "expected", "found"} <= set(c) for c in doc["cells"])


FLAT_ODS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<office:document '
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.3" '
    'office:mimetype="application/vnd.oasis.opendocument.spreadsheet"></office:document>'
)
"""The start of what LibreOffice writes for "Flat XML ODF Spreadsheet" (.fods)."""


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.xlsx", "does not exist"),
        (lambda d: d, "is a directory, not a workbook file"),
        (
            lambda d: (d / "t.xlsx").write_text("hello") and d / "t.xlsx",
            "is a text file (CSV?), not an .xlsx, .xlsm or .ods workbook;",
        ),
        (
            lambda d: (d / "t.fods").write_text(FLAT_ODS) and d / "t.fods",
            "is a flat OpenDocument file (.fods), which sheetgen does not read; "
            "save it as an .ods spreadsheet",
        ),
    ],
    ids=["missing", "directory", "text-file", "flat-ods"],
)
def test_verify_cannot_run_exits_2_with_one_sentence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    code, out, err = run(capsys, "verify", str(path))
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["build", "--weight", "heavy"])
    assert exc.value.code == 2


def test_python_dash_m_runs_as_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "p.xlsx"
    built = subprocess.run(
        [sys.executable, "-m", "sheetgen", "build", "-o", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,  # not the checkout: the installed sheetgen is what runs
    )
    assert built.returncode == 0, built.stderr
    done = subprocess.run(
        [sys.executable, "-m", "sheetgen", "verify", str(path), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["ok"] is True
    assert "it/s" not in done.stderr  # no progress bars from the engine


@pytest.mark.parametrize("command", ["verify", "grade"])
def test_help_explains_exit_3(capsys: pytest.CaptureFixture[str], command: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "-h"])
    out = " ".join(capsys.readouterr().out.split())  # help text wraps at the terminal's width
    assert exc.value.code == 0
    assert "3: nothing wrong, but some cells sheetgen could not compute: review them." in out


_THREADS = (
    "import os, sheetgen.cli as cli\n"
    "cli.main = lambda: print(os.environ.get('OPENBLAS_NUM_THREADS')) or 0\n"
    "raise SystemExit(cli.run())\n"
)


@pytest.mark.parametrize(("given", "seen"), [(None, "1"), ("4", "4")])
def test_the_program_runs_openblas_on_one_thread_unless_told(given: str | None, seen: str) -> None:
    """The ``sheetgen`` process asks numpy's OpenBLAS for one thread (its thread per core
    spins at import for matrices too small to share); a user's own setting is kept."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    done = subprocess.run(
        [sys.executable, "-c", _THREADS], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout == f"{seen}\n", done.stderr


def test_main_leaves_its_hosts_environment_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    before = dict(os.environ)
    assert run(capsys, "reference")[0] == 0
    assert dict(os.environ) == before


def test_few_collections_leaves_the_collector_as_it_was() -> None:
    """Its thresholds, no object frozen, and a cycle made within still collected later."""
    import gc
    import weakref

    from sheetgen.cli.options import few_collections

    class Node:
        pass

    before = gc.get_threshold()
    with few_collections():
        assert gc.get_threshold() != before
        node = Node()
        node.self = node  # type: ignore[attr-defined]
        gone = weakref.ref(node)
        del node
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None
