"""Cross-entropy: a sigmoid output with binary cross-entropy, several outputs a softmax.

The oracle shares no code with ``sheetgen.maths``: it writes each loss as one mpmath
expression at 50 digits (the textbook ``-Σ t ln p``, not the stable form the sheet uses) and
differentiates it numerically. The sheets are held to the verifier's promises: a fresh sheet
verifies at any parameters (nets up to ±40, outputs a few ulps from 0 or 1), and a formula off
by 1 % is caught and named wherever the rounding could not hide it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetgen import build, verify_workbook
from sheetgen.check.verify import check, tolerance
from sheetgen.cli import main
from sheetgen.errors import UsageError
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.maths.losses import TARGET, UNIT, bce_conditioning
from sheetgen.maths.network import Network, default_parameters
from sheetgen.maths.neuron import Neuron
from sheetgen.writer.build import build_workbook, parameters

from .support.mutation import formula_mutations

mpmath.mp.dps = 50

SPECS = [
    "neuron:loss=cross-entropy",
    "neuron:loss=cross-entropy,difference=central,inputs=2",
    "network:layers=2-3-1,loss=cross-entropy",
    "network:layers=2-3-3,loss=cross-entropy",
    "network:layers=1-2-2,activation=sigmoid,loss=cross-entropy",
    "training:steps=3,loss=cross-entropy",
    "training:steps=3,loss=cross-entropy,optimizer=adam",
    "training:layers=2-2-1,steps=2,loss=cross-entropy",
    "training:layers=2-2-3,steps=2,loss=cross-entropy,optimizer=momentum",
]


def oracle_neuron_loss(x: Any, w: Any, b: Any, t: Any) -> Any:
    y = 1 / (1 + mpmath.exp(-(x * w + b)))
    return -(t * mpmath.log(y) + (1 - t) * mpmath.log(1 - y))


@pytest.mark.parametrize(
    ("x", "w", "b", "t"),
    [(0.4, 0.5, 0.6, 0.7), (0.9, -0.3, 0.1, 0.0), (-2.0, 1.5, 0.25, 1.0), (3.0, 4.0, 8.0, 0.2)],
)
def test_neuron_gradients_match_the_oracle(x: float, w: float, b: float, t: float) -> None:
    n = Neuron(x, w, b, t, "sigmoid", "cross-entropy")
    got = n.quantities()
    args = [mpmath.mpf(v) for v in (x, w, b, t)]
    # ln(1 - y) of a rounded y near 1 carries eps y / (1 - y): the derived bound, not more.
    slack = UNIT * bce_conditioning(got["output"], t, 1.0)["loss"]
    assert math.isclose(got["loss"], float(oracle_neuron_loss(*args)), rel_tol=1e-13, abs_tol=slack)
    for i, name in enumerate(("input", "weight", "bias")):

        def f(v: Any, i: int = i) -> Any:
            a = list(args)
            a[i] = v
            return oracle_neuron_loss(*a)

        want = float(mpmath.diff(f, args[i]))
        assert math.isclose(got[f"global.{name}"], want, rel_tol=1e-12, abs_tol=1e-15), name
    # The article's shape: d loss / d net is the error itself.
    assert math.isclose(got["global.net"], got["error"], rel_tol=1e-14)


def oracle_network_loss(sizes: tuple[int, ...], p: dict[str, Any], activation: str) -> Any:
    act = {"tanh": mpmath.tanh, "sigmoid": lambda v: 1 / (1 + mpmath.exp(-v))}[activation]
    values = [p[f"x{i}"] for i in range(1, sizes[0] + 1)]
    for layer in range(1, len(sizes)):
        nets = [
            mpmath.fsum(values[i - 1] * p[f"w{layer}_{j}_{i}"] for i in range(1, len(values) + 1))
            + p[f"b{layer}_{j}"]
            for j in range(1, sizes[layer] + 1)
        ]
        values = [act(v) for v in nets] if layer < len(sizes) - 1 else nets
    targets = [p[f"target{j}"] for j in range(1, sizes[-1] + 1)]
    if sizes[-1] == 1:
        y = 1 / (1 + mpmath.exp(-values[0]))
        return -(targets[0] * mpmath.log(y) + (1 - targets[0]) * mpmath.log(1 - y))
    total = mpmath.fsum(mpmath.exp(v) for v in values)
    return -mpmath.fsum(
        t * mpmath.log(mpmath.exp(v) / total) for t, v in zip(targets, values, strict=True)
    )


@pytest.mark.parametrize(
    ("layers", "activation", "targets"),
    [
        ((2, 3, 1), "tanh", (1.0,)),
        ((2, 3, 3), "tanh", (0.0, 1.0, 0.0)),
        ((1, 2, 2), "sigmoid", (0.25, 0.75)),
        ((3, 2, 4), "tanh", (0.1, 0.2, 0.3, 0.4)),
    ],
)
def test_network_gradients_match_the_oracle(
    layers: tuple[int, ...], activation: str, targets: tuple[float, ...]
) -> None:
    params = default_parameters(layers) | {f"target{j}": t for j, t in enumerate(targets, 1)}
    net = Network(layers, params, activation, "cross-entropy")
    got = net.quantities()
    exact = {k: mpmath.mpf(v) for k, v in params.items()}
    assert math.isclose(
        got["loss"], float(oracle_network_loss(layers, exact, activation)), rel_tol=1e-13
    )
    for name in (k for k in params if k[0] in "wb"):

        def f(v: Any, name: str = name) -> Any:
            return oracle_network_loss(layers, exact | {name: v}, activation)

        want = float(mpmath.diff(f, exact[name]))
        assert math.isclose(got[f"global.{name}"], want, rel_tol=1e-11, abs_tol=1e-14), name


@pytest.mark.parametrize("spec", SPECS)
def test_a_built_sheet_verifies_from_the_file(spec: str, tmp_path: Path) -> None:
    report = verify_workbook(build(tmp_path / "x.xlsx", spec), variants=0)
    assert report.ok and not report.wrong


@pytest.mark.parametrize("spec", SPECS)
def test_every_formula_off_by_one_percent_is_caught(spec: str) -> None:
    missed, noise = formula_mutations(spec)
    assert not missed
    # Only a central difference's distance from the real gradient (about 1e-9 here) is
    # smaller than the rounding it is made of, as in every central variant.
    assert all(q.endswith(".distance") and "central" in spec for q in noise), noise


@given(
    net=st.one_of(st.floats(-40.0, 40.0), st.sampled_from([-30.0, 30.0, 36.0, 36.5, 36.7])),
    target=st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0])),
    tiny=st.floats(-12.0, -1.0).map(lambda e: 10.0**e),
)
def test_a_fresh_neuron_sheet_verifies_at_extreme_nets(
    net: float, target: float, tiny: float
) -> None:
    """Nets up to ±40 (outputs within ulps of 0 or 1): never a wrong cell in a right sheet."""
    layout = resolve_layout("neuron:loss=cross-entropy")
    try:
        params = parameters(
            layout,
            {"input": 1.0, "weight": 1.0, "bias": net - 1.0} | {"target": target, "tiny": tiny},
        )
    except UsageError as exc:
        assert "undefined" in str(exc)  # the output rounds to exactly 1: said, not built
        return
    wb = build_workbook(layout, params)
    report = check(wb, wb[layout.sheet], layout)
    wrong = [c for c in report.cells if c.status not in ("ok", "unchecked")]
    assert not wrong, [(c.cell, c.found, c.expected) for c in wrong][:5]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["neuron", "--loss", "cross-entropy", "--activation", "tanh"], "conflicts"),
        (["neuron", "--loss", "cross-entropy", "--target", "1.5"], "[0, 1]"),
        (["training", "--loss", "cross-entropy", "--activation", "relu"], "conflicts"),
    ],
)
def test_bad_choices_are_one_sentence_and_exit_2(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sheetgen.cli import main

    assert main(["build", *argv, "-o", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_softmax_targets_must_be_a_distribution(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="sum to 1"):
        build(tmp_path / "x.xlsx", "network:layers=2-2-2,loss=cross-entropy", target1=0.5)
    with pytest.raises(UsageError, match=r"\[0, 1\]"):
        build(tmp_path / "x.xlsx", "network:layers=2-2-2,loss=cross-entropy", target1=-1, target2=2)
    assert not (tmp_path / "x.xlsx").exists()


APP_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "neuron": ("neuron:loss=cross-entropy", {}),
    # Near saturation (1 - 2e-6) yet fully checked: a bias of 30 leaves the output within
    # ulps of 1, which verify cannot check, so build refuses it (test_build_promise).
    "neuron_saturated": ("neuron:loss=cross-entropy", {"bias": 12.0, "target": 0.2, "tiny": 1e-6}),
    "network_sigmoid": ("network:layers=2-3-1,loss=cross-entropy", {}),
    "network_softmax": (
        "network:layers=3-4-3,loss=cross-entropy",
        {"target2": 1.0, "target1": 0.0},
    ),
    "train": ("training:steps=40,learning_rate=0.5,loss=cross-entropy", {}),
    "train_softmax_adam": (
        "training:layers=2-3-3,steps=20,loss=cross-entropy,optimizer=adam",
        {"target1": 0.2, "target3": 0.8},
    ),
}


@pytest.fixture(scope="module")
def app_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, Path]]:
    src = tmp_path_factory.mktemp("xent")
    return {
        key: (spec, build(src / f"{key}.xlsx", spec, **edits))
        for key, (spec, edits) in APP_CASES.items()
    }


def _agrees(path: Path, spec: str, params: dict[str, float], who: str) -> None:
    """Every checked cell ``who`` computed within verify's tolerance of the reference
    (an unchecked one, infinite tolerance, aside)."""
    from sheetgen.workbook.xlsx import read_book

    layout = resolve_layout(spec)
    ref = model_for(layout.settings)(params, layout.settings)
    sheet = read_book(path.read_bytes()).sheet(layout.sheet)
    assert sheet is not None
    wrong = []
    for c in layout.checked:
        assert c.quantity is not None
        want, got = ref.values[c.quantity], sheet.value(c.at)
        limit = tolerance(c.quantity, want, ref)
        if math.isinf(limit) or not math.isfinite(want):
            continue
        if not isinstance(got, int | float) or abs(got - want) > limit:
            wrong.append((c.at, c.quantity, got, want))
    assert not wrong, (who, wrong[:5])


@pytest.mark.libreoffice
def test_libreoffice_recalculates_them_to_the_reference(
    app_files: dict[str, tuple[str, Path]], tmp_path: Path
) -> None:
    from .support.libreoffice import recalculate_many

    out = recalculate_many([path for _, path in app_files.values()], tmp_path)
    for (key, (spec, _)), done in zip(app_files.items(), out, strict=True):
        params = dict(resolve_layout(spec).defaults) | APP_CASES[key][1]
        _agrees(done, spec, params, f"LibreOffice ({key})")
        report = verify_workbook(done, variants=0)
        assert not [c for c in report.cells if c.status not in ("ok", "unchecked")], key


def test_gnumeric_recalculates_them_to_the_reference(
    app_files: dict[str, tuple[str, Path]], tmp_path: Path
) -> None:
    import shutil
    import subprocess

    from .test_interop import needs

    ssconvert = shutil.which("ssconvert")
    needs("Gnumeric's ssconvert (apt install gnumeric)", ssconvert)
    assert ssconvert is not None
    for key, (spec, path) in app_files.items():
        out = tmp_path / f"{key}.xlsx"
        subprocess.run(
            [ssconvert, "--recalc", str(path), str(out)],
            capture_output=True,
            timeout=300,
            check=True,
        )
        params = dict(resolve_layout(spec).defaults) | APP_CASES[key][1]
        _agrees(out, spec, params, f"Gnumeric ({key})")


@pytest.mark.parametrize(
    ("spec", "blank"),
    [
        ("neuron:loss=cross-entropy", "local.output"),
        ("network:layers=2-3-3,loss=cross-entropy", "softmax.sum"),
        ("training:layers=2-2-1,steps=3,loss=cross-entropy", "step2.global.n2_1.output"),
    ],
)
def test_exercise_graded_and_annotated(tmp_path: Path, spec: str, blank: str) -> None:
    """A blank of the new maths left to fill in: right, it verifies; 1 % off, it is the
    root cause, graded down and annotated at its cell."""
    import openpyxl

    from sheetgen import annotate, build_exercise, grade_class

    lay = resolve_layout(spec)
    cell = lay.by_quantity[blank]
    ex = build_exercise(tmp_path / "ex.xlsx", spec, blanks=cell.at)
    assert {c.cell for c in verify_workbook(ex, variants=0).todo} == {cell.at}
    right, wrong = tmp_path / "right.xlsx", tmp_path / "wrong.xlsx"
    for out, slip in ((right, ""), (wrong, "*1.01")):
        wb = openpyxl.load_workbook(ex)
        wb[lay.sheet][cell.at] = f"=({(cell.formula or '')[1:]}){slip}"
        wb.save(out)
    assert verify_workbook(right, variants=0).ok
    report = verify_workbook(wrong, variants=0)
    assert cell.at in {c.cell for c in report.roots}
    graded = {Path(g.path).name: g for g in grade_class([right, wrong]).graded}
    right_report, wrong_report = graded["right.xlsx"].report, graded["wrong.xlsx"].report
    assert right_report is not None and wrong_report is not None
    assert right_report.ok and not wrong_report.ok
    marked = annotate(report, tmp_path / "marked.xlsx")
    note = openpyxl.load_workbook(marked)[lay.sheet][cell.at].comment
    assert note is not None and cell.at in note.text


@pytest.mark.parametrize(
    "spec",
    [
        "neuron:loss=cross-entropy,inputs=2",
        "network:layers=2-3-3,loss=cross-entropy",
        "training:steps=4,loss=cross-entropy,optimizer=rmsprop",
        "training:layers=2-2-2,steps=3,loss=cross-entropy",
    ],
)
def test_recognised_without_the_recorded_spec(tmp_path: Path, spec: str) -> None:
    """An app that drops the recorded spec: the sheet's LN says cross-entropy."""
    import openpyxl

    wb = openpyxl.load_workbook(build(tmp_path / "t.xlsx", spec))
    for name in [n for n, d in wb.defined_names.items() if "!" not in str(d.attr_text)]:
        del wb.defined_names[name]
    wb.save(tmp_path / "bare.xlsx")
    report = verify_workbook(tmp_path / "bare.xlsx", variants=0)
    assert report.ok and "loss=cross-entropy" in report.spec
    assert len(report.cells) == len(resolve_layout(spec).checked)


