"""Training a network on a data set: each example's pass, the batch's means, the update, one
block of rows per step. Against the maths written apart at 60 digits, as workbooks (verify,
mutations, any data and parameters, recognition, exercises, grading, annotation), from the
command line (--data xor, CSV files good and bad) and in LibreOffice and Gnumeric."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import mpmath
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetgen import annotate, build, build_exercise, grade_class, verify_workbook
from sheetgen.check.verify import tolerance
from sheetgen.cli import main
from sheetgen.errors import SheetgenError
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.layouts.layout import Layout
from sheetgen.maths.dataset import batch, parse_csv
from sheetgen.writer.build import parameters

from .support.mutation import assert_never_wrong, formula_mutations
from .test_optimizers import assert_recalculated_to_reference, mp_optimizer

XOR = "training:layers=2-2-1,examples=4,steps={steps}"
MINI = "training:layers=2-2-1,examples=4,batch=3,steps={steps}"
SPECS = [
    XOR.format(steps=3),
    MINI.format(steps=3),
    MINI.format(steps=3) + ",optimizer=adam",
    "training:layers=2-2-1,examples=3,batch=2,steps=2,loss=squared,activation=sigmoid"
    ",optimizer=momentum",
]
PARAMS = ("w1_1_1", "w1_1_2", "b1_1", "w1_2_1", "w1_2_2", "b1_2", "w2_1_1", "w2_1_2", "b2_1")


def _row(cell: str) -> int:
    return int(re.sub(r"[A-Z]+", "", cell))


def test_cli_trains_on_xor_and_verifies_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "xor.xlsx"
    argv = ["build", "training", "--layers", "2-2-1", "--data", "xor", "--steps", "20"]
    assert main([*argv, "-o", str(out)]) == 0
    lay = resolve_layout(XOR.format(steps=20))
    values = {c.quantity: openpyxl.load_workbook(out)[lay.sheet][c.at].value for c in lay.inputs}
    assert [values[f"example{m}.target1"] for m in (1, 2, 3, 4)] == [0, 1, 1, 0]
    assert [values[f"example{m}.x2"] for m in (1, 2, 3, 4)] == [0, 1, 0, 1]
    report = verify_workbook(out)
    assert report.ok and report.layout == "training", [c.message for c in report.wrong][:5]
    quantities = {c.quantity for c in report.cells}
    for k, m, p in itertools.product((1, 20), (1, 4), PARAMS):
        assert f"step{k}.example{m}.global.{p}" in quantities  # each example's gradient
        assert {f"step{k}.global.{p}", f"step{k}.new.{p}"} <= quantities  # the mean, the update
    assert main(["verify", str(out)]) == 0
    capsys.readouterr()


def test_the_spec_names_the_datas_shape_never_its_file(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("a,b,target\n0.5,1,0\n1,-2,1\n3,0.25,0\n")
    out = tmp_path / "d.xlsx"
    argv = ["build", "training", "--layers", "2-3-1", "--data", str(data), "--batch", "2"]
    assert main([*argv, "--steps", "4", "-o", str(out)]) == 0
    report = verify_workbook(out)
    assert report.ok
    assert "examples=3,batch=2" in report.spec and "d.csv" not in report.spec
    lay = resolve_layout(report.spec)
    ws = openpyxl.load_workbook(out)[lay.sheet]
    assert ws[lay.by_quantity["example2.x2"].at].value == -2


def test_the_mean_row_averages_the_gradients_above_it() -> None:
    lay = resolve_layout(MINI.format(steps=2))
    mean = lay.by_quantity["step2.global.w1_1_2"]
    terms = [lay.by_quantity[f"step2.example{m}.global.w1_1_2"] for m in (4, 1, 2)]
    assert mean.formula == f"=({'+'.join(c.at for c in terms)})/3"
    assert all(c.at[:2] == mean.at[:2] and _row(c.at) < _row(mean.at) for c in terms)
    notes = " ".join(c.text or "" for c in lay if c.kind == "text")
    assert "in order and cycling back to example 1" in notes


def test_batches_take_examples_in_order_and_cycle() -> None:
    assert [batch(k, 3, 4) for k in (1, 2, 3, 4)] == [[1, 2, 3], [4, 1, 2], [3, 4, 1], [2, 3, 4]]
    assert all(batch(k, 4, 4) == [1, 2, 3, 4] for k in range(1, 6))


def exact_training(
    params: dict[str, float], examples: int, size: int, steps: int, optimizer: str = "sgd"
) -> list[dict[str, Any]]:
    """A 2-2-1 tanh network, loss (o - t)^2 / 2, trained at 60 digits on the examples in
    order, cycling, size at a time: each example's chain rule written out, their mean, the
    published update rule."""
    rows = []
    with mpmath.workdps(60):
        p = {k: mpmath.mpf(v) for k, v in params.items()}
        rule = mp_optimizer(optimizer, params) if optimizer != "sgd" else None
        state: dict[str, dict[str, Any]] = {q: {} for q in PARAMS}
        for k in range(1, steps + 1):
            first = (k - 1) * size
            members = [(first + b) % examples + 1 for b in range(size)]
            row: dict[str, Any] = {}
            total = {q: mpmath.mpf(0) for q in (*PARAMS, "loss")}
            for m in members:
                x = (p[f"example{m}.x1"], p[f"example{m}.x2"])
                t = p[f"example{m}.target1"]
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
                grad["loss"] = (o - t) ** 2 / 2
                for q, v in grad.items():
                    row[f"example{m}.{'loss' if q == 'loss' else 'global.' + q}"] = v
                    total[q] += v
            row["loss"] = total["loss"] / size
            for q in PARAMS:
                g = total[q] / size
                row[f"global.{q}"] = g
                if rule is None:
                    new = p[q] - p["learning_rate"] * g
                else:
                    out = rule(k, p[q], g, state[q])
                    state[q], new = out, out["new"]
                row[f"new.{q}"] = new
            p |= {q: row[f"new.{q}"] for q in PARAMS}
            rows.append(row)
    return rows


@pytest.mark.parametrize(
    ("spec", "edits", "ceiling"),
    [
        (XOR.format(steps=200), {"learning_rate": 0.5}, 1e-7),
        (MINI.format(steps=120), {"learning_rate": 0.8, "example3.x1": -2.5}, 1e-7),
        (MINI.format(steps=60) + ",optimizer=adam", {"learning_rate": 0.05}, 1e-8),
        (XOR.format(steps=60) + ",optimizer=momentum", {}, 1e-8),
    ],
)
def test_reference_stays_within_its_tolerance_of_exact_arithmetic(
    spec: str, edits: dict[str, float], ceiling: float
) -> None:
    """The tolerance really bounds the float run's drift from exact arithmetic, however many
    examples and steps it averages over, and stays far below a formula slip."""
    lay = resolve_layout(spec)
    settings_ = lay.settings
    params = dict(lay.defaults) | edits
    ref = model_for(settings_)(params, settings_)
    steps, examples, size = (int(settings_[k]) for k in ("steps", "examples", "batch"))
    exact = exact_training(params, examples, size, steps, settings_.get("optimizer", "sgd"))
    for k, row in enumerate(exact, start=1):
        for leaf, value in row.items():
            q, want = f"step{k}.{leaf}", float(value)
            allowed = tolerance(q, want, ref)
            assert abs(ref.values[q] - want) <= allowed, q
            assert allowed <= ceiling * max(1.0, abs(want)), (q, allowed)


def test_xor_loss_falls() -> None:
    lay = resolve_layout(XOR.format(steps=200))
    ref = model_for(lay.settings)(dict(lay.defaults) | {"learning_rate": 0.5}, lay.settings)
    assert ref.values["step200.loss"] < ref.values["step1.loss"] / 2


@pytest.mark.parametrize("spec", SPECS)
def test_every_formula_off_by_one_percent_is_caught_and_named(spec: str) -> None:
    missed, noise = formula_mutations(spec)
    assert not missed and not noise


values = st.one_of(
    st.floats(-1.0, 1.0), st.floats(-30.0, 30.0), st.sampled_from([0.0, 1e-12, -1.0, 1.0])
)


@pytest.mark.parametrize("spec", SPECS)
@settings(
    max_examples=8,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_fresh_sheet_verifies_at_any_data_and_parameters(spec: str, data: st.DataObject) -> None:
    layout = resolve_layout(spec)
    params: dict[str, Any] = parameters(layout)
    for q in params:
        if q == "learning_rate":
            params[q] = data.draw(st.floats(0.0, 1.0))
        elif q.startswith("beta") or q == "epsilon":
            continue  # the teacher's settings; test_optimizers draws them
        else:
            params[q] = data.draw(values)
    assert_never_wrong(layout, params, ("overflow", "could not be checked"))


def bare_copy(tmp_path: Path, spec: str) -> tuple[Path, Layout]:
    path = build(tmp_path / "t.xlsx", spec)
    wb = openpyxl.load_workbook(path)
    for name in [n for n, d in wb.defined_names.items() if "!" not in str(d.attr_text)]:
        del wb.defined_names[name]
    lay = resolve_layout(spec)
    wb[lay.sheet][lay.by_quantity["example2.target1"].at] = 0.25  # a learner's own data
    wb.save(tmp_path / "bare.xlsx")
    return tmp_path / "bare.xlsx", lay


@pytest.mark.parametrize("spec", SPECS)
def test_recognised_without_the_recorded_spec(tmp_path: Path, spec: str) -> None:
    path, lay = bare_copy(tmp_path, spec)
    report = verify_workbook(path, variants=0)
    assert report.ok and report.layout == "training"
    assert "examples=" in report.spec and len(report.cells) == len(lay.checked)


def test_a_sign_flipped_in_one_examples_row_is_named_and_nothing_before(tmp_path: Path) -> None:
    spec = MINI.format(steps=6)
    path = build(tmp_path / "t.xlsx", spec)
    lay = resolve_layout(spec)
    broken = lay.by_quantity["step4.example2.global.n2_1.net"]
    wb = openpyxl.load_workbook(path)
    wb[lay.sheet][broken.at] = "=-(" + (broken.formula or "")[1:] + ")"
    wb.save(path)
    report = verify_workbook(path)
    wrong = {c.cell: c for c in report.wrong}
    assert broken.at in wrong and wrong[broken.at].quantity == broken.quantity
    assert broken.at in {c.cell for c in report.roots}
    assert min(_row(cell) for cell in wrong) == _row(broken.at)
    assert lay.by_quantity["step4.global.b2_1"].at in wrong  # the mean it enters is wrong too


def test_exercise_graded_and_annotated(tmp_path: Path) -> None:
    """An example's gradient and the mean are the exercise."""
    spec = MINI.format(steps=3)
    assert_exercise_graded(tmp_path, spec, ["step1.example2.global.w1_2_1", "step1.global.b1_1"])


