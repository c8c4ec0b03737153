"""The network's faux rows: every nudged forward pass (computed together, as arrays) against
an oracle at 50 digits written here from the maths alone, and against the one-pass-at-a-time
reference."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import mpmath
import openpyxl
import pytest

from sheetgen import build, verify_workbook
from sheetgen.cli import main
from sheetgen.errors import UsageError
from sheetgen.layouts import families
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.network import network_layout, planned_cells
from sheetgen.maths import network as network_maths
from sheetgen.maths.network import Network, affected, default_parameters, learnable, parse_layers
from sheetgen.workbook.safety import DEFAULT_LIMITS, Limits
from sheetgen.writer import build as writer_build
from sheetgen.writer.build import build_within

ORACLE_ACTIVATIONS = {
    "tanh": mpmath.tanh,
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "relu": lambda x: max(mpmath.mpf(0), x),
    "linear": lambda x: x,
}


def oracle_pass(sizes: list[int], p: dict[str, mpmath.mpf], activation: str) -> dict[str, object]:
    """Every neuron's net and output and the loss, at the working precision."""
    act = ORACLE_ACTIVATIONS[activation]
    out: dict[str, object] = {}
    values = [p[f"x{i + 1}"] for i in range(sizes[0])]
    for layer in range(1, len(sizes)):
        nets = [
            mpmath.fsum(values[i] * p[f"w{layer}_{j + 1}_{i + 1}"] for i in range(sizes[layer - 1]))
            + p[f"b{layer}_{j + 1}"]
            for j in range(sizes[layer])
        ]
        values = [act(n) for n in nets]
        for j, (n, v) in enumerate(zip(nets, values, strict=True)):
            out[f"n{layer}_{j + 1}.net"], out[f"n{layer}_{j + 1}.output"] = n, v
    out["loss"] = mpmath.fsum((v - p[f"target{j + 1}"]) ** 2 / 2 for j, v in enumerate(values))
    return out


