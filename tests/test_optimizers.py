"""Training sheets stepped by momentum, RMSProp and Adam: against the published algorithms
written apart at 60 digits, as workbooks (verify, mutations, any parameters, recognition,
exercises, grading, annotation) and in LibreOffice and Gnumeric."""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mpmath
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetgen import annotate, build, build_exercise, grade_class, verify_workbook
from sheetgen.check.judge import REL
from sheetgen.check.verify import tolerance
from sheetgen.cli import main
from sheetgen.errors import SheetgenError, UsageError
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.layouts.optimized import UNCHECKABLE
from sheetgen.maths import optimizers
from sheetgen.maths.optimizers import ONE_STEP_REL
from sheetgen.writer.build import parameters

from .support.mutation import assert_never_wrong, formula_mutations

OPTIMIZERS = ("momentum", "rmsprop", "adam")
NEURON = "training:steps=3,optimizer={}"
NETWORK = "training:layers=2-2-1,steps=2,optimizer={}"
SPECS = [f.format(o) for f in (NEURON, NETWORK) for o in OPTIMIZERS]

Grad = Callable[[dict[str, Any]], tuple[Any, dict[str, Any]]]


def mp_optimizer(name: str, hyper: dict[str, float]) -> Callable[..., dict[str, Any]]:
    """The published update rules, at whatever precision mpmath holds: one parameter's step."""
    h = {k: mpmath.mpf(v) for k, v in hyper.items()}

    def momentum(k: int, p: Any, g: Any, s: dict[str, Any]) -> dict[str, Any]:
        v = h["beta"] * s.get("velocity", 0) + g
        return {"velocity": v, "new": p - h["learning_rate"] * v}

    def rmsprop(k: int, p: Any, g: Any, s: dict[str, Any]) -> dict[str, Any]:
        ms = h["beta"] * s.get("mean_square", 0) + (1 - h["beta"]) * g**2
        new = p - h["learning_rate"] * g / (mpmath.sqrt(ms) + h["epsilon"])
        return {"mean_square": ms, "new": new}

    def adam(k: int, p: Any, g: Any, s: dict[str, Any]) -> dict[str, Any]:
        m = h["beta1"] * s.get("moment1", 0) + (1 - h["beta1"]) * g
        v = h["beta2"] * s.get("moment2", 0) + (1 - h["beta2"]) * g**2
        m_hat, v_hat = m / (1 - h["beta1"] ** k), v / (1 - h["beta2"] ** k)
        new = p - h["learning_rate"] * m_hat / (mpmath.sqrt(v_hat) + h["epsilon"])
        return {"moment1": m, "moment2": v, "corrected1": m_hat, "corrected2": v_hat, "new": new}

    return {"momentum": momentum, "rmsprop": rmsprop, "adam": adam}[name]