def assert_exercise_graded(tmp_path: Path, spec: str, blanks: list[str]) -> None:
    """``blanks`` (quantities) left to fill in: filled in right the sheet verifies; each 1 %
    off, the first is the root cause, graded down and annotated at its cell."""
    lay = resolve_layout(spec)
    cells = [lay.by_quantity[q] for q in blanks]
    ex = build_exercise(tmp_path / "ex.xlsx", spec, blanks=",".join(c.at for c in cells))
    todo = verify_workbook(ex, variants=0)
    assert {c.cell for c in todo.todo} == {c.at for c in cells}
    right, wrong = tmp_path / "right.xlsx", tmp_path / "wrong.xlsx"
    for out, slip in ((right, ""), (wrong, "*1.01")):
        wb = openpyxl.load_workbook(ex)
        for c in cells:
            wb[lay.sheet][c.at] = f"=({(c.formula or '')[1:]}){slip}"
        wb.save(out)
    assert verify_workbook(right, variants=0).ok
    report = verify_workbook(wrong, variants=0)
    own = cells[0]
    assert own.at in {c.cell for c in report.roots}
    graded = {Path(g.path).name: g for g in grade_class([right, wrong]).graded}
    right_report, wrong_report = graded["right.xlsx"].report, graded["wrong.xlsx"].report
    assert right_report is not None and wrong_report is not None
    assert right_report.ok and not wrong_report.ok
    marked = annotate(report, tmp_path / "marked.xlsx")
    note = openpyxl.load_workbook(marked)[lay.sheet][own.at].comment
    assert note is not None and own.at in note.text