def test_a_wrong_cell_is_named_with_what_it_should_be(tmp_path: Path) -> None:
    import openpyxl

    spec = "network:layers=2-3-3,loss=cross-entropy"
    lay = resolve_layout(spec)
    loss = lay.by_quantity["loss"]
    wb = openpyxl.load_workbook(build(tmp_path / "t.xlsx", spec))
    naive = (
        "=-("
        + "+".join(  # the textbook form, with a sign slip
            f"{lay.by_quantity[f'target{j}'].at}*LN({lay.by_quantity[f'n2_{j}.output'].at})"
            for j in (1, 2, 3)
        )
        + ")*-1"
    )
    wb[lay.sheet][loss.at] = naive
    wb.save(tmp_path / "w.xlsx")
    report = verify_workbook(tmp_path / "w.xlsx", variants=0)
    wrong = {c.cell: c for c in report.wrong}
    assert loss.at in wrong and "should be" in wrong[loss.at].message
    # The textbook form without the slip is an equivalent formula: right.
    wb[lay.sheet][loss.at] = naive.removesuffix("*-1")
    wb.save(tmp_path / "r.xlsx")
    assert verify_workbook(tmp_path / "r.xlsx", variants=0).ok


def test_a_learners_targets_that_are_no_distribution_are_said(tmp_path: Path) -> None:
    """Typed into the sheet, they are checked as they are (p - t stays the slope of the
    sheet's loss), with one sentence saying what cross-entropy needs."""
    import openpyxl

    spec = "network:layers=2-3-3,loss=cross-entropy"
    lay = resolve_layout(spec)
    wb = openpyxl.load_workbook(build(tmp_path / "a.xlsx", spec))
    wb[lay.sheet][lay.by_quantity["target2"].at] = 0.5
    wb.save(tmp_path / "b.xlsx")
    report = verify_workbook(tmp_path / "b.xlsx", variants=0)
    assert report.ok
    assert any("sum to 1" in w for w in report.warnings)


