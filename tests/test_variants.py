"""Neuron variants end to end: each builds a live sheet that `verify` (with no flags) passes,
that follows a learner's edit, and whose broken formulas are caught and named."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path

import openpyxl
import pytest

from sheetgen.check.verify import check, verify_workbook
from sheetgen.cli import main
from sheetgen.errors import SheetgenError, UsageError
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import Layout, load_layout
from sheetgen.layouts.neuron import Options, generate, variant_spec
from sheetgen.report.render import to_text
from sheetgen.writer.build import build, build_workbook, parameters

ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")
LOSSES = ("half-squared", "squared")
DIFFERENCES = ("forward", "central")
SIZES = (1, 2, 5)
VARIANTS = [Options(*v) for v in itertools.product(ACTIVATIONS, LOSSES, DIFFERENCES, SIZES)]
IDS = [f"{o.activation}-{o.loss}-{o.difference}-{o.inputs}" for o in VARIANTS]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[Options, Path]:
    """Every variant built once, with its defaults."""
    folder = tmp_path_factory.mktemp("variants")
    return {o: build(folder / f"{i}.xlsx", o.spec) for i, o in zip(IDS, VARIANTS, strict=True)}


def cell_of(layout: Layout, quantity: str) -> str:
    return layout.by_quantity[quantity].at


def test_default_options_give_the_articles_sheet() -> None:
    """One description of the article, whichever way it is asked for: the generator's
    default is the hand-written template cell for cell (formulas, notes, labels, styles)."""
    article = load_layout("single_neuron")
    for spec in ("neuron", "neuron:", "neuron:activation=tanh,inputs=1", Options().spec):
        assert resolve_layout(spec) == article
    # The generator's snippets, run with the article's choices, give the article's cells too
    # (the template adds display formats, longer notes and a chart beside them).
    generated = generate(Options())

    def essence(layout: Layout) -> dict[str, tuple[object, ...]]:
        return {
            c.at: (c.kind, c.quantity, c.formula, c.text, c.value)
            for c in layout.cells
            if not c.decoration
        }

    assert essence(generated) == essence(article)
    assert generated.names == article.names
    assert generated.settings == article.settings
    assert {k: generated.defaults[k] for k in generated.defaults} == {
        k: article.defaults[k] for k in generated.defaults
    }


@pytest.mark.parametrize("options", VARIANTS, ids=IDS)
def test_spec_rebuilds_the_same_layout(options: Options) -> None:
    layout = resolve_layout(options.spec)
    assert layout.spec == options.spec
    generate.cache_clear()  # rebuilt from the spec alone, not handed back from the cache
    assert resolve_layout(layout.spec) == layout


def test_variant_shape() -> None:
    """What a learner sees change: numbered inputs, the snippets, a down row per nudge."""
    lay = resolve_layout("neuron:activation=sigmoid,loss=squared,difference=central,inputs=2")
    headers = [c.text for c in lay.labels if c.at.endswith("1") and len(c.at) == 2]
    assert headers[:5] == ["Input 1", "Input 2", "Weight 1", "Weight 2", "Bias"]
    net, out, err = (cell_of(lay, q) for q in ("net", "output", "error"))
    inputs = [cell_of(lay, f"input{k}") for k in (1, 2)]
    weights = [cell_of(lay, f"weight{k}") for k in (1, 2)]
    bias = cell_of(lay, "bias")
    assert lay.by_quantity["net"].formula == (
        f"={inputs[0]}*{weights[0]}+{inputs[1]}*{weights[1]}+{bias}"
    )
    assert lay.by_quantity["output"].formula == f"=1/(1+EXP(-{net}))"
    assert lay.by_quantity["local.net"].formula == f"={out}*(1-{out})"
    assert lay.by_quantity["local.output"].formula == f"=2*{err}"
    assert lay.by_quantity["loss"].formula == f"={err}^2"
    up, down = cell_of(lay, "nudge.weight2.loss"), cell_of(lay, "nudge.weight2.down.loss")
    assert lay.by_quantity["nudge.weight2.gradient"].formula == f"=({up}-{down})/(2*Tiny)"
    real = cell_of(lay, "global.weight2")
    faux = cell_of(lay, "nudge.weight2.gradient")
    assert lay.by_quantity["nudge.weight2.distance"].formula == f"=ABS({faux}-{real})"
    assert lay.settings["model"] == "neuron_n"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("neuron:activation=softmax", "activation must be one of tanh, sigmoid, relu, linear"),
        ("neuron:loss=abs", "loss must be one of"),
        ("neuron:difference=backward", "difference must be one of forward, central"),
        ("neuron:inputs=0", "inputs must be a whole number"),
        ("neuron:inputs=two", "inputs must be a whole number"),
        ("neuron:distance=maybe", "distance must be yes or no"),
        ("neuron:colour=red", "no option 'colour'"),
        ("neuron:inputs", "should look like key=value"),
    ],
)
def test_bad_options_are_one_sentence(spec: str, words: str) -> None:
    with pytest.raises(SheetgenError, match=re.escape(words)):
        resolve_layout(spec)


@pytest.mark.parametrize("options", VARIANTS, ids=IDS)
def test_every_variant_builds_and_verifies(built: dict[Options, Path], options: Options) -> None:
    layout = resolve_layout(options.spec)
    report = verify_workbook(built[options])  # no layout given: the workbook says which
    assert report.layout == options.spec
    assert report.ok, to_text(report, only_wrong=True)
    assert [c.cell for c in report.cells] == [c.at for c in layout.checked]
    if options.shows_distance:
        assert sum(c.quantity.endswith(".distance") for c in report.cells) == 3 + 2 * options.inputs


def edited(path: Path, tmp_path: Path, changes: Mapping[str, object]) -> Path:
    """A copy of ``path`` with cells changed as a learner would (values or formulas)."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Neuron"]
    for at, value in changes.items():
        ws[at] = value
    out = tmp_path / f"edited-{path.name}"
    wb.save(out)
    return out