def test_cli_exercise_with_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ex.xlsx"
    argv = ["build", "training", "--data", "xor", "--steps", "3", "--exercise", "--seed", "4"]
    assert main([*argv, "-o", str(out)]) == 0
    report = verify_workbook(out, variants=0)
    todo = {c.quantity for c in report.todo}
    assert {"step1.example1.global.n1_2.net", "step1.global.b2_1", "step1.new.w1_1_1"} <= todo
    assert all(q.startswith(("step1.example1.", "step1.global.", "step1.new.")) for q in todo)
    assert not [c for c in report.wrong if c.status not in ("todo", "waiting")]
    capsys.readouterr()


def test_loss_chart_draws_the_mean_rows_across_the_examples(tmp_path: Path) -> None:
    spec = MINI.format(steps=5)
    path = build(tmp_path / "t.xlsx", spec)
    lay = resolve_layout(spec)
    first = lay.by_quantity["step1.example1.loss"].at
    last = lay.by_quantity["step5.loss"].at
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/charts/chart1.xml").decode()
    assert '<c:dispBlanksAs val="span"/>' in xml
    column = re.sub(r"\d", "", last)
    assert f"${column}${_row(first)}:${column}${_row(last)}" in xml


CSV_ERRORS = [
    ("", "--layers 2-2-1", "is empty"),
    ("x1,x2,target1\n", "--layers 2-2-1", "no examples"),
    ("x1,x2,target1\n1,2,3\n4,5\n", "--layers 2-2-1", "row 3 has 2 values"),
    ("x1,x2,target1\n1,2,abc\n", "--layers 2-2-1", "'abc' is not a number"),
    ("x1,x2,target1\n1,2,nan\n", "--layers 2-2-1", "not finite"),
    ("x1,x2,x3,target1\n1,2,3,4\n", "--layers 2-2-1", "pass --layers 3-...-1"),
    ("a,b,c\n1,2,3\n", "", "which columns are targets"),
    ("target,a\n1,2\n", "", "must come after at least one input"),
    ("x1,x2,target1\n" + "1,2,3\n" * 1001, "--layers 2-2-1", "at most 1,000"),
    ("x1,x2,target1\n1,2,3\n", "--layers 2-2-1 --batch 2", "batch must be 1 (the data has 1"),
]