@pytest.mark.parametrize(
    "spec",
    [
        "training:steps=3,learning_rate=0.5,loss=cross-entropy",
        "training:layers=2-3-3,steps=3,learning_rate=0.5,loss=cross-entropy",
        "training:layers=2-2-1,steps=3,learning_rate=0.5,activation=sigmoid,loss=cross-entropy",
    ],
)
def test_training_runs_the_oracles_gradient_descent(spec: str) -> None:
    """Three steps of ``p - rate * d loss / d p``, the gradients from the oracle's losses."""
    layout = resolve_layout(spec)
    params = parameters(layout)
    values = model_for(layout.settings)(params, layout.settings).values
    rate = mpmath.mpf(params["learning_rate"])
    current = {k: mpmath.mpf(v) for k, v in params.items()}
    if "layers" in layout.settings:
        sizes = tuple(int(n) for n in layout.settings["layers"].split("-"))
        names = [k for k in params if k[0] in "wb" and "_" in k]

        def loss(p: dict[str, Any]) -> Any:
            return oracle_network_loss(sizes, p, layout.settings["activation"])
    else:
        names = ["weight", "bias"]

        def loss(p: dict[str, Any]) -> Any:
            return oracle_neuron_loss(p["input"], p["weight"], p["bias"], p["target"])

    for k in (1, 2, 3):
        assert math.isclose(values[f"step{k}.loss"], float(loss(current)), rel_tol=1e-12)
        here = dict(current)
        grads = {n: mpmath.diff(lambda v, n=n, p=here: loss(p | {n: v}), here[n]) for n in names}
        current = current | {n: current[n] - rate * grads[n] for n in names}
        for n in names:
            assert math.isclose(values[f"step{k}.new.{n}"], float(current[n]), rel_tol=1e-11), n


