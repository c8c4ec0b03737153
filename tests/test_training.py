"""The training sheet: gradient descent row by row, against exact arithmetic and as a workbook."""

from __future__ import annotations

import itertools
import re
import zipfile
from pathlib import Path

import mpmath
import openpyxl
import pytest

from sheetgen import build, verify_workbook
from sheetgen.check.verify import tolerance
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.training import training_model

START = {"input": 0.4, "target": 0.7, "weight": 0.5, "bias": 0.6}


def exact_training(p: dict[str, float], steps: int) -> list[dict[str, mpmath.mpf]]:
    """Gradient descent on tanh(input*w+b) with loss (out-target)^2/2, at 60 digits.

    Written from the maths alone: d loss/d w = (out - target)(1 - out^2) input.
    """
    rows = []
    with mpmath.workdps(60):
        x, t, lr = (mpmath.mpf(p[k]) for k in ("input", "target", "learning_rate"))
        w, b = mpmath.mpf(p["weight"]), mpmath.mpf(p["bias"])
        for _ in range(steps):
            out = mpmath.tanh(x * w + b)
            slope = (out - t) * (1 - out**2)
            row = {"weight": w, "bias": b, "loss": (out - t) ** 2 / 2, "global.weight": slope * x}
            w, b = w - lr * slope * x, b - lr * slope
            row |= {"new.weight": w, "new.bias": b}
            rows.append(row)
    return rows


@pytest.mark.parametrize(
    "start",
    [
        START | {"learning_rate": 0.1},
        START | {"learning_rate": 2.0},
        START | {"weight": -2.5, "bias": 1.7, "input": 1.9, "learning_rate": 0.7},
    ],
)
def test_reference_training_stays_within_its_tolerance_of_exact_arithmetic(
    start: dict[str, float],
) -> None:
    """The tolerance that grows with the steps really bounds the float run's drift."""
    steps = 200
    ref = training_model(start, {"steps": str(steps)})
    for k, exact in enumerate(exact_training(start, steps), start=1):
        for leaf, value in exact.items():
            q = f"step{k}.{leaf}"
            want = float(value)
            allowed = tolerance(q, want, ref)
            assert abs(ref.values[q] - want) <= allowed, q
            assert allowed <= 1e-8 * max(1.0, abs(want)), q  # still far below any formula slip


def test_default_training_lowers_the_loss() -> None:
    ref = training_model(START | {"learning_rate": 0.1}, {"steps": "50"})
    losses = [ref.values[f"step{k}.loss"] for k in range(1, 51)]
    assert all(b < a for a, b in itertools.pairwise(losses))


@pytest.mark.parametrize("steps", [1, 50, 200])
def test_built_training_verifies_clean(tmp_path: Path, steps: int) -> None:
    path = build(tmp_path / "t.xlsx", f"training:steps={steps},learning_rate=0.1")
    report = verify_workbook(path)
    assert report.layout == "training"
    assert report.ok, [c.message for c in report.wrong][:5]
    assert sum(c.quantity.endswith(".loss") for c in report.cells) == steps


def test_loss_chart_references_the_loss_column(tmp_path: Path) -> None:
    path = build(tmp_path / "t.xlsx", "training:steps=30")
    lay = resolve_layout("training:steps=30")
    first, last = lay.by_quantity["step1.loss"].at, lay.by_quantity["step30.loss"].at
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        assert len(charts) == 1
        xml = z.read(charts[0]).decode()
    assert "scatterChart" in xml  # loss against the step number
    absolute = re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", f"{first}:{last}")
    assert absolute in xml


def test_learner_edits_rerun_the_training(tmp_path: Path) -> None:
    """Change the learning rate and the start weight in the file: it still verifies, and the
    verifier's numbers are those of the new training (the reference reads the sheet)."""
    path = build(tmp_path / "t.xlsx", "training:steps=20")
    lay = resolve_layout("training:steps=20")
    wb = openpyxl.load_workbook(path)
    wb.active[lay.by_quantity["learning_rate"].at] = 1.5
    wb.active[lay.by_quantity["weight"].at] = -0.8
    wb.save(path)
    report = verify_workbook(path)
    assert report.ok
    final = {c.quantity: c.expected for c in report.cells}
    exact = exact_training(START | {"weight": -0.8, "learning_rate": 1.5}, 20)
    assert final["step20.new.weight"] == pytest.approx(float(exact[-1]["new.weight"]), rel=1e-12)


def test_formula_broken_late_in_the_training_is_named(tmp_path: Path) -> None:
    steps = 200
    path = build(tmp_path / "t.xlsx", f"training:steps={steps}")
    lay = resolve_layout(f"training:steps={steps}")
    broken = lay.by_quantity["step187.new.bias"]
    wb = openpyxl.load_workbook(path)
    wb.active[broken.at] = (broken.formula or "").replace("-", "+")  # ascend instead of descend
    wb.save(path)
    report = verify_workbook(path)
    wrong = {c.cell: c for c in report.wrong}
    assert broken.at in wrong and wrong[broken.at].quantity == "step187.new.bias"
    rows = [int(re.sub(r"[A-Z]+", "", cell)) for cell in wrong]
    assert min(rows) == int(re.sub(r"[A-Z]+", "", broken.at))  # nothing before it is blamed
    assert lay.by_quantity["step200.loss"].at in wrong  # and what it feeds is wrong


def test_a_subtle_late_slip_is_still_beyond_the_tolerance(tmp_path: Path) -> None:
    """Even at step 199, where gradients are small, a wrong chain-rule factor is caught."""
    path = build(tmp_path / "t.xlsx", "training:steps=200")
    lay = resolve_layout("training:steps=200")
    cell = lay.by_quantity["step199.global.weight"]
    wb = openpyxl.load_workbook(path)
    wb.active[cell.at] = (cell.formula or "") + "*1.000001"
    wb.save(path)
    assert cell.at in {c.cell for c in verify_workbook(path).wrong}


@pytest.mark.parametrize("spec", ["training:steps=0", "training:steps=x", "training:rate=1"])
def test_bad_specs_are_refused(spec: str) -> None:
    from sheetgen.errors import SheetgenError

    with pytest.raises(SheetgenError):
        resolve_layout(spec)
