"""The packed records (``CellSpec``, ``CellResult``) are the frozen slotted dataclasses they were.

Each is held equal, field by field, to a plain ``@dataclass(frozen=True, slots=True)`` written
here with the same fields and defaults: made from the same random values (seeded), both give the
same fields, compare, hash and print alike, replace, copy and pickle alike, and refuse
assignment alike.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import pickle
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from sheetgen.check.results import CellResult
from sheetgen.layouts.layout import CellSpec


@dataclass(frozen=True, slots=True)
class PlainSpec:
    at: str
    kind: str
    quantity: str | None = None
    text: str | None = None
    value: float | None = None
    formula: str | None = None
    source: str | None = None
    note: str | None = None
    style: str | None = None
    format: str | None = None
    decoration: bool = False


@dataclass(frozen=True, slots=True)
class PlainResult:
    cell: str
    quantity: str
    meaning: str
    status: str
    expected: float | None
    found: Any
    formula: str | None
    message: str = ""
    explanation: str = ""
    causes: tuple[str, ...] = ()
    graded: bool = True
    context: bool = False
    edited: bool = True
    saved: tuple[str, ...] = ()


def _text(rng: random.Random, common: tuple[str | None, ...]) -> str | None:
    """Mostly one of ``common`` (so that records share their tails), sometimes a fresh one."""
    return rng.choice(common) if rng.random() < 0.7 else f"t{rng.randrange(10**6)}"


def _spec_values(rng: random.Random) -> dict[str, Any]:
    return {
        "at": f"{rng.choice('ABCDE')}{rng.randrange(1, 99)}",
        "kind": rng.choice(["text", "input", "constant", "formula"]),
        "quantity": _text(rng, (None, "w", "nudge.b2_1.real")),
        "text": _text(rng, (None, None, "Inputs")),
        "value": rng.choice([None, None, 0.5, -0.0, float("nan")]),
        "formula": _text(rng, (None, "=B2*C2")),
        "source": _text(rng, (None, None, "={w}*{x}")),
        "note": _text(rng, (None, None, "d net / d weight = input.")),
        "style": _text(rng, (None, None, "input")),
        "format": _text(rng, (None, None, "0.0000")),
        "decoration": rng.random() < 0.2,
    }


def _result_values(rng: random.Random) -> dict[str, Any]:
    quantity = _text(rng, ("w", "net", "nudge.w1.gradient")) or "q"
    return {
        "cell": f"{rng.choice('ABCDE')}{rng.randrange(1, 99)}",
        "quantity": quantity,
        "meaning": rng.choice([quantity, quantity, "the weight", str(quantity)]),
        "status": rng.choice(["ok", "ok", "wrong", "todo", "unchecked"]),
        "expected": rng.choice([None, 0.25, 1e-300, float("inf")]),
        "found": rng.choice([None, 0.25, "x", True, 0.75]),
        "formula": _text(rng, (None, "=B2*C2")),
        "message": _text(rng, ("", "", "E2 is still to do.")) or "",
        "explanation": _text(rng, ("", "", "Because of B2.")) or "",
        "causes": rng.choice([(), (), ("B2",), ("B2", "C3")]),
        "graded": rng.random() < 0.8,
        "context": rng.random() < 0.3,
        "edited": rng.random() < 0.5,
        "saved": rng.choice([(), (), ("B2",)]),
    }


COPIES: tuple[Callable[[Any], Any], ...] = (
    copy.copy,
    copy.deepcopy,
    lambda r: pickle.loads(pickle.dumps(r)),
)
CASES = [(CellSpec, PlainSpec, _spec_values), (CellResult, PlainResult, _result_values)]


def _fields(cls: Any) -> list[tuple[str, Any]]:
    return [(f.name, f.default) for f in dataclasses.fields(cls)]


@pytest.mark.parametrize(("packed", "plain", "values"), CASES)
def test_a_packed_record_has_the_plain_dataclasses_fields(
    packed: Any, plain: Any, values: Any
) -> None:
    assert _fields(packed) == _fields(plain)
    assert not hasattr(packed(**values(random.Random(0))), "__dict__")
    assert dataclasses.is_dataclass(packed)


@pytest.mark.parametrize(("packed", "plain", "values"), CASES)
def test_a_packed_record_is_held_equal_to_the_plain_dataclass(
    packed: Any, plain: Any, values: Any
) -> None:
    rng = random.Random(2026)
    names = [f.name for f in dataclasses.fields(plain)]
    made: list[tuple[Any, Any]] = []
    for _ in range(400):
        given = values(rng)
        new, old = packed(**given), plain(**given)
        made.append((new, old))
        assert [getattr(new, n) for n in names] == [getattr(old, n) for n in names]
        for n in names:
            assert type(getattr(new, n)) is type(getattr(old, n)), n
        assert repr(new) == repr(old).replace(plain.__name__, packed.__name__, 1)
        assert hash(new) == hash(old)
        assert dataclasses.asdict(new) == dataclasses.asdict(old)
        assert dataclasses.astuple(new) == dataclasses.astuple(old)
        for how in COPIES:
            copied = how(new)  # a pickled NaN is another NaN: equal as the dataclass's is
            assert type(copied) is packed and (copied == new) == (how(old) == old)
            assert repr(copied) == repr(new)
        # Replacing any one field, with another record's value of it.
        other = values(rng)
        for n in names:
            changed = dataclasses.replace(new, **{n: other[n]})
            assert dataclasses.astuple(changed) == dataclasses.astuple(
                dataclasses.replace(old, **{n: other[n]})
            )
            assert (changed == new) == (dataclasses.replace(old, **{n: other[n]}) == old)
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(new, n, other[n])
        assert new != old  # no record equals another class's, as between dataclasses
        again = packed(**given)
        assert (again == new) == (plain(**given) == old)
        assert hash(again) == hash(new)
    # Equality among themselves as the dataclasses' (records of other values).
    for (a, old_a), (b, old_b) in itertools.pairwise(made):
        assert (a == b) == (old_a == old_b)


def test_verdicts_made_without_init_are_the_ones_init_makes() -> None:
    rng = random.Random(5)
    for _ in range(300):
        given = _result_values(rng)
        c = CellResult(**given)
        assert c.unedited() == dataclasses.replace(c, edited=False)
        assert c.explained(("Z1",), "why") == dataclasses.replace(
            c, causes=("Z1",), explanation="why"
        )
        if given["expected"] is not None:
            args = (given["cell"], given["quantity"], given["meaning"], given["expected"])
            right = CellResult.right(*args, given["found"], given["formula"])
            plain = PlainResult(*args[:3], "ok", args[3], given["found"], given["formula"])
            assert dataclasses.astuple(right) == dataclasses.astuple(plain)
            assert right == CellResult(*args[:3], "ok", args[3], given["found"], given["formula"])


def test_a_verdict_takes_what_the_dataclass_took() -> None:
    # Lists where tuples belong are kept as given, as the dataclass kept them (never hashed
    # to be shared).
    given: dict[str, Any] = {
        "cell": "B2",
        "quantity": "q",
        "meaning": "q",
        "status": "wrong",
        "expected": 1.0,
        "found": 2.0,
        "formula": None,
        "causes": ["A1"],
        "saved": ["A1"],
    }
    assert dataclasses.astuple(CellResult(**given)) == dataclasses.astuple(PlainResult(**given))
    unedited = CellResult(**given).unedited()
    assert dataclasses.astuple(unedited) == dataclasses.astuple(PlainResult(**given, edited=False))
