"""A compiled formula: a frozen value of its inputs and the form its shape shares."""

from __future__ import annotations

import dataclasses
import random

import pytest

from sheetgen.engine.compiled import Compiled, Form, Problem, compile_formula


def test_a_renamed_formula_is_the_one_its_constructor_makes() -> None:
    shape = compile_formula("=B5*C5+D5")
    other = shape.renamed(("B6", "C6", "D6"))
    made = Compiled(("B6", "C6", "D6"), shape.form)
    assert other == made and hash(other) == hash(made) and repr(other) == repr(made)
    assert other.form is shape.form  # held once for the shape
    assert other.inputs == ("B6", "C6", "D6") and shape.inputs == ("B5", "C5", "D5")
    assert compile_formula("=B6*C6+D6") == made
    assert other != shape and hash(other) != hash(shape)


def test_a_compiled_formula_cannot_be_changed() -> None:
    compiled = compile_formula("=B5*C5+D5").renamed(("B7", "C7", "D7"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        compiled.inputs = ("A1",)  # type: ignore[misc]
    # A property (Python 3.11's frozen slotted class raises TypeError for it, later ones
    # AttributeError): never set either way.
    with pytest.raises((AttributeError, TypeError)):
        compiled.function = None  # type: ignore[misc]
    assert not hasattr(compiled, "__dict__")


def test_its_properties_read_the_shared_form() -> None:
    problem = Problem("unsupported", "why")
    failed = Compiled.failed(problem)
    assert failed == Compiled((), Form(None, problem))
    assert (failed.function, failed.problem, failed.inputs) == (None, problem, ())
    whole = compile_formula("=TANH(E:E)+_xlfn.SINGLE(F:F)")
    assert whole.always == whole.form.always == frozenset({"F:F"})
    assert whole.legacy == whole.form.legacy == frozenset({"E:E"})
    called = compile_formula("=MYTANH(E2)")
    assert called.calls == called.form.calls and "MYTANH" in called.calls
    assert called.function is called.form.function is not None


def _random_formula(rng: random.Random) -> str:
    """A formula of cells in either case, now and then with ``$``, repeated, beside names,
    numbers and functions whose names look like cells (``LOG10(``)."""
    cells = [f"{rng.choice(['A', 'b', 'Ar', 'xFd', 'V'])}{rng.randint(1, 400)}" for _ in range(6)]
    terms = []
    for _ in range(rng.randint(1, 9)):
        cell = rng.choice(cells)
        if rng.random() < 0.05:
            cell = "$" + cell
        terms.append(
            rng.choice(
                [
                    cell,
                    f"TANH({cell})",
                    f"LOG10({cell})",
                    f"{cell}*0.5",
                    f"-{cell}",
                    f"({cell}+Tiny)",
                    f"{cell}%",
                    f"EXP( {cell} )",
                    f"MAX({cell},{rng.choice(cells)})",
                ]
            )
        )
    return "=" + "".join(f"{rng.choice('+-*/^')}{t}" if i else t for i, t in enumerate(terms))


def test_a_formulas_inputs_read_off_its_words_are_those_it_compiles_to() -> None:
    # What the evaluator reads again for a computed cell instead of keeping its compilation.
    rng = random.Random(22)
    read = 0
    texts = [_random_formula(rng) for _ in range(400)]
    texts += ["=B5*C5+B5", "=b5*c5", "=LOG10(B5)+B5", "=A1+Tiny", "=B5*0.5E+2", "=B5 - C5"]
    for text in texts:
        compiled = compile_formula(text)
        found = compiled.form.inputs_in(text)
        if found is None:
            assert "$" in text or compiled.function is None or not text.isascii(), text
            continue
        read += 1
        assert tuple(found) == compiled.inputs, text
    assert read > len(texts) // 2
    # Text the words cannot say: "$", past ASCII, a spill, strings and ranges.
    for text in ["=$B$5*C5", "=B5*C5+\u00e9", "=SUM(A1#)+B2", '=B5&"x"', "=SUM(B5:B9)"]:
        assert compile_formula(text).form.inputs_in(text) is None, text