@pytest.mark.parametrize(("text", "flags", "said"), CSV_ERRORS)
def test_bad_data_is_one_sentence_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, flags: str, said: str
) -> None:
    data = tmp_path / "d.csv"
    data.write_text(text)
    out = tmp_path / "t.xlsx"
    argv = ["build", "training", "--data", str(data), *flags.split(), "-o", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["build", "network", "--data", "xor"], "build training"),
        (["build", "training", "--data", "missing.csv"], "No data file"),
        (["build", "training", "--data", "/dev/zero", "--layers", "2-2-1"], "is a device"),
        (["build", "training", "--layers", "2-2-1", "--batch", "2"], "give --data"),
        (["build", "training", "--data", "xor", "--layers", "3-2-1"], "pass --layers 2-...-1"),
    ],
)
def test_bad_data_flags_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    assert main([*argv, "-o", str(tmp_path / "t.xlsx")]) == 2
    assert said in capsys.readouterr().err


def test_targets_are_the_named_columns_or_the_layers_last() -> None:
    named = parse_csv("a,b,Target1,target2\n1,2,3,4\n", "d.csv", None)
    assert (named.inputs, named.outputs) == (2, 2)
    by_layers = parse_csv("a,b,c\n1,2,3\n", "d.csv", (1, 3, 2))
    assert (by_layers.inputs, by_layers.outputs, by_layers.rows) == (1, 2, ((1.0, 2.0, 3.0),))


@pytest.mark.parametrize(
    "spec",
    [
        "training:layers=2-2-1,examples=0",
        "training:layers=2-2-1,examples=4,batch=5",
        "training:layers=2-2-1,examples=x",
        "training:examples=4",
        "training:layers=2-2-1,examples=1000,steps=1000",  # far too many cells
    ],
)
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(SheetgenError):
        resolve_layout(spec)


LO_CASES = {
    "xor": (XOR.format(steps=40), {"learning_rate": 0.5}),
    "mini": (MINI.format(steps=30), {"example2.x1": -1.5, "w2_1_1": 0.8}),
    "adam": (MINI.format(steps=20) + ",optimizer=adam", {"learning_rate": 0.05}),
}


@pytest.mark.libreoffice
def test_libreoffice_recalculates_to_the_reference(tmp_path: Path) -> None:
    """LibreOffice re-runs the training on the data, a learner's edits to it included."""
    assert_libreoffice_recalculates(tmp_path, LO_CASES)


def test_gnumeric_recalculates_to_the_reference(tmp_path: Path) -> None:
    assert_gnumeric_recalculates(tmp_path, LO_CASES)


def assert_libreoffice_recalculates(
    tmp_path: Path, cases: dict[str, tuple[str, dict[str, float]]]
) -> None:
    """Each case (spec, edits) built, recalculated and saved by LibreOffice: the reference's
    numbers within the verifier's tolerance, and the file verifies."""
    from .support.libreoffice import recalculate_many

    built = [
        build(tmp_path / f"{key}.xlsx", spec, **edits)  # type: ignore[arg-type]
        for key, (spec, edits) in cases.items()
    ]
    (tmp_path / "lo").mkdir()
    for path in recalculate_many(built, tmp_path / "lo"):
        assert_recalculated_to_reference(path, *cases[path.stem])


