"""A classifier trained on a data set: ``--data`` with ``--loss cross-entropy``.

One output is a sigmoid with binary cross-entropy (XOR, every teacher's first classifier),
several a softmax in the stable form; every optimizer; full and mini-batches. The oracle
shares no code with ``sheetgen.maths``: each example's loss is the textbook ``-Σ t ln p`` as
one mpmath expression at 60 digits, differentiated numerically, averaged over the batch and
stepped by the published update rules (``test_optimizers.mp_optimizer``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetgen import build, verify_workbook
from sheetgen.check.verify import tolerance
from sheetgen.cli import main
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.maths.dataset import batch
from sheetgen.writer.build import build_workbook, parameters

from .support.mutation import assert_never_wrong, formula_mutations
from .test_batch_training import (
    assert_exercise_graded,
    assert_gnumeric_recalculates,
    assert_libreoffice_recalculates,
    bare_copy,
)
from .test_optimizers import mp_optimizer

XOR = "training:layers=2-2-1,examples=4,steps={steps},loss=cross-entropy"
SOFTMAX = "training:layers=2-3-2,examples=4,batch=2,steps={steps},loss=cross-entropy"
SPECS = [
    XOR.format(steps=3),
    XOR.format(steps=3) + ",batch=3,optimizer=adam",
    SOFTMAX.format(steps=2) + ",optimizer=rmsprop",
    SOFTMAX.format(steps=2).replace("2-3-2", "2-2-3") + ",batch=1,optimizer=momentum",
]


def _sizes(spec: str) -> tuple[int, ...]:
    return tuple(int(n) for n in resolve_layout(spec).settings["layers"].split("-"))


def oracle_loss(sizes: tuple[int, ...], p: dict[str, Any], m: int) -> Any:
    """Example m's loss: tanh hidden layers, then a sigmoid's ``-(t ln y + (1 - t) ln(1 - y))``
    or a softmax's ``-Σ t ln p`` (the textbook forms, not the sheet's stable one)."""
    values = [p[f"example{m}.x{i}"] for i in range(1, sizes[0] + 1)]
    for layer in range(1, len(sizes)):
        nets = [
            mpmath.fsum(values[i - 1] * p[f"w{layer}_{j}_{i}"] for i in range(1, len(values) + 1))
            + p[f"b{layer}_{j}"]
            for j in range(1, sizes[layer] + 1)
        ]
        values = [mpmath.tanh(z) for z in nets] if layer < len(sizes) - 1 else nets
    targets = [p[f"example{m}.target{j}"] for j in range(1, sizes[-1] + 1)]
    if len(values) == 1:
        y = 1 / (1 + mpmath.exp(-values[0]))
        return -(targets[0] * mpmath.log(y) + (1 - targets[0]) * mpmath.log(1 - y))
    total = mpmath.fsum(mpmath.exp(z) for z in values)
    pairs = zip(targets, values, strict=True)
    return -mpmath.fsum(t * mpmath.log(mpmath.exp(z) / total) for t, z in pairs)


def oracle_training(spec: str, params: dict[str, float]) -> list[dict[str, Any]]:
    """Every step at 60 digits: each example's loss and gradient, their means, the update."""
    lay = resolve_layout(spec)
    sizes = _sizes(spec)
    names = [q for q in lay.defaults if q[0] in "wb" and "_" in q]
    steps, examples, size = (int(lay.settings[k]) for k in ("steps", "examples", "batch"))
    optimizer = lay.settings.get("optimizer", "sgd")
    rows = []
    with mpmath.workdps(60):
        p = {k: mpmath.mpf(v) for k, v in params.items()}
        rule = mp_optimizer(optimizer, params) if optimizer != "sgd" else None
        state: dict[str, dict[str, Any]] = {q: {} for q in names}
        for k in range(1, steps + 1):
            row: dict[str, Any] = {"loss": 0}
            members = [(k - 1) * size % examples + b for b in range(size)]
            members = [m % examples + 1 for m in members]
            for m in members:
                here = dict(p)
                row[f"example{m}.loss"] = oracle_loss(sizes, here, m)
                for q in names:

                    def loss(v: Any, q: str = q, h: dict[str, Any] = here, m: int = m) -> Any:
                        return oracle_loss(sizes, h | {q: v}, m)

                    row[f"example{m}.global.{q}"] = mpmath.diff(loss, p[q])
                row["loss"] += row[f"example{m}.loss"] / size
            for q in names:
                g = mpmath.fsum(row[f"example{m}.global.{q}"] for m in members) / size
                row[f"global.{q}"] = g
                if rule is None:
                    new = p[q] - p["learning_rate"] * g
                else:
                    state[q] = rule(k, p[q], g, state[q])
                    new = state[q]["new"]
                row[f"new.{q}"] = new
            p |= {q: row[f"new.{q}"] for q in names}
            rows.append(row)
    return rows


