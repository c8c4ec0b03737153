"""A training run's numbers held by step (``sheetgen.maths.steps``): the same names, order and
numbers as the dicts they stand for, every name found where it is and no other, and the
references of the training sheets as they were when each number had a key string of its own."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.maths.steps import Steps, Stepwise, step_of

GOLDEN = Path(__file__).parent / "golden" / "training_references.json"
SHAPES = [("number", "net", "loss", "global.weight"), ("number", "example1.loss"), ()]


def random_steps(seed: int) -> tuple[Steps, dict[str, float]]:
    """A Steps of random shapes and numbers (NaN, infinities, -0.0 among them), and the dict
    the models made before: the parameters, then ``step{k}.<leaf>`` in order."""
    rng = random.Random(seed)
    params = {"input": rng.random(), "weight": -0.0, "learning_rate": 0.1}
    held, plain = Steps(params), dict(params)
    specials = [math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324]
    for k in range(1, rng.randint(1, 40) + 1):
        leaves = rng.choice(SHAPES)
        numbers = [
            rng.choice(specials) if rng.random() < 0.2 else rng.gauss(0, 1e3) for _ in leaves
        ]
        held.add(leaves, numbers)
        plain.update((f"step{k}.{leaf}", n) for leaf, n in zip(leaves, numbers, strict=True))
    return held, plain


def same(a: Any, b: Any) -> bool:
    """The same number, bit for bit (NaN is NaN, -0.0 is not 0.0)."""
    return (
        type(a) is type(b)
        and (a == b or (a != a and b != b))
        and math.copysign(1, a) == math.copysign(1, b)
    )


@pytest.mark.parametrize("seed", range(20))
def test_steps_hold_what_the_dict_held(seed: int) -> None:
    held, plain = random_steps(seed)
    assert list(held) == list(plain)
    assert len(held) == len(plain)
    assert all(same(a, b) for a, b in zip(held.values(), plain.values(), strict=True))
    assert [k for k, _ in held.items()] == list(plain)
    for name, number in plain.items():
        assert same(held[name], number) and same(held.get(name), number) and name in held
    for ends, named in [((".loss",), None), ((".error",), "input"), (("ght",), None)]:
        want = [(k, v) for k, v in plain.items() if k == named or k.endswith(ends)]
        found = list(held.ending(ends, named))
        assert [k for k, _ in found] == [k for k, _ in want]
        assert all(same(a, b) for (_, a), (_, b) in zip(found, want, strict=True))


@pytest.mark.parametrize(
    "name",
    [
        "step01.net",
        "step0.net",
        "step.net",
        "step1",
        "step1net",
        "stepone.net",
        "step\u0661.net",
        "step+1.net",
        "step 1.net",
        "step99.net",
        "step1.missing",
        "step1.",
        "Step1.net",
        "",
        "net",
    ],
)
def test_a_name_no_step_has_is_found_nowhere(name: str) -> None:
    held = Steps({"input": 1.0})
    held.add(SHAPES[0], [1.0, 2.0, 3.0, 4.0])
    spread = Stepwise(SHAPES[0][1:], [7.0])
    for mapping in (held, spread):
        assert name not in mapping and mapping.get(name, "none") == "none"
        with pytest.raises(KeyError):
            mapping[name]
    assert step_of(name)[0] in (0, 1, 99)


def test_a_step_and_its_numbers_must_agree() -> None:
    held = Steps({})
    with pytest.raises(ValueError, match="another count"):
        held.add(("a", "b"), [1.0])
    with pytest.raises(ValueError, match="twice"):
        held.add(("a", "a"), [1.0, 2.0])
    assert len(held) == 0 and list(held) == []
    with pytest.raises(ValueError, match="parameter"):
        Steps({"step1.net": 1.0})


def test_stepwise_holds_what_the_dict_held() -> None:
    leaves = ("net", "loss", "new.bias")
    numbers = [1.0, 1.5, math.inf, 2.0**60, 1.0 + 2**-52]
    held = Stepwise(leaves, numbers)
    plain = {f"step{k}.{leaf}": a for k, a in enumerate(numbers, start=1) for leaf in leaves}
    assert list(held) == list(plain) and len(held) == len(plain)
    assert list(held.values()) == list(plain.values())
    assert list(held.items()) == list(plain.items())
    assert all(held[q] == a and held.get(q) == a and q in held for q, a in plain.items())
    # The sum the tolerances screen with, in the dict's order: the same float.
    assert sum(held.values()) == sum(plain.values()) or math.isinf(sum(plain.values()))
    assert math.inf in held.values() and 3.0 not in held.values()
    assert sum(Stepwise(leaves, numbers[:2]).values()) == sum(list(plain.values())[:6])


def golden_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(GOLDEN.read_text())["cases"]
    return cases


@pytest.mark.parametrize("case", golden_cases(), ids=lambda case: case["spec"])
def test_a_training_reference_is_the_one_recorded_before(case: dict[str, Any]) -> None:
    # Recorded from main at 3e875e4, when each number and each growth had a key of its own:
    # plain gradient descent, a classifier's conditioning, Adam given up on, a network, a batch.
    layout = resolve_layout(case["spec"])
    params = dict(layout.defaults) | case["changes"]
    reference = model_for(layout.settings)(params, layout.settings)
    values = reference.values
    assert list(values) == case["names"]
    assert [float.hex(v) for v in values.values()] == case["values"]
    assert [float.hex(values[q]) for q in case["names"]] == case["values"]
    growths = {q: float.hex(g) for q in values if (g := reference.growth(q)) != 1.0}
    assert growths == case["growths"]
    assert sorted(reference.unbounded()) == sorted(q for q, g in growths.items() if g == "inf")


@pytest.mark.parametrize(
    ("spec", "changes"),
    [
        ("training:steps=30,loss=cross-entropy", {"weight": 5e8}),
        ("training:steps=30,loss=cross-entropy", {}),
    ],
)
def test_a_classifiers_conditioning_is_the_same_from_steps_and_from_a_dict(
    spec: str, changes: dict[str, float]
) -> None:
    from dataclasses import replace

    from sheetgen.maths.models import cross_entropy_steps

    layout = resolve_layout(spec)
    reference = model_for(layout.settings)(dict(layout.defaults) | changes, layout.settings)
    plain = replace(reference, values=dict(reference.values), conditioning={})
    by_step = replace(reference, conditioning={})
    args = ("output", "target", ("global.output",), "local.net")
    want = cross_entropy_steps(plain, *args).conditioning
    found = cross_entropy_steps(by_step, *args).conditioning
    assert list(found.items()) == list(want.items())
    assert found == reference.conditioning and (math.inf in found.values()) == bool(changes)
