"""The network sheet: its reference against an independent oracle, and the built workbook."""

from __future__ import annotations

import re
from pathlib import Path

import mpmath
import openpyxl
import pytest

from sheetgen import build, verify_workbook
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.network import network_model
from sheetgen.maths.network import Network, default_parameters, parse_layers

ARCHITECTURES = ["2-3-1", "1-1", "3-4-2", "2-3-3-1", "4-5-3-2"]


# --- The oracle: the network's loss at 50 digits, written here from the maths alone. ----------


def oracle_loss(sizes: list[int], p: dict[str, mpmath.mpf], activation: str) -> mpmath.mpf:
    act = {"tanh": mpmath.tanh, "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x))}[activation]
    values = [p[f"x{i + 1}"] for i in range(sizes[0])]
    for layer in range(1, len(sizes)):
        values = [
            act(
                mpmath.fsum(
                    values[i] * p[f"w{layer}_{j + 1}_{i + 1}"] for i in range(sizes[layer - 1])
                )
                + p[f"b{layer}_{j + 1}"]
            )
            for j in range(sizes[layer])
        ]
    return mpmath.fsum((v - p[f"target{j + 1}"]) ** 2 / 2 for j, v in enumerate(values))


def oracle_gradients(
    sizes: list[int], params: dict[str, float], activation: str
) -> dict[str, float]:
    """d loss / d each weight and bias by central differences at 50 digits (error ~1e-40)."""
    with mpmath.workdps(50):
        p = {k: mpmath.mpf(v) for k, v in params.items()}
        h = mpmath.mpf("1e-20")
        out = {}
        for name in p:
            if not re.fullmatch(r"[wb]\d+(_\d+)+", name):
                continue
            up, down = dict(p), dict(p)
            up[name] += h
            down[name] -= h
            out[name] = float(
                (oracle_loss(sizes, up, activation) - oracle_loss(sizes, down, activation))
                / (2 * h)
            )
        return out


@pytest.mark.parametrize("layers", ARCHITECTURES)
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_reference_gradients_match_high_precision_differences(layers: str, activation: str) -> None:
    sizes = parse_layers(layers)
    params = default_parameters(sizes)
    net = Network(sizes, params, activation)
    grads = net.gradients()
    expected = oracle_gradients(list(sizes), params, activation)
    assert len(expected) == sum(sizes[k] * (sizes[k - 1] + 1) for k in range(1, len(sizes)))
    for name, want in expected.items():
        assert grads[f"global.{name}"] == pytest.approx(want, rel=1e-12, abs=1e-15), name
    with mpmath.workdps(50):
        exact = oracle_loss(list(sizes), {k: mpmath.mpf(v) for k, v in params.items()}, activation)
    assert net.forward()["loss"] == pytest.approx(float(exact), rel=1e-13)


def test_reference_is_not_fooled_by_default_parameters() -> None:
    """Other parameters (far from the defaults, saturating tanh) still match the oracle."""
    sizes = parse_layers("3-2-2")
    params = default_parameters(sizes)
    params = {k: (v * 3.7 if k != "tiny" else v) for k, v in params.items()}
    grads = Network(sizes, params).gradients()
    for name, want in oracle_gradients(list(sizes), params, "tanh").items():
        assert grads[f"global.{name}"] == pytest.approx(want, rel=1e-11, abs=1e-15), name


def test_faux_gradients_approach_the_real_ones() -> None:
    sizes = parse_layers("2-3-1")
    values = Network(sizes, default_parameters(sizes, tiny=1e-6)).quantities(1e-6)
    faux = {k: v for k, v in values.items() if k.endswith(".gradient")}
    assert len(faux) == 13
    for key, value in faux.items():
        real = values[key.replace(".gradient", ".real")]
        assert value == pytest.approx(real, abs=1e-5), key


# --- The workbook. ------------------------------------------------------------------------------


@pytest.mark.parametrize("layers", ARCHITECTURES)
def test_built_network_verifies_clean(tmp_path: Path, layers: str) -> None:
    path = build(tmp_path / "net.xlsx", f"network:layers={layers}")
    report = verify_workbook(path)  # no layout given: the workbook says what it is
    assert report.layout == "network"
    assert report.ok, [c.message for c in report.wrong][:5]
    sizes = parse_layers(layers)
    weights = sum(sizes[k] * sizes[k - 1] for k in range(1, len(sizes)))
    assert sum(c.quantity.startswith("global.w") for c in report.cells) == weights
    assert sum(c.quantity.endswith(".gradient") for c in report.cells) == weights + sum(sizes[1:])


def test_hidden_gradient_refers_to_the_next_layer() -> None:
    """The chain rule is visible: d loss/d output of a hidden neuron adds the next layer's cells."""
    lay = resolve_layout("network:layers=2-3-2-1")
    at = {q: c.at for q, c in lay.by_quantity.items()}
    for layer, size, next_size in ((1, 3, 2), (2, 2, 1)):
        for j in range(1, size + 1):
            formula = lay.by_quantity[f"global.n{layer}_{j}.output"].formula or ""
            refs = set(re.findall(r"[A-Z]+\d+", formula))
            wanted = {at[f"global.n{layer + 1}_{k}.input{j}"] for k in range(1, next_size + 1)}
            assert refs == wanted


def test_learner_may_edit_parameters(tmp_path: Path) -> None:
    path = build(tmp_path / "net.xlsx", "network:layers=2-3-1")
    lay = resolve_layout("network:layers=2-3-1")
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    for quantity, value in (("w1_2_1", -1.3), ("x2", 0.9), ("target1", -0.2), ("b2_1", 2.0)):
        ws[lay.by_quantity[quantity].at] = value
    wb.save(path)
    report = verify_workbook(path)
    assert report.ok
    assert report.parameters["w1_2_1"] == -1.3


def test_formula_broken_deep_in_a_layer_is_named(tmp_path: Path) -> None:
    layers = "3-4-4-2"
    path = build(tmp_path / "net.xlsx", f"network:layers={layers}")
    lay = resolve_layout(f"network:layers={layers}")
    broken = lay.by_quantity["local.n1_3.net"]  # first hidden layer, deepest from the loss
    wb = openpyxl.load_workbook(path)
    wb.active[broken.at] = (broken.formula or "").replace("^2", "^3")
    wb.save(path)
    report = verify_workbook(path)
    assert not report.ok
    wrong = {c.cell: c for c in report.wrong}
    assert broken.at in wrong and wrong[broken.at].quantity == "local.n1_3.net"
    assert broken.at in wrong[broken.at].message
    # What it feeds is wrong too; the other neurons of the same layer are not.
    assert lay.by_quantity["global.w1_3_2"].at in wrong
    assert lay.by_quantity["global.w1_2_2"].at not in wrong


def test_default_parameters_are_reproducible(tmp_path: Path) -> None:
    one = build(tmp_path / "a.xlsx", "network:layers=3-5-2")
    two = build(tmp_path / "b.xlsx", "network:layers=3-5-2")
    read = [verify_workbook(p).parameters for p in (one, two)]
    assert read[0] == read[1]
    assert all(isinstance(v, float) and abs(v) < 1 for v in read[0].values())


@pytest.mark.parametrize("spec", ["network:layers=2", "network:layers=2-0-1", "network:size=3"])
def test_bad_specs_are_refused_in_one_sentence(spec: str) -> None:
    from sheetgen.errors import SheetgenError

    with pytest.raises(SheetgenError):
        resolve_layout(spec)


def test_tolerance_scales_with_the_network() -> None:
    """The model's magnitudes bound the rounding; a formula slip exceeds them by far."""
    from sheetgen.check.verify import tolerance

    sizes = parse_layers("2-3-1")
    ref = network_model(default_parameters(sizes), {"layers": "2-3-1"})
    for q, v in ref.values.items():
        assert tolerance(q, v, ref) < 1e-9 * max(1.0, abs(v)), q