def neuron_gradient(p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """tanh(input w + b), loss (out - target)^2 / 2: its loss and d loss / d w, d b."""
    out = mpmath.tanh(p["input"] * p["weight"] + p["bias"])
    slope = (out - p["target"]) * (1 - out**2)
    return (out - p["target"]) ** 2 / 2, {"weight": slope * p["input"], "bias": slope}


def network_gradient(p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A 2-2-1 tanh network, loss (o - t)^2 / 2, by the chain rule written out."""
    x = (p["x1"], p["x2"])
    hidden = [
        mpmath.tanh(x[0] * p[f"w1_{j}_1"] + x[1] * p[f"w1_{j}_2"] + p[f"b1_{j}"]) for j in (1, 2)
    ]
    o = mpmath.tanh(hidden[0] * p["w2_1_1"] + hidden[1] * p["w2_1_2"] + p["b2_1"])
    d2 = (o - p["target1"]) * (1 - o**2)
    grad = {"w2_1_1": d2 * hidden[0], "w2_1_2": d2 * hidden[1], "b2_1": d2}
    for j in (1, 2):
        d1 = p[f"w2_1_{j}"] * d2 * (1 - hidden[j - 1] ** 2)
        grad |= {f"w1_{j}_1": d1 * x[0], f"w1_{j}_2": d1 * x[1], f"b1_{j}": d1}
    return (o - p["target1"]) ** 2 / 2, grad


def exact_run(
    params: dict[str, float], name: str, steps: int, gradient: Grad
) -> list[dict[str, Any]]:
    """Every step's loss, gradients, optimizer state and update, at 60 digits."""
    rows = []
    with mpmath.workdps(60):
        p = {k: mpmath.mpf(v) for k, v in params.items()}
        update = mp_optimizer(name, params)
        state: dict[str, dict[str, Any]] = {}
        for k in range(1, steps + 1):
            loss, grad = gradient(p)
            row: dict[str, Any] = {"loss": loss}
            for q, g in grad.items():
                out = update(k, p[q], g, state.get(q, {}))
                state[q] = out
                row[f"global.{q}"] = g
                row |= {f"{leaf}.{q}": v for leaf, v in out.items()}
            p |= {q: state[q]["new"] for q in grad}
            rows.append(row)
    return rows


def test_one_step_allowance_is_the_verifiers() -> None:
    assert ONE_STEP_REL == REL


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize(
    ("spec", "gradient", "edits"),
    [
        ("training:steps=200", neuron_gradient, {}),
        ("training:steps=200", neuron_gradient, {"learning_rate": 0.01}),
        ("training:steps=200", neuron_gradient, {"learning_rate": 0.05, "weight": -2.0}),
        ("training:layers=2-2-1,steps=100", network_gradient, {}),
        ("training:layers=2-2-1,steps=100", network_gradient, {"learning_rate": 0.01}),
    ],
)
def test_reference_stays_within_its_tolerance_of_exact_arithmetic(
    name: str, spec: str, gradient: Grad, edits: dict[str, float]
) -> None:
    """The derived tolerance bounds the float run's drift from the exact one, wherever it
    runs, and a cell it judges is judged far below a formula slip (the others, where rounding
    may carry as far as a slip, are left unchecked: see ``sheetgen.check.judge``)."""
    lay = resolve_layout(f"{spec},optimizer={name}")
    params = dict(lay.defaults) | edits
    ref = model_for(lay.settings)(params, lay.settings)
    steps = int(lay.settings["steps"])
    judged = 0
    for k, exact in enumerate(exact_run(params, name, steps, gradient), start=1):
        for leaf, value in exact.items():
            q, want = f"step{k}.{leaf}", float(value)
            allowed = tolerance(q, want, ref)
            assert abs(ref.values[q] - want) <= allowed, (q, ref.values[q], want, allowed)
            judged += math.isfinite(allowed)
            assert not allowed > UNCHECKABLE * max(1.0, abs(want)) or math.isinf(allowed)
    assert judged > steps


def test_a_run_whose_gradients_fall_to_rounding_noise_is_left_unchecked_there(
    tmp_path: Path,
) -> None:
    """RMSProp at a small rate reaches the minimum, its gradients fall to rounding noise, and
    dividing the noise by its own root makes the last digits chaos: the float run leaves the
    exact one by 1e-3. Those cells are unchecked, never judged; the early ones are judged."""
    spec = "training:steps=100,optimizer=rmsprop"
    with pytest.raises(UsageError, match="from step 48 on"):  # never built so
        build(tmp_path / "t.xlsx", f"{spec},learning_rate=0.01")
    path = build(tmp_path / "t.xlsx", spec)  # at RMSProp's own rate, 0.001
    lay = resolve_layout(spec)
    wb = openpyxl.load_workbook(path)
    wb[lay.sheet][lay.by_quantity["learning_rate"].at] = 0.01  # a learner's edit
    wb.save(path)
    report = verify_workbook(path, variants=0)
    status = {c.quantity: c.status for c in report.cells}
    assert status["step5.new.weight"] == "ok" and status["step100.new.weight"] == "unchecked"
    assert set(status.values()) == {"ok", "unchecked"}


@pytest.mark.parametrize(
    "edits",
    [
        {"learning_rate": 1e6},  # the run overflows its rounding: chaos from step 13 on
        {"beta2": 1.0},  # Adam's bias correction divides 0 by 0: the value is undefined
        {"learning_rate": 1e6, "step2.new.weight": "={input}+{learning_rate}"},  # and a slip
    ],
    ids=["chaos", "undefined", "chaos-and-a-slip"],
)
def test_cells_no_number_could_be_judged_at_are_not_checked_never_wrong(
    tmp_path: Path, edits: dict[str, Any]
) -> None:
    """A learner's settings that leave cells uncheckable (their rounding could hide a slip, or
    their value is undefined) make nothing wrong: exit 3, NOT FULLY CHECKED, those cells never
    roots, never scored, never "should be nan"; a real slip beside them is still the root."""
    from sheetgen.report.render import summary

    spec = "training:steps=30,optimizer=adam"
    lay = resolve_layout(spec)
    at = {q: c.at for q, c in lay.by_quantity.items()}
    path = build(tmp_path / "t.xlsx", spec)
    wb = openpyxl.load_workbook(path)
    for q, v in edits.items():
        wb[lay.sheet][at[q]] = v.format(**at) if isinstance(v, str) else v
    wb.save(path)
    report = verify_workbook(path, variants=0)
    uncheckable = [c for c in report.cells if c.status == "unchecked"]
    assert uncheckable and all(not c.checked and not c.scored for c in uncheckable)
    assert not any(c.causes for c in uncheckable)
    assert not any("nan" in f"{c.message} {c.explanation}" for c in report.cells)
    assert not any("usable number" in c.explanation for c in report.cells)
    assert all(c.status != "unchecked" for c in report.roots)
    line = summary(report)
    assert "not checkable with these parameters" in line
    if "step2.new.weight" in edits:
        assert report.exit_code == 1 and line.startswith("FAILED")
        assert [c.cell for c in report.roots] == [at["step2.new.weight"]]
        assert f"fix first: {at['step2.new.weight']};" in line
    else:
        assert report.exit_code == 3 and line.startswith("NOT FULLY CHECKED")
        assert not report.roots and not report.attention and "fix first" not in line


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_cli_flags_build_a_sheet_that_verifies_clean(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "t.xlsx"
    flags = {"momentum": ["--beta", "0.8"], "rmsprop": ["--beta", "0.95", "--epsilon", "1e-6"]}
    argv = ["build", "training", "--layers", "2,2,1", "--steps", "20", "--optimizer", name]
    assert main([*argv, *flags.get(name, ["--beta2", "0.99"]), "-o", str(out)]) == 0
    report = verify_workbook(out)
    assert report.ok, [c.message for c in report.wrong][:5]
    assert f",optimizer={name}," in report.spec
    state = {"momentum": "velocity", "rmsprop": "mean_square", "adam": "corrected2"}[name]
    assert f"step20.{state}.w1_2_1" in {c.quantity for c in report.cells}
    assert main(["verify", str(out)]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    "argv",
    [
        ["--optimizer", "adam", "--beta", "0.9"],  # adam reads beta1 and beta2
        ["--optimizer", "momentum", "--beta", "1"],
        ["--optimizer", "rmsprop", "--epsilon", "0"],
        ["--beta1", "0.9"],  # gradient descent has no settings
    ],
)
def test_settings_an_optimizer_does_not_take_are_refused(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", "training", *argv, "-o", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("spec", ["training:steps=50", "training:layers=2-2-1"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizers_default_sheet_verifies_every_cell(
    tmp_path: Path, spec: str, name: str
) -> None:
    report = verify_workbook(build(tmp_path / "t.xlsx", f"{spec},optimizer={name}"), variants=0)
    assert report.ok and len(report.cells) > 500


def test_sgd_is_the_gradient_descent_sheet_unchanged() -> None:
    plain = resolve_layout("training:steps=5")
    assert resolve_layout("training:steps=5,optimizer=sgd").spec == plain.spec
    assert "optimizer" not in plain.spec


def test_adam_state_is_labelled_and_bias_corrected() -> None:
    lay = resolve_layout("training:steps=3,optimizer=adam")
    headers = {c.text for c in lay if c.kind == "text"}
    for header in ("Weight first moment", "Bias corrected second moment", "Beta2", "Epsilon"):
        assert header in headers
    formula = lay.by_quantity["step3.corrected1.weight"].formula or ""
    assert "^" in formula and lay.by_quantity["step3.number"].at in formula


@pytest.mark.parametrize("spec", SPECS)
def test_every_formula_off_by_one_percent_is_caught_and_named(spec: str) -> None:
    missed, noise = formula_mutations(spec)
    assert not missed and not noise


magnitudes = st.one_of(
    st.floats(-1.0, 1.0), st.floats(-30.0, 30.0), st.sampled_from([0.0, 1e-12, -1e-12, 1.0])
)


@pytest.mark.parametrize("spec", SPECS)
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_fresh_sheet_verifies_at_any_parameters(spec: str, data: st.DataObject) -> None:
    layout = resolve_layout(spec)
    params: dict[str, Any] = parameters(layout)
    for q in params:
        if q == "learning_rate":
            params[q] = data.draw(st.floats(0.0, 1.0))
        elif q.startswith("beta"):
            params[q] = data.draw(st.sampled_from([0.0, 0.5, 0.9, 0.999, 0.9999]))
        elif q == "epsilon":
            params[q] = 10.0 ** data.draw(st.floats(-12.0, 0.0))
        else:
            params[q] = data.draw(magnitudes)
    # Refused in one sentence (it overflows, or turns to chaos), or no wrong cell. Unchecked
    # is no verdict: where a gradient's allowed rounding is not small beside epsilon, no sheet
    # could be told right from wrong (sheetgen.check.judge).
    assert_never_wrong(layout, params, ("overflow", "could not be checked"))


@pytest.mark.parametrize("spec", SPECS)
def test_recognised_without_the_recorded_spec(tmp_path: Path, spec: str) -> None:
    path = build(tmp_path / "t.xlsx", spec)
    wb = openpyxl.load_workbook(path)
    for name in [n for n, d in wb.defined_names.items() if "!" not in str(d.attr_text)]:
        del wb.defined_names[name]
    lay = resolve_layout(spec)
    wb[lay.sheet][lay.by_quantity["beta1" if "adam" in spec else "beta"].at] = 0.5
    wb.save(tmp_path / "bare.xlsx")
    report = verify_workbook(tmp_path / "bare.xlsx", variants=0)
    assert report.ok and report.layout == "training"
    assert f"optimizer={spec.rsplit('=', 1)[1]}" in report.spec
    assert len(report.cells) == len(lay.checked)


@pytest.mark.parametrize("spec", [NEURON.format("adam"), NETWORK.format("momentum")])
def test_exercise_graded_and_annotated(tmp_path: Path, spec: str) -> None:
    """The first step is the exercise; filled in right it verifies, and a slip in the
    optimizer's state is graded down and annotated at its cell."""
    lay = resolve_layout(spec)
    state = lay.by_quantity["step2." + ("moment2.weight" if "adam" in spec else "velocity.b2_1")]
    update = lay.by_quantity["step1.new." + ("bias" if "adam" in spec else "b2_1")]
    blanks = f"{state.at},{update.at}"
    ex = build_exercise(tmp_path / "ex.xlsx", spec, blanks=blanks)
    todo = verify_workbook(ex, variants=0)
    assert {c.cell for c in todo.todo} == set(blanks.split(","))
    right, wrong = tmp_path / "right.xlsx", tmp_path / "wrong.xlsx"
    for out, slip in ((right, ""), (wrong, "*1.01")):
        wb = openpyxl.load_workbook(ex)
        for c in lay.checked:
            if c.at in blanks.split(","):
                wb[lay.sheet][c.at] = f"=({(c.formula or '')[1:]}){slip}"
        wb.save(out)
    assert verify_workbook(right, variants=0).ok
    report = verify_workbook(wrong, variants=0)
    assert state.at in {c.cell for c in report.roots}
    graded = {Path(g.path).name: g for g in grade_class([right, wrong]).graded}
    right_report, wrong_report = graded["right.xlsx"].report, graded["wrong.xlsx"].report
    assert right_report is not None and wrong_report is not None, graded
    assert right_report.ok and not wrong_report.ok
    marked = annotate(report, tmp_path / "marked.xlsx")
    note = openpyxl.load_workbook(marked)[lay.sheet][state.at].comment
    assert note is not None and state.at in note.text


@pytest.mark.parametrize(
    ("spec", "edits"),
    [
        ("training:steps=4,optimizer=adam", {"epsilon": 0.0, "input": 0.0}),  # 0 / 0
        ("training:steps=4,optimizer=adam", {"beta1": 1.0}),  # a bias correction of 0
        ("training:steps=4,optimizer=rmsprop", {"beta": 1.5}),  # a negative mean square
        ("training:layers=2-2-1,steps=2,optimizer=momentum", {"beta": 1e300}),
    ],
)
def test_settings_no_spreadsheet_can_compute_are_said_plainly(
    tmp_path: Path, spec: str, edits: dict[str, float], capsys: pytest.CaptureFixture[str]
) -> None:
    """A learner's setting that makes the sheet show #DIV/0! or #NUM!: the reference answers
    NaN, as the sheet's error, and verify names the cells it cannot check, without a
    traceback: nothing is wrong, not everything is checked (exit 3), no "should be nan"."""
    lay = resolve_layout(spec)
    path = build(tmp_path / "t.xlsx", spec)
    wb = openpyxl.load_workbook(path)
    for q, v in edits.items():
        wb[lay.sheet][lay.by_quantity[q].at] = v
    wb.save(path)
    assert main(["verify", str(path)]) == 3
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "step 2" in out.out
    assert "NOT FULLY CHECKED" in out.out and "nan;" not in out.out and "be nan" not in out.out
    assert "not checkable with these parameters (the value is undefined there" in out.out


def test_an_exercise_leaves_the_first_steps_state_blank_by_default(tmp_path: Path) -> None:
    ex = build_exercise(tmp_path / "ex.xlsx", "training:steps=4,optimizer=adam")
    todo = {c.quantity for c in verify_workbook(ex, variants=0).todo}
    assert {"step1.moment1.weight", "step1.corrected2.bias", "step1.new.weight"} <= todo
    assert all(q.startswith("step1.") for q in todo)


def test_other_parameters_for_adam_are_drawn_alike_in_every_process() -> None:
    """``verify``'s re-evaluation under other parameters draws Adam's two betas in one order:
    a report (which names the parameters it tried) does not depend on the strings' hashes,
    which differ from one Python process to the next."""
    import sys

    code = (
        "import random\n"
        "from sheetgen.maths.domain import in_domain\n"
        "drawn = {'beta2': 0.5, 'beta1': 0.5, 'beta': 0.5, 'epsilon': -1e-8}\n"
        "print(in_domain({}, {'beta1': 0.9, 'beta2': 0.999}, drawn, random.Random(7)))\n"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(6)
    }
    assert len(seen) == 1, seen


def test_learners_get_their_own_data_and_the_teachers_optimizer_settings() -> None:
    from sheetgen.teacher.exercise import random_parameters

    lay = resolve_layout("training:steps=20,optimizer=adam,beta2=0.99")
    drawn = [random_parameters(lay, seed) for seed in range(20)]
    assert all(d["beta1"] == 0.9 and d["beta2"] == 0.99 and d["epsilon"] == 1e-8 for d in drawn)
    assert len({d["weight"] for d in drawn}) > 5


@pytest.mark.libreoffice
def test_libreoffice_recalculates_to_the_reference(tmp_path: Path) -> None:
    """LibreOffice re-runs every optimizer's training, a learner's edits included."""
    from .support.libreoffice import recalculate_many

    cases = {
        "adam": ("training:steps=60,optimizer=adam", {"beta2": 0.99, "weight": -1.2}),
        "rms": ("training:steps=40,optimizer=rmsprop", {"epsilon": 1e-3}),
        "netmom": ("training:layers=2-2-1,steps=30,optimizer=momentum", {"beta": 0.5}),
        "netadam": ("training:layers=2-2-1,steps=30,optimizer=adam", {"learning_rate": 0.02}),
    }
    built = []
    for key, (spec, edits) in cases.items():
        built.append(build(tmp_path / f"{key}.xlsx", spec, **edits))  # type: ignore[arg-type]
    (tmp_path / "lo").mkdir()
    for path in recalculate_many(built, tmp_path / "lo"):
        assert_recalculated_to_reference(path, *cases[path.stem])


def assert_recalculated_to_reference(path: Path, spec: str, edits: dict[str, float]) -> None:
    """Every checked cell an application saved in ``path`` is the reference's for ``spec``
    with ``edits``, within the verifier's tolerance, and the file verifies."""
    lay = resolve_layout(spec)
    ref = model_for(lay.settings)(dict(lay.defaults) | edits, lay.settings)
    ws = openpyxl.load_workbook(path, data_only=True)[lay.sheet]
    bad = [
        (c.at, c.quantity, ws[c.at].value, ref.values[c.quantity or ""])
        for c in lay.checked
        if not isinstance(got := ws[c.at].value, int | float)
        or abs(got - ref.values[c.quantity or ""])
        > tolerance(c.quantity or "", ref.values[c.quantity or ""], ref)
    ]
    assert not bad, (path.stem, bad[:5])
    assert verify_workbook(path, variants=0).ok


def test_gnumeric_recalculates_to_the_reference(tmp_path: Path) -> None:
    from .test_interop import assert_agrees, needs

    ssconvert = shutil.which("ssconvert")
    needs("Gnumeric's ssconvert (apt install gnumeric)", ssconvert)
    assert ssconvert is not None
    for spec in SPECS:
        path = build(tmp_path / "t.xlsx", spec, force=True)
        out = tmp_path / "gnumeric.xlsx"
        argv = [ssconvert, "--recalc", str(path), str(out)]
        subprocess.run(argv, capture_output=True, timeout=300, check=True)
        assert_agrees(path, out, f"Gnumeric ({spec})")
        out.unlink()


@pytest.mark.parametrize("spec", ["training:optimizer=nesterov", "training:optimizer=adam,beta2=1"])
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(SheetgenError):
        resolve_layout(spec)


def test_adam_is_not_fooled_by_a_vanishing_gradient() -> None:
    """Where the gradient is far below epsilon, Adam's update divides the gradient's rounding
    by about epsilon: the tolerance says so, and still a 1 % slip is far beyond it."""
    lay = resolve_layout("training:steps=3,optimizer=adam,epsilon=1e-08")
    params = dict(lay.defaults) | {"target": math.tanh(0.4 * 0.5 + 0.6) + 1e-12}
    ref = model_for(lay.settings)(params, lay.settings)
    q = "step1.new.weight"
    gradient = tolerance("step1.global.weight", ref.values["step1.global.weight"], ref)
    allowed = tolerance(q, ref.values[q], ref)
    assert allowed > params["learning_rate"] * gradient / params["epsilon"]
    assert allowed < 1e-4 * abs(ref.values[q])


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", ["rmsprop", "adam"])
def test_libreoffice_ods_and_xlsm_verify_as_its_xlsx(tmp_path: Path, name: str) -> None:
    """Saved by LibreOffice as .ods (SQRT and ^ in OpenFormula) and .xlsm: the same report."""
    from sheetgen.report.render import to_json

    from .support import libreoffice as lo

    source = build(tmp_path / "built.xlsx", f"training:layers=2-2-1,steps=3,optimizer={name}")
    reports = []
    for suffix in (".xlsx", ".ods", ".xlsm"):
        saved = tmp_path / f"saved{suffix}"
        lo.recalculate(source, saved)
        report = verify_workbook(saved)
        assert report.ok, (suffix, [c.message for c in report.wrong][:3])
        data = to_json(report).replace(str(saved), "FILE")
        reports.append(data)
    assert reports[0] == reports[1] == reports[2]


@pytest.mark.parametrize("spec", [NEURON.format("adam"), NETWORK.format("rmsprop")])
def test_a_moved_table_without_its_spec_is_found_and_mistakes_named_where_they_are(
    tmp_path: Path, spec: str
) -> None:
    from .test_learner_edits import moved_copy, shifted

    built = build(tmp_path / "built.xlsx", spec)
    bare = moved_copy(built, tmp_path / "bare.xlsx", 3, 2, strip=True)
    report = verify_workbook(bare, variants=0)
    assert report.ok and "optimizer=" in report.spec
    lay = resolve_layout(spec)
    state = lay.by_quantity["step2.moment2.weight" if "adam" in spec else "step2.mean_square.b2_1"]
    wb = openpyxl.load_workbook(bare)
    now = shifted(state.at, 3, 2)
    wb.worksheets[0][now] = f"=({wb.worksheets[0][now].value[1:]})*2"
    wb.save(tmp_path / "wrong.xlsx")
    wrong = verify_workbook(tmp_path / "wrong.xlsx", variants=0)
    assert now in {c.cell for c in wrong.roots}


@pytest.mark.parametrize("name", OPTIMIZERS)
@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    p=st.floats(-30.0, 30.0),
    g=st.one_of(st.floats(-10.0, 10.0), st.sampled_from([0.0, 1e-12, -3e-9, 1e-300])),
    before=st.floats(0.0, 10.0),
    k=st.integers(1, 300),
    beta=st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.999, 0.9999]),
    epsilon=st.sampled_from([1e-12, 1e-8, 1e-3, 1.0]),
)
def test_one_steps_rounding_is_within_its_bound(
    name: str, p: float, g: float, before: float, k: int, beta: float, epsilon: float
) -> None:
    """``bounds`` with exact inputs bounds what one step's floats miss of the exact step."""
    hyper = {"learning_rate": 0.1, "beta": beta, "beta1": beta, "beta2": beta, "epsilon": epsilon}
    previous = (
        {}
        if k == 1
        else {
            "velocity": before - 5,
            "mean_square": before,
            "moment1": before - 5,
            "moment2": before,
        }
    )
    floats = optimizers.step(name, k, p, g, previous, hyper)
    rounding = optimizers.bounds(name, k, g, floats, 0.0, 0.0, previous, {}, hyper)
    with mpmath.workdps(60):
        exact = mp_optimizer(name, hyper)(
            k, mpmath.mpf(p), mpmath.mpf(g), {q: mpmath.mpf(v) for q, v in previous.items()}
        )
    for leaf, value in exact.items():
        assert abs(floats[leaf] - float(value)) <= rounding[leaf], (
            leaf,
            floats[leaf],
            float(value),
        )
