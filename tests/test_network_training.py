"""Training a network in the sheet: gradient descent row by row, against the network reference,
exact arithmetic, the verifier and LibreOffice."""

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
from sheetgen.cli import main
from sheetgen.errors import SheetgenError
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.maths.network import Network, learnable

SPEC = "training:layers=2-2-1,steps=30,learning_rate=0.1"
SIZES = (2, 2, 1)
PARAMS = [name for name, _, _ in learnable(SIZES)]


def _row(cell: str) -> int:
    return int(re.sub(r"[A-Z]+", "", cell))


def test_cli_builds_a_network_training_that_verifies_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "t.xlsx"
    argv = ["build", "training", "--layers", "2,2,1", "--steps", "30", "--learning-rate", "0.1"]
    assert main([*argv, "-o", str(out)]) == 0
    report = verify_workbook(out)
    assert report.layout == "training"
    assert report.ok, [c.message for c in report.wrong][:5]
    assert len(report.cells) > 500  # every step's parameters, values and gradients are checked
    assert sum(c.quantity.endswith(".loss") for c in report.cells) == 30
    # every weight and bias, its gradient and its update, on every step
    for k, p in itertools.product((1, 30), PARAMS):
        for q in (f"step{k}.{p}", f"step{k}.global.{p}", f"step{k}.new.{p}"):
            assert q in {c.quantity for c in report.cells}
    assert main(["verify", str(out)]) == 0
    capsys.readouterr()


def test_without_layers_the_one_neuron_training_is_unchanged() -> None:
    lay = resolve_layout("training:steps=30")
    assert "layers" not in lay.settings and "step30.global.weight" in lay.by_quantity


def test_step_one_gradients_are_the_network_references() -> None:
    """Step 1 backpropagates the start parameters exactly as the network sheet's model does,
    and both agree with the loss's slope measured by central differences."""
    lay = resolve_layout(SPEC)
    params = dict(lay.defaults)
    ref = model_for(lay.settings)(params, lay.settings)
    net = Network(SIZES, params)
    grads = net.gradients()
    h = 1e-6
    for p in PARAMS:
        assert ref.values[f"step1.global.{p}"] == grads[f"global.{p}"]
        up = Network(SIZES, params | {p: params[p] + h}).forward()["loss"]
        down = Network(SIZES, params | {p: params[p] - h}).forward()["loss"]
        assert ref.values[f"step1.global.{p}"] == pytest.approx((up - down) / (2 * h), abs=1e-8)
        want = params[p] - params["learning_rate"] * grads[f"global.{p}"]
        assert ref.values[f"step1.new.{p}"] == want
        assert ref.values[f"step2.{p}"] == want
    assert ref.values["step1.loss"] == net.forward()["loss"]


def test_thirty_steps_lower_the_loss() -> None:
    lay = resolve_layout(SPEC)
    ref = model_for(lay.settings)(dict(lay.defaults), lay.settings)
    losses = [ref.values[f"step{k}.loss"] for k in range(1, 31)]
    assert all(b < a for a, b in itertools.pairwise(losses))
    assert losses[-1] < losses[0] / 10


