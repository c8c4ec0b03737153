"""``sheetgen build`` as a process: it never loads the formulas engine, and numpy only where
the maths needs it.

A design test, not a timing one: the build's cached values come from the reference model, and
the command imports openpyxl without numpy, so a fresh interpreter that builds any family has
imported none of formulas, schedula or scipy, nor numpy but for a network's training run (the
build refuses a run whose later steps verify could not check, and that analysis takes each
step's update norm with numpy). The same process can still verify (which loads them) and write
numpy numbers, and a process that had numpy first keeps all of openpyxl.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEAVY = ("numpy", "formulas", "schedula", "scipy")

REPORT_HEAVY = f"""
import json, sys
from sheetgen.cli import main
code = main(sys.argv[1:])
loaded = {{name.partition(".")[0] for name, module in sys.modules.items() if module is not None}}
print(json.dumps({{"code": code, "heavy": sorted(loaded & set({HEAVY!r}))}}))
"""


def run_python(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["build"],
        ["build", "network", "--layers", "2,3,1"],
        ["build", "training", "--steps", "50"],
        ["build", "training", "--steps", "800"],  # step numbers past 700 are read by no formula
        ["build", "--exercise"],
        ["build", "--exercise", "--blank", "2", "--seed", "4"],
        ["build", "--activation", "sigmoid", "--inputs", "2", "--difference", "central"],
        ["build", "--seed", "7", "--weight", "-0.3"],
        ["templates"],
        ["reference", "--all"],
    ],
    ids=" ".join,
)
def test_building_imports_neither_numpy_nor_the_engine(args: list[str], tmp_path: Path) -> None:
    if args[0] == "build":
        args = [*args, "-o", str(tmp_path / "out.xlsx")]
    done = run_python(REPORT_HEAVY, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"code": 0, "heavy": []}


def test_a_networks_training_run_imports_numpy_for_its_analysis_but_not_the_engine(
    tmp_path: Path,
) -> None:
    args = [
        "build",
        "training",
        "--layers",
        "2,2,1",
        "--steps",
        "30",
        "-o",
        str(tmp_path / "t.xlsx"),
    ]
    done = run_python(REPORT_HEAVY, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"code": 0, "heavy": ["numpy"]}


def test_one_process_builds_then_verifies_and_writes_numpy_numbers(tmp_path: Path) -> None:
    script = """
        import sys
        from sheetgen.cli import main
        built, other = sys.argv[1], sys.argv[2]
        assert main(["build", "-o", built]) == 0
        assert sys.modules.get("numpy") is None
        assert main(["verify", built]) == 0  # the engine, numpy and all
        import numpy, openpyxl
        wb = openpyxl.Workbook()
        wb.active["A1"] = numpy.float64(0.25)  # openpyxl without numpy's types takes a float64
        wb.active["A2"] = float(numpy.tanh(0.8))
        wb.save(other)
        ws = openpyxl.load_workbook(other).active
        assert (ws["A1"].value, ws["A2"].value) == (0.25, float(numpy.tanh(0.8)))
        print("fine")
    """
    done = run_python(script, str(tmp_path / "b.xlsx"), str(tmp_path / "o.xlsx"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "fine"


def test_a_process_that_had_numpy_first_keeps_all_of_openpyxl(tmp_path: Path) -> None:
    script = """
        import sys
        import numpy
        from sheetgen.cli import main
        assert main(["build", "-o", sys.argv[1]]) == 0
        import openpyxl
        from openpyxl.compat.numbers import NUMPY
        assert NUMPY  # the guard stood aside: numpy was there before openpyxl
        wb = openpyxl.Workbook()
        wb.active["A1"] = numpy.int64(3)
        wb.active["A2"] = numpy.float32(0.5)
        wb.save(sys.argv[2])
        ws = openpyxl.load_workbook(sys.argv[2]).active
        assert (ws["A1"].value, ws["A2"].value) == (3, 0.5)
        print("fine")
    """
    done = run_python(script, str(tmp_path / "b.xlsx"), str(tmp_path / "o.xlsx"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "fine"