@pytest.mark.parametrize(
    ("spec", "edits", "ceiling"),
    [
        (XOR.format(steps=6), {"learning_rate": 0.5}, 1e-8),
        (XOR.format(steps=6) + ",batch=3,optimizer=adam", {"learning_rate": 0.05}, 1e-8),
        (SOFTMAX.format(steps=5) + ",optimizer=momentum", {"example3.x1": -1.5}, 1e-8),
        (
            SOFTMAX.format(steps=4) + ",optimizer=rmsprop",
            {"example2.target1": 0.3, "example2.target2": 0.7},
            1e-6,  # RMSProp's first steps divide by the gradient's own size
        ),
    ],
)
def test_the_reference_is_the_oracles_training(
    spec: str, edits: dict[str, float], ceiling: float
) -> None:
    """Each example's loss and gradients, the means and the updates of every step, within
    the verifier's tolerance of the 60-digit oracle, and that tolerance far below a slip."""
    lay = resolve_layout(spec)
    params = dict(lay.defaults) | edits
    ref = model_for(lay.settings)(params, lay.settings)
    for k, row in enumerate(oracle_training(spec, params), start=1):
        for leaf, value in row.items():
            q, want = f"step{k}.{leaf}", float(value)
            allowed = tolerance(q, want, ref)
            assert abs(ref.values[q] - want) <= allowed, (q, ref.values[q], want)
            assert allowed <= ceiling * max(1.0, abs(want)), (q, allowed)


def test_cli_builds_the_xor_classifier_with_every_optimizer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for optimizer in ("sgd", "momentum", "rmsprop", "adam"):
        out = tmp_path / f"{optimizer}.xlsx"
        argv = ["build", "training", "--layers", "2-2-1", "--data", "xor", "--steps", "20"]
        argv += ["--loss", "cross-entropy", "--optimizer", optimizer, "-o", str(out)]
        assert main(argv) == 0, capsys.readouterr().err
        report = verify_workbook(out, variants=0)
        assert report.ok and "loss=cross-entropy" in report.spec, optimizer
        lay = resolve_layout(report.spec)
        # The network training sheet's cells: a sigmoid output's slope, its local gradient.
        assert "LN(" in (lay.by_quantity["step1.example3.loss"].formula or "")
        assert "/(" in (lay.by_quantity["step1.example3.global.n2_1.output"].formula or "")
    capsys.readouterr()


def test_a_softmax_classifier_on_a_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x1,x2,target1,target2\n0,0,1,0\n0,1,0,1\n1,0,0,1\n1,1,1,0\n")
    out = tmp_path / "s.xlsx"
    argv = ["build", "training", "--layers", "2-3-2", "--data", str(data), "--batch", "2"]
    argv += ["--loss", "cross-entropy", "--steps", "10", "-o", str(out)]
    assert main(argv) == 0
    report = verify_workbook(out, variants=0)
    assert report.ok
    lay = resolve_layout(report.spec)
    assert lay.settings["output"] == "softmax"
    max_net = lay.by_quantity["step2.example3.softmax.max"]
    assert max_net.formula is not None and max_net.formula.startswith("=MAX(")
    assert lay.by_quantity["step2.example3.global.n2_2.net"].formula == (
        f"={lay.by_quantity['step2.example3.n2_2.error'].at}"
    )
    capsys.readouterr()