def test_an_output_the_sheet_rounds_to_1_is_no_verdict(tmp_path: Path) -> None:
    """At net 36.5 the output is 1 - 1 ulp: an application whose EXP differs by an ulp may
    round it to 1, and its right formulas then show #NUM! and #DIV/0!. Simulated here by an
    output typed as 1: the cells below are unchecked, not wrong."""

    spec = "neuron:loss=cross-entropy"
    lay = resolve_layout(spec)
    # ``build`` refuses these parameters (some cells could not be checked): a learner types them.
    wb = build_workbook(lay, dict(lay.defaults) | {"input": 1.0, "weight": 1.0, "bias": 35.5})
    wb[lay.sheet][lay.by_quantity["output"].at] = "=1+0*E2"
    wb.save(tmp_path / "b.xlsx")
    report = verify_workbook(tmp_path / "b.xlsx", variants=0)
    status = {c.quantity: c.status for c in report.cells}
    assert status["output"] == "ok"
    for q in ("loss", "local.output", "global.net", "global.weight", "global.bias"):
        assert status[q] == "unchecked", (q, status[q])
    assert not [c for c in report.cells if c.status not in ("ok", "unchecked")]


@pytest.mark.parametrize(
    "spec",
    [
        "training:steps=4,loss=cross-entropy,optimizer=adam",
        "training:layers=2-2-2,steps=3,loss=cross-entropy,optimizer=momentum",
        "training:layers=2-2-1,steps=3,loss=cross-entropy",
    ],
)
@given(data=st.data())
def test_a_fresh_training_sheet_verifies_at_any_parameters(spec: str, data: st.DataObject) -> None:
    """Weights and inputs up to ±20 (outputs a few ulps from 0 or 1), any probability target,
    any rate: refused in one sentence, or never a wrong cell."""
    layout = resolve_layout(spec)
    params: dict[str, Any] = parameters(layout)
    targets = sorted(q for q in params if q.startswith("target"))
    for q in params:
        if q == "learning_rate":
            params[q] = data.draw(st.floats(0.0, 2.0))
        elif q not in targets and q not in ("beta", "beta1", "beta2", "epsilon"):
            params[q] = data.draw(st.floats(-20.0, 20.0))
    if len(targets) == 1:
        params[targets[0]] = data.draw(st.floats(0.0, 1.0))
    else:
        hot = data.draw(st.sampled_from(targets))
        params |= {q: float(q == hot) for q in targets}
    try:
        params = parameters(layout, params)
    except UsageError as exc:
        assert any(w in str(exc) for w in ("overflow", "undefined", "could not be checked"))
        return
    wb = build_workbook(layout, params)
    report = check(wb, wb[layout.sheet], layout)
    wrong = [c for c in report.cells if c.status not in ("ok", "unchecked")]
    assert not wrong, [(c.cell, c.quantity, c.found, c.expected) for c in wrong][:5]