def assert_gnumeric_recalculates(
    tmp_path: Path, cases: dict[str, tuple[str, dict[str, float]]]
) -> None:
    """The same with Gnumeric's ``ssconvert --recalc``."""
    from .test_interop import assert_agrees, needs

    ssconvert = shutil.which("ssconvert")
    needs("Gnumeric's ssconvert (apt install gnumeric)", ssconvert)
    assert ssconvert is not None
    for key, (spec, edits) in cases.items():
        path = build(tmp_path / f"{key}.xlsx", spec, **edits)  # type: ignore[arg-type]
        out = tmp_path / f"{key}-gnumeric.xlsx"
        argv = [ssconvert, "--recalc", str(path), str(out)]
        subprocess.run(argv, capture_output=True, timeout=300, check=True)
        assert_agrees(path, out, f"Gnumeric ({spec})")


def test_templates_lists_training_on_a_data_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates"]) == 0
    out = capsys.readouterr().out
    assert "examples=4,batch=2" in out and "--data xor" in out


@pytest.mark.parametrize(
    "spec",
    [
        XOR.format(steps=1),
        "training:layers=2-3-2,examples=5,batch=3,steps=1,activation=sigmoid,loss=squared",
        "training:layers=2-2-1,examples=3,batch=2,steps=1,activation=relu",
    ],
)
def test_the_tolerances_slopes_with_numpy_are_the_plain_passes(spec: str) -> None:
    """The batch's passes run together as arrays for the error analysis' slopes give the
    slopes each pass run on its own gives, to the central differences' own noise."""
    from sheetgen.layouts.batch_training import BatchRow, example_leaves
    from sheetgen.layouts.optimized import _slopes
    from sheetgen.maths.network import learnable, parse_layers

    lay = resolve_layout(spec)
    params = dict(lay.defaults) | {"w1_1_2": 1.7, "example2.x1": -0.6}
    sizes = parse_layers(lay.settings["layers"])
    members = batch(1, int(lay.settings["batch"]), int(lay.settings["examples"]))
    row = BatchRow(sizes, members, lay.settings["activation"], lay.settings["loss"])
    names = [n for n, _, _ in learnable(sizes)]
    leaves = [f"example{m}.{leaf}" for m in members for leaf in example_leaves(sizes)]
    leaves += ["loss", *(f"global.{n}" for n in names)]
    together = _slopes(row, [params], names, leaves)[0]
    alone = _slopes(lambda current: row(current), [params], names, leaves)[0]
    for (i, leaf), (j, p) in itertools.product(enumerate(leaves), enumerate(names)):
        assert together[i, j] == pytest.approx(alone[i, j], rel=1e-8, abs=1e-8), (leaf, p)
    # Several steps' parameters at once (as the analysis asks, a few dozen steps together)
    # give each step's slopes exactly as a run of their own does.
    others = [params | {"w1_1_1": 0.3 * k, "b1_1": -0.2 * k} for k in range(1, 6)]
    found = _slopes(row, [params, *others], names, leaves)[1:]
    for jacobian, current in zip(found, others, strict=True):
        assert jacobian.tobytes() == _slopes(row, [current], names, leaves)[0].tobytes()


@pytest.mark.parametrize(
    "spec",
    [
        XOR.format(steps=12) + ",optimizer=adam",
        "training:layers=2-3-1,examples=5,batch=2,steps=12,optimizer=rmsprop",
    ],
)
def test_the_error_analysis_gives_each_step_what_it_gives_one_step_at_a_time(
    spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slopes worked out for several steps at once (the steps that share a batch) give every
    cell the growth a run of one step at a time gives, to the last bit."""
    from sheetgen.layouts import optimized

    lay = resolve_layout(spec)
    params = dict(lay.defaults)
    reference = model_for(lay.settings)(params, lay.settings)
    quantities = [c.quantity for c in lay.checked if c.quantity is not None]
    quantities = [q for q in quantities if q in reference.values]
    together = [reference.growth(q) for q in quantities]  # worked out here, on first use
    monkeypatch.setattr(optimized._Slopes, "CHUNK", 1)
    alone = model_for(lay.settings)(params, lay.settings)
    assert quantities and any(g > 1 for g in together)
    assert together == [alone.growth(q) for q in quantities]


def test_one_example_is_recognised_too(tmp_path: Path) -> None:
    path, _ = bare_copy(tmp_path, "training:layers=1-2-1,examples=2,batch=1,steps=3")
    assert verify_workbook(path, variants=0).ok
    one = build(tmp_path / "one.xlsx", "training:layers=1-1,examples=1,steps=2")
    wb = openpyxl.load_workbook(one)
    for name in [n for n, d in wb.defined_names.items() if "!" not in str(d.attr_text)]:
        del wb.defined_names[name]
    wb.save(tmp_path / "one-bare.xlsx")
    report = verify_workbook(tmp_path / "one-bare.xlsx", variants=0)
    assert report.ok and "examples=1" in report.spec