@pytest.mark.parametrize(
    ("text", "layers", "said"),
    [
        ("x1,x2,target\n0,0,1\n0,1,2\n", "2-2-1", "example2.target1 is 2.0"),
        ("x1,x2,target\n0,0,-0.5\n", "2-2-1", "[0, 1]"),
        ("x1,x2,target1,target2\n0,0,1,0\n1,1,0.5,0.2\n", "2-3-2", "sum to 0.7"),
    ],
)
def test_targets_no_probability_are_one_sentence_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, layers: str, said: str
) -> None:
    data = tmp_path / "d.csv"
    data.write_text(text)
    out = tmp_path / "t.xlsx"
    argv = ["build", "training", "--layers", layers, "--data", str(data)]
    assert main([*argv, "--loss", "cross-entropy", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_learners_targets_that_are_no_probabilities_are_checked_as_they_stand(
    tmp_path: Path,
) -> None:
    for spec, target, value, said in (
        (XOR.format(steps=3), "example3.target1", 1.5, "[0, 1]"),
        (SOFTMAX.format(steps=2), "example2.target2", 0.5, "sum to 1"),
    ):
        lay = resolve_layout(spec)
        wb = openpyxl.load_workbook(build(tmp_path / "a.xlsx", spec, force=True))
        wb[lay.sheet][lay.by_quantity[target].at] = value
        wb.save(tmp_path / "b.xlsx")
        report = verify_workbook(tmp_path / "b.xlsx", variants=0)
        assert report.ok, [(c.cell, c.found, c.expected) for c in report.wrong][:5]
        assert any(said in w and "as they are" in w for w in report.warnings), report.warnings


@pytest.mark.parametrize("spec", SPECS)
def test_every_formula_off_by_one_percent_is_caught_and_named(spec: str) -> None:
    missed, noise = formula_mutations(spec)
    assert not missed and not noise


magnitudes = st.one_of(
    st.floats(-1.0, 1.0), st.floats(-20.0, 20.0), st.sampled_from([0.0, 1e-12, -40.0, 40.0])
)


@pytest.mark.parametrize("spec", SPECS)
@settings(
    max_examples=10,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_fresh_sheet_verifies_at_any_data_and_parameters(spec: str, data: st.DataObject) -> None:
    """Weights, biases and inputs up to ±40 (outputs within ulps of 0 or 1, saturated), any
    probability targets (a softmax's one-hot or a distribution), any rate: refused in one
    sentence, or never a wrong cell."""
    layout = resolve_layout(spec)
    params: dict[str, Any] = parameters(layout)
    outputs = _sizes(spec)[-1]
    for q in params:
        if q == "learning_rate":
            params[q] = data.draw(st.floats(0.0, 2.0))
        elif ".target" not in q and q not in ("beta", "beta1", "beta2", "epsilon"):
            params[q] = data.draw(magnitudes)
    for m in range(1, int(layout.settings["examples"]) + 1):
        if outputs == 1:
            target = data.draw(st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0])))
            params[f"example{m}.target1"] = target
            continue
        hot = data.draw(st.integers(1, outputs))
        share = data.draw(st.sampled_from([1.0, 0.5, 0.25]))
        for j in range(1, outputs + 1):
            params[f"example{m}.target{j}"] = (
                share if j == hot else (1.0 - share if j == hot % outputs + 1 else 0.0)
            )
    assert_never_wrong(layout, params, ("overflow", "undefined", "could not be checked"))