@pytest.mark.parametrize("way", ["arrays", "one pass each"])
@pytest.mark.parametrize(
    ("layers", "targets"), [((2, 3, 1), (0.3,)), ((3, 4, 3), (0.0, 0.0, 1.0)), ((2, 2), (0.4, 0.6))]
)
def test_nudged_losses_match_the_oracle(
    layers: tuple[int, ...], targets: tuple[float, ...], way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every faux row's loss, both ways the nudged passes run (numpy arrays for large
    networks, pass by pass for small ones), against the oracle at the nudged parameter."""
    from sheetgen.maths import network as network_maths
    from sheetgen.maths.network import learnable

    monkeypatch.setattr(network_maths, "ARRAY_WORK", 0 if way == "arrays" else 10**12)
    params = default_parameters(layers) | {f"target{j}": t for j, t in enumerate(targets, 1)}
    params = {k: v * 1.7 if k[0] in "wb" else v for k, v in params.items()}
    net = Network(layers, params, "tanh", "cross-entropy")
    values = net.faux_gradients(1e-4, net.forward())
    for name, _, _ in learnable(layers):
        exact = {k: mpmath.mpf(v) for k, v in params.items()}
        exact[name] = mpmath.mpf(params[name] + 1e-4)  # the sheet nudges in doubles
        want = float(oracle_network_loss(layers, exact, "tanh"))
        assert values[f"nudge.{name}.loss"] == pytest.approx(want, rel=1e-13, abs=1e-15), name


@pytest.mark.parametrize(
    "spec",
    [
        "neuron:activation=sigmoid,loss=cross-entropy",
        "network:layers=2-3-3,loss=cross-entropy",
        "training:layers=2-2-1,examples=4,batch=2,steps=3,loss=cross-entropy",
    ],
)
def test_a_seeded_exercise_keeps_the_teachers_targets(tmp_path: Path, spec: str) -> None:
    """Learners get their own inputs and weights, but a classifier's targets stay the
    teacher's: scaled ones would be no probabilities, and build would refuse them."""
    from sheetgen.teacher.exercise import random_parameters

    lay = resolve_layout(spec)
    targets = {s.quantity for s in lay.inputs if s.quantity and TARGET.fullmatch(s.quantity)}
    assert targets
    drawn = [random_parameters(lay, seed) for seed in range(8)]
    assert all(d[t] == lay.defaults.get(t, 0.0) for d in drawn for t in targets)
    assert len({tuple(sorted(d.items())) for d in drawn}) == len(drawn)  # still their own
    for seed in (1, 2):
        out = tmp_path / f"{seed}.xlsx"
        assert main(["build", spec, "--exercise", "--seed", str(seed), "-o", str(out)]) == 0