@pytest.fixture(params=["arrays", "one pass each"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways the nudged passes run: as numpy arrays, or pass by pass in plain Python
    (``ARRAY_WORK`` chooses by size; here it is forced)."""
    way: str = request.param
    monkeypatch.setattr(network_maths, "ARRAY_WORK", 0 if way == "arrays" else 10**12)
    return way


@pytest.mark.parametrize(
    ("layers", "activation"),
    [("2-3-1", "tanh"), ("3-4-2", "sigmoid"), ("2-3-3-2", "relu"), ("4-2", "linear")],
)
def test_nudged_passes_match_the_oracle(layers: str, activation: str, way: str) -> None:
    sizes = parse_layers(layers)
    tiny = 1e-4
    params = {k: v * 1.7 if k != "tiny" else v for k, v in default_parameters(sizes).items()}
    net = Network(sizes, params, activation)
    values = net.faux_gradients(tiny, net.forward())
    with mpmath.workdps(50):
        for name, layer, j in learnable(sizes):
            p = {k: mpmath.mpf(v) for k, v in params.items()}
            p[name] = mpmath.mpf(params[name] + tiny)  # the sheet nudges in doubles
            exact = oracle_pass(list(sizes), p, activation)
            for n in affected(sizes, layer, j):
                for leaf in ("net", "output"):
                    got = values[f"nudge.{name}.{n}.{leaf}"]
                    want = float(exact[f"{n}.{leaf}"])  # type: ignore[arg-type]
                    assert got == pytest.approx(want, rel=1e-13, abs=1e-15), (name, n, leaf)
            got_loss = values[f"nudge.{name}.loss"]
            assert got_loss == pytest.approx(float(exact["loss"]), rel=1e-13, abs=1e-16), name  # type: ignore[arg-type]


def test_all_at_once_is_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The arrays give what ``Network.forward(name, tiny)`` gives pass by pass (to an ulp or
    two: numpy's tanh and Python's may differ in the last bit)."""
    monkeypatch.setattr(network_maths, "ARRAY_WORK", 0)
    sizes = parse_layers("5-4-3")
    net = Network(sizes, default_parameters(sizes))
    f = net.forward()
    values = net.faux_gradients(1e-4, f)
    for name, layer, j in learnable(sizes):
        up = net.forward(name, 1e-4)
        for n in affected(sizes, layer, j):
            assert values[f"nudge.{name}.{n}.net"] == pytest.approx(up[f"{n}.net"], rel=1e-15)
        assert values[f"nudge.{name}.loss"] == pytest.approx(up["loss"], rel=1e-14)


# --- Which weights and biases get a faux row (faux=), and sheets too large to check. -----------


@pytest.mark.parametrize(
    "options",
    [
        {"layers": "2-3-1"},
        {"layers": "1-1"},
        {"layers": "2-3-1", "faux": "none"},
        {"layers": "3-4-2-2", "faux": "5"},
        {"layers": "3-4-2-2", "faux": "w1_1_1+b3_2"},
        {"layers": "4-5-3-2", "activation": "sigmoid", "faux": "40"},
    ],
)
def test_cells_are_counted_without_making_them(options: dict[str, str]) -> None:
    assert planned_cells(options) == len(network_layout(options).cells)


SAMPLE_3_4_2 = ["b1_2", "w1_4_3", "w2_1_2", "w2_1_4", "w2_2_2"]


def _faux_rows(options: dict[str, str]) -> list[str]:
    quantities = [c.quantity or "" for c in network_layout(options).cells]
    return [q.split(".")[1] for q in quantities if q.startswith("nudge.") and q.endswith(".real")]


def test_faux_chooses_all_none_a_sample_or_names() -> None:
    every = [name for name, _, _ in learnable(parse_layers("3-4-2"))]
    assert _faux_rows({"layers": "3-4-2"}) == every
    assert _faux_rows({"layers": "3-4-2", "faux": "all"}) == every
    assert _faux_rows({"layers": "3-4-2", "faux": "none"}) == []
    assert _faux_rows({"layers": "3-4-2", "faux": "b2_1+w1_1_1"}) == ["w1_1_1", "b2_1"]
    sample = _faux_rows({"layers": "3-4-2", "faux": "5"})
    assert len(sample) == 5 and set(sample) < set(every)
    # A hash of each name chooses, not a random generator: the same on every build and Python.
    digest = {n: hashlib.sha256(f"3-4-2:{n}".encode()).hexdigest() for n in every}
    first = set(sorted(every, key=digest.__getitem__)[:5])
    assert sample == [n for n in every if n in first] == SAMPLE_3_4_2
    assert _faux_rows({"layers": "3-4-2", "faux": "999"}) == every


@pytest.mark.parametrize("faux", ["w9_9_9", "x1", "+", "w1_1_1+nope"])
def test_unknown_faux_names_are_refused_in_one_sentence(faux: str) -> None:
    with pytest.raises(UsageError, match=r"^faux: the 2-3-1 network has no weight or bias .*\.$"):
        network_layout({"layers": "2-3-1", "faux": faux})


def test_the_model_computes_only_the_chosen_rows() -> None:
    sizes = parse_layers("2-3-1")
    values = Network(sizes, default_parameters(sizes)).quantities(1e-4, ("w1_2_1",))
    assert {k.split(".")[1] for k in values if k.startswith("nudge.")} == {"w1_2_1"}


def test_a_sample_verifies_and_its_spec_is_recorded(tmp_path: Path) -> None:
    path = build(tmp_path / "n.xlsx", "network:layers=3-4-2,faux=6")
    report = verify_workbook(path)  # the recorded spec regenerates the same sample
    assert report.ok, [c.cell for c in report.wrong]
    assert report.spec.endswith(",faux=6")
    assert sum(c.quantity.endswith(".gradient") for c in report.cells if c.quantity) == 6


def test_faux_rows_a_learner_left_out_are_named_not_failed(tmp_path: Path) -> None:
    path = build(tmp_path / "n.xlsx", "network:layers=2-3-1")
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    assert ws is not None
    labels = ("Faux gradient of 'w1_1_1':", "Faux gradient of 'b2_1':")
    for row in ws.iter_rows():
        if row[0].value in labels:
            for cell in row:
                cell.value = None
    wb.save(tmp_path / "cleared.xlsx")
    report = verify_workbook(tmp_path / "cleared.xlsx")
    assert report.ok
    named = "faux-gradient rows of w1_1_1, b2_1 are not in the sheet"
    assert any(named in w for w in report.warnings)
    assert not any(c.quantity and c.quantity.startswith("nudge.w1_1_1.") for c in report.cells)
    # A row whose label is there is judged whole: its emptied cells are wrong, not skipped.
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    assert ws is not None
    for row in ws.iter_rows():
        if row[0].value == labels[0]:
            for cell in row[1:]:
                cell.value = None
    wb.save(tmp_path / "emptied.xlsx")
    assert not verify_workbook(tmp_path / "emptied.xlsx").ok


def test_a_sheet_too_large_to_check_is_refused_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused from the spec's arithmetic, before any layout is made: no clock is read (a
    loaded machine took 4.7 s of wall clock for 0.6 s of CPU), the work that would take
    minutes is shown not to start. ``benchmarks/growth.py`` times the refusal."""

    def no_layout(*args: object, **kwargs: object) -> None:
        raise AssertionError("the layout was made before the refusal")

    for module in (families, writer_build):
        monkeypatch.setattr(module, "resolve_layout", no_layout)
    code = main(["build", "network", "--layers", "200,200,1", "-o", str(tmp_path / "big.xlsx")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not (tmp_path / "big.xlsx").exists()
    assert len(err.splitlines()) == 1, err
    for words in ("648,648 cells", "max_cells", "fewer or smaller layers", "--faux N", "5503 fit"):
        assert words in err, err
    assert "--limit max_cells=650000" in err


def test_whatever_build_writes_verify_reads_within_the_same_limits(tmp_path: Path) -> None:
    """The promise at a small limit, so it runs in a second: a sheet just under it is built and
    verified within it; one just over is refused, and the N the refusal offers fits."""
    limits = Limits(max_cells=3000)
    fits = "network:layers=6-8-2"
    assert planned_cells({"layers": "6-8-2"}) <= 3000
    report = verify_workbook(build_within(limits, tmp_path / "fits.xlsx", fits), limits=limits)
    assert report.ok
    with pytest.raises(UsageError, match="fewer faux rows") as refused:
        build_within(limits, tmp_path / "over.xlsx", "network:layers=8-12-3")
    assert not (tmp_path / "over.xlsx").exists()
    offered = int(re.search(r"--faux N for a sample: (\d+) fit", str(refused.value))[1])  # type: ignore[index]
    spec = f"network:layers=8-12-3,faux={offered}"
    report = verify_workbook(build_within(limits, tmp_path / "n.xlsx", spec), limits=limits)
    assert report.ok
    assert planned_cells({"layers": "8-12-3", "faux": str(offered + 1)}) > 3000


@pytest.mark.parametrize(
    "spec",
    [
        "neuron:inputs=100,difference=central",
        "network:layers=64-32-10",
        "network:layers=200-200-1,faux=5503",
    ],
)
def test_every_family_at_its_largest_fits_what_verify_reads(spec: str) -> None:
    """The largest sheet a family builds has no more cells than ``verify`` reads by default,
    so whatever builds, verifies: the neuron's at its 100 inputs; the network's counted (it
    has no ceiling but this one, which ``build`` enforces)."""
    from sheetgen.layouts.families import planned_cells as planned

    counted = planned(spec)
    cells = counted if counted is not None else len(resolve_layout(spec).cells)
    assert cells <= DEFAULT_LIMITS.max_cells, (spec, cells)


@pytest.mark.parametrize(("spec", "most"), [("training:", 10_000), ("training:layers=3-3-1,", 0)])
def test_training_at_its_most_steps_fits_what_verify_reads(spec: str, most: int) -> None:
    """A training sheet is one row per step, so its cells are ``a + b * steps``: measured at 1
    and 2 steps, then taken at the most steps the family allows (10,000 for the neuron; for a
    network, as many as its table's 200,000 formula cells allow)."""
    from sheetgen.layouts.network_training import MAX_CELLS, columns

    one, two = (len(resolve_layout(f"{spec}steps={k}").cells) for k in (1, 2))
    steps = most or MAX_CELLS // len(columns(parse_layers("3-3-1")))
    assert one + (two - one) * (steps - 1) <= DEFAULT_LIMITS.max_cells