@pytest.mark.parametrize("options", VARIANTS, ids=IDS)
def test_formulas_are_live(built: dict[Options, Path], options: Options, tmp_path: Path) -> None:
    """Change every parameter: every formula follows, and still agrees with the reference."""
    layout = resolve_layout(options.spec)
    new = {c.at: round(-0.37 + 0.13 * i, 2) for i, c in enumerate(layout.inputs)}
    new[cell_of(layout, "tiny")] = 1e-5
    new[cell_of(layout, "target")] = -0.25
    report = verify_workbook(edited(built[options], tmp_path, new))
    assert report.ok, to_text(report, only_wrong=True)
    assert report.parameters["tiny"] == 1e-5


# Mistakes a learner makes, written out here rather than derived from the family file.
WRONG_OUTPUT = {
    "tanh": "=1/(1+EXP(-{net}))",
    "sigmoid": "=TANH({net})",
    "relu": "=TANH({net})",
    "linear": "=TANH({net})",
}
WRONG_DERIVATIVE = {
    "tanh": "=1-{output}",  # forgot the square
    "sigmoid": "={output}*(1+{output})",
    "relu": "=IF({net}>0,0,1)",  # the wrong way round
    "linear": 0,  # typed over the 1
}
WRONG_LOSS = {"half-squared": "={error}^2", "squared": "={error}^2/2"}
WRONG_LOSS_GRADIENT = {"half-squared": "=2*{error}", "squared": "={error}"}


def mistakes(options: Options, layout: Layout) -> dict[str, tuple[str, object]]:
    """name -> (cell, what the learner typed there)."""

    def fill(text: object) -> object:
        if not isinstance(text, str):
            return text
        return re.sub(r"\{(\w+)\}", lambda m: cell_of(layout, m.group(1)), text)

    faux = layout.by_quantity["nudge.bias.gradient"].formula
    assert faux is not None
    found = {
        "activation": ("output", fill(WRONG_OUTPUT[options.activation])),
        "derivative": ("local.net", fill(WRONG_DERIVATIVE[options.activation])),
        "loss": ("loss", fill(WRONG_LOSS[options.loss])),
        "loss gradient": ("local.output", fill(WRONG_LOSS_GRADIENT[options.loss])),
        # a typed nudge instead of the Tiny name
        "faux": ("nudge.bias.gradient", faux.replace("Tiny", "0.001")),
    }
    if options.difference == "central":  # forgot the 2 of 2·Tiny
        gradient = layout.by_quantity["nudge.net.gradient"].formula
        assert gradient is not None
        found["central"] = ("nudge.net.gradient", gradient.replace("(2*Tiny)", "Tiny"))
    if options.inputs > 1:  # the net forgets the last input
        net = layout.by_quantity["net"].formula
        assert net is not None
        found["net"] = ("net", re.sub(r"\+[A-Z]+2\*[A-Z]+2(?=\+[A-Z]+2$)", "", net))
    return {k: (cell_of(layout, q), v) for k, (q, v) in found.items()}