def exact_training(params: dict[str, float], steps: int) -> list[dict[str, mpmath.mpf]]:
    """A 2-2-1 tanh network with loss (out - target)^2 / 2 trained at 60 digits, from the
    maths alone: d loss/d net2 = (o - t)(1 - o^2), d loss/d net1_j = w2_1_j d2 (1 - h_j^2)."""
    rows = []
    with mpmath.workdps(60):
        p = {k: mpmath.mpf(v) for k, v in params.items()}
        x, t, lr = (p["x1"], p["x2"]), p["target1"], p["learning_rate"]
        for _ in range(steps):
            h = [
                mpmath.tanh(x[0] * p[f"w1_{j}_1"] + x[1] * p[f"w1_{j}_2"] + p[f"b1_{j}"])
                for j in (1, 2)
            ]
            o = mpmath.tanh(h[0] * p["w2_1_1"] + h[1] * p["w2_1_2"] + p["b2_1"])
            d2 = (o - t) * (1 - o**2)
            grad = {"w2_1_1": d2 * h[0], "w2_1_2": d2 * h[1], "b2_1": d2}
            for j in (1, 2):
                d1 = p[f"w2_1_{j}"] * d2 * (1 - h[j - 1] ** 2)
                grad |= {f"w1_{j}_1": d1 * x[0], f"w1_{j}_2": d1 * x[1], f"b1_{j}": d1}
            row = {"loss": (o - t) ** 2 / 2} | {f"global.{k}": v for k, v in grad.items()}
            p |= {k: p[k] - lr * grad[k] for k in grad}
            rows.append(row | {f"new.{k}": p[k] for k in grad})
    return rows


@pytest.mark.parametrize(
    ("edits", "ceiling"),
    [
        ({}, 1e-8),
        # A large rate bounces the parameters about for the first steps: each of those steps
        # can enlarge an earlier rounding error, and the tolerance grows with them (but stays
        # below a millionth, the slip a learner's wrong factor makes).
        ({"learning_rate": 1.5, "w2_1_1": -1.3, "x1": 1.8}, 1e-6),
    ],
)
def test_reference_stays_within_its_tolerance_of_exact_arithmetic(
    edits: dict[str, float], ceiling: float
) -> None:
    """The tolerance that grows with the steps really bounds the float run's drift, and stays
    far below a formula slip."""
    steps = 100
    lay = resolve_layout(f"training:layers=2-2-1,steps={steps}")
    params = dict(lay.defaults) | edits
    ref = model_for(lay.settings)(params, lay.settings)
    for k, exact in enumerate(exact_training(params, steps), start=1):
        for leaf, value in exact.items():
            q, want = f"step{k}.{leaf}", float(value)
            allowed = tolerance(q, want, ref)
            assert abs(ref.values[q] - want) <= allowed, q
            assert allowed <= ceiling * max(1.0, abs(want)), q


def test_a_sign_flipped_late_in_the_training_is_named(tmp_path: Path) -> None:
    path = build(tmp_path / "t.xlsx", SPEC)
    lay = resolve_layout(SPEC)
    broken = lay.by_quantity["step25.new.w1_2_1"]
    wb = openpyxl.load_workbook(path)
    wb[lay.sheet][broken.at] = (broken.formula or "").replace("-", "+")  # ascend, not descend
    wb.save(path)
    report = verify_workbook(path)
    wrong = {c.cell: c for c in report.wrong}
    assert broken.at in wrong and wrong[broken.at].quantity == "step25.new.w1_2_1"
    assert min(_row(cell) for cell in wrong) == _row(broken.at)  # nothing earlier is blamed
    assert lay.by_quantity["step30.loss"].at in wrong  # and what it feeds is wrong


def test_loss_chart_references_the_loss_column(tmp_path: Path) -> None:
    path = build(tmp_path / "t.xlsx", SPEC)
    lay = resolve_layout(SPEC)
    first, last = lay.by_quantity["step1.loss"].at, lay.by_quantity["step30.loss"].at
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        assert len(charts) == 1
        xml = z.read(charts[0]).decode()
    assert re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", f"{first}:{last}") in xml


@pytest.mark.parametrize(
    "spec",
    [
        "training:layers=2-x",
        "training:layers=2-2-1,steps=0",
        "training:layers=2-2-1,rate=1",
        "training:layers=2-2-1,activation=cosh",
        "training:layers=50-50-50,steps=1000",  # far too many cells
    ],
)
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(SheetgenError):
        resolve_layout(spec)


# LibreOffice recalculates a network training (default, and edited by a learner) in
# tests/test_network_libreoffice.py, in the same LibreOffice run as the other generated sheets.
