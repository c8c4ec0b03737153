"""A compiled formula: a frozen value of its inputs and the form its shape shares."""

from __future__ import annotations

import dataclasses

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