@pytest.mark.parametrize("options", VARIANTS, ids=IDS)
def test_a_broken_formula_is_caught_and_named(
    built: dict[Options, Path], options: Options, tmp_path: Path
) -> None:
    """Each mistake, alone in a copy of the sheet, is the cell the report names as wrong.
    The first goes through a saved file and the text report; the rest are checked in
    memory (the same `check`, without the file round trip) to keep the suite quick, and so
    are only two per five-input sheet: the N-input mistake, and the others taking turns."""
    layout = resolve_layout(options.spec)
    found = mistakes(options, layout)
    if options.inputs > 2:  # big sheets: the N-input mistake and one other, in turn
        others = sorted(set(found) - {"net"})
        turn = others[VARIANTS.index(options) % len(others)]
        found = {k: v for k, v in found.items() if k in ("net", turn)}
    for i, (mistake, (at, typed)) in enumerate(found.items()):
        original = {c.at: c for c in layout.cells}[at]
        assert typed not in (original.formula, original.value), mistake
        if i == 0:
            report = verify_workbook(edited(built[options], tmp_path, {at: typed}))
            assert re.search(rf"^{at}\s.*\sWRONG$", to_text(report), re.M), mistake
        else:
            wb = build_workbook(layout, parameters(layout))
            wb[layout.sheet][at] = typed
            report = check(wb, wb[layout.sheet], layout)
        verdict = {c.cell: c for c in report.cells}[at]
        assert not report.ok, mistake
        assert verdict.status == "wrong", (mistake, verdict)
        assert verdict.message.startswith(f"{at} "), verdict.message


def test_cli_builds_verifies_and_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sigmoid.xlsx"
    args = ["--activation", "sigmoid", "--loss", "squared", "--difference", "central"]
    assert main(["build", "-o", str(out), *args, "--inputs", "2"]) == 0
    assert main(["verify", str(out)]) == 0
    assert "OK" in capsys.readouterr().out
    options = Options(activation="sigmoid", loss="squared", difference="central", inputs=2)
    broken = edited(out, tmp_path, {cell_of(resolve_layout(options.spec), "loss"): "=1"})
    assert main(["verify", str(broken)]) == 1
    assert main(["templates"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("single_neuron ") for line in lines)
    family = [line for line in lines if line.startswith("neuron:")]
    assert len(family) == 1
    for word in ("tanh|sigmoid|relu|linear", "half-squared|squared", "forward|central"):
        assert word in family[0]


def test_cli_names_variant_files_and_refuses_nonsense(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--activation", "relu"]) == 0
    assert main(["build", "--difference", "central", "--inputs", "3"]) == 0
    assert main(["build"]) == 0
    names = sorted(p.name for p in (tmp_path / "output").iterdir())
    assert names == [
        "neuron-relu-half-squared-forward-1in.xlsx",
        "neuron-tanh-half-squared-central-3in.xlsx",
        "single_neuron.xlsx",
    ]
    capsys.readouterr()
    assert main(["build", "--inputs", "0"]) == 2
    assert main(["build", "--inputs", "2", "--input", "0.3"]) == 2
    err = capsys.readouterr().err
    assert "inputs must be a whole number" in err
    assert "no parameter 'input'" in err
    assert "Traceback" not in err


def test_variant_spec_applies_options_to_a_neuron_spec() -> None:
    assert variant_spec("single_neuron") == "single_neuron"
    assert variant_spec("neuron:inputs=3", loss="squared") == Options(loss="squared", inputs=3).spec
    assert variant_spec("single_neuron", distance=True) == Options(distance=True).spec
    with pytest.raises(UsageError, match="--inputs applies to the neuron layouts"):
        variant_spec("some_other_template", inputs=2)


def test_distance_column_is_opt_out_and_opt_in() -> None:
    article = resolve_layout(Options().spec)
    assert not any(q.endswith(".distance") for q in article.by_quantity)
    with_distance = resolve_layout(Options(distance=True).spec)
    extra = set(with_distance.by_quantity) - set(article.by_quantity)
    assert extra == {f"nudge.{x}.distance" for x in ("output", "net", "bias", "weight", "input")}
    plain = resolve_layout(Options(activation="relu", distance=False).spec)
    assert not any(q.endswith(".distance") for q in plain.by_quantity)