def test_a_saturated_example_is_unchecked_below_its_output_never_wrong(tmp_path: Path) -> None:
    """Example 4's output is 1 - 1 ulp: an application may round it to 1, and its right
    formulas then show #NUM! and #DIV/0! (simulated by an output typed as 1). Its cells below
    the output, the step's means and updates, and every later step are unchecked; the other
    examples' rows are still judged."""
    spec = XOR.format(steps=3)
    lay = resolve_layout(spec)
    edits = {"example4.x1": 30.0, "example4.x2": 30.0, "w2_1_1": -20.0, "w2_1_2": -20.0}
    # ``build`` refuses these parameters (some cells could not be checked): a learner types them.
    path = tmp_path / "a.xlsx"
    build_workbook(lay, dict(lay.defaults) | edits | {"b2_1": -3.5}).save(path)
    fresh = verify_workbook(path, variants=0)
    assert not [c for c in fresh.cells if c.status not in ("ok", "unchecked")]
    wb = openpyxl.load_workbook(path)
    out = lay.by_quantity["step1.example4.n2_1.output"]
    net = lay.by_quantity["step1.example4.n2_1.net"]
    wb[lay.sheet][out.at] = f"=1+0*{net.at}"
    wb.save(tmp_path / "b.xlsx")
    report = verify_workbook(tmp_path / "b.xlsx", variants=0)
    status = {c.quantity: c.status for c in report.cells}
    assert not [c for c in report.cells if c.status not in ("ok", "unchecked")]
    for q in ("example4.loss", "example4.global.n2_1.output", "global.b2_1", "new.w1_1_1"):
        assert status[f"step1.{q}"] == "unchecked", q
    assert status["step1.example1.global.n2_1.net"] == "ok"
    assert status["step3.example2.n1_1.net"] == "unchecked"


LO_CASES = {
    "xor_ce": (XOR.format(steps=30), {"learning_rate": 0.5}),
    "xor_ce_adam": (XOR.format(steps=20) + ",batch=3,optimizer=adam", {"learning_rate": 0.05}),
    "softmax": (SOFTMAX.format(steps=15) + ",optimizer=momentum", {"example2.x2": -1.5}),
}


@pytest.mark.libreoffice
def test_libreoffice_recalculates_to_the_reference(tmp_path: Path) -> None:
    assert_libreoffice_recalculates(tmp_path, LO_CASES)


def test_gnumeric_recalculates_to_the_reference(tmp_path: Path) -> None:
    assert_gnumeric_recalculates(tmp_path, LO_CASES)


@pytest.mark.parametrize("spec", SPECS)
def test_recognised_without_the_recorded_spec(tmp_path: Path, spec: str) -> None:
    path, lay = bare_copy(tmp_path, spec)
    report = verify_workbook(path, variants=0)
    assert report.layout == "training" and "loss=cross-entropy" in report.spec
    assert not report.wrong and len(report.cells) == len(lay.checked)


def test_exercise_graded_and_annotated(tmp_path: Path) -> None:
    """An example's d loss / d output (the sigmoid's slope of the cross-entropy) and a mean
    gradient are the exercise."""
    spec = XOR.format(steps=3) + ",batch=2"
    assert_exercise_graded(
        tmp_path, spec, ["step2.example4.global.n2_1.output", "step2.global.w2_1_2"]
    )


@pytest.mark.parametrize("spec", [SPECS[0], SPECS[2], SPECS[3]])
def test_the_tolerances_slopes_with_numpy_are_the_plain_passes(spec: str) -> None:
    """The batch's passes as arrays (``batch_passes``, the losses of ``maths.losses``) give
    the values and slopes each pass run on its own gives."""
    from sheetgen.layouts.batch_training import BatchRow, example_leaves
    from sheetgen.maths.network import learnable

    lay = resolve_layout(spec)
    sizes = _sizes(spec)
    params = dict(lay.defaults) | {"w1_1_2": 1.7, "example2.x1": -0.6, "b2_1": 3.0}
    members = batch(1, int(lay.settings["batch"]), int(lay.settings["examples"]))
    row = BatchRow(sizes, members, lay.settings["activation"], lay.settings["loss"])
    names = [n for n, _, _ in learnable(sizes)]
    softmax = lay.settings.get("output") == "softmax"
    leaves = [f"example{m}.{leaf}" for m in members for leaf in example_leaves(sizes, softmax)]
    leaves += ["loss", *(f"global.{n}" for n in names)]
    variants = [params, params | {"w2_1_1": -2.0}]
    arrays = row.many({key: np.array([v[key] for v in variants]) for key in params})
    assert arrays is not None
    for b, variant in enumerate(variants):
        alone = row(variant)
        for leaf in leaves:
            assert float(arrays[leaf][b]) == pytest.approx(alone[leaf], rel=1e-13, abs=1e-15), leaf
    assert math.isfinite(float(arrays["loss"][0]))


def test_templates_say_a_data_set_trains_a_classifier(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates"]) == 0
    out = capsys.readouterr().out
    assert "--data xor --loss cross-entropy" in out
