"""A compiled formula: a frozen value of its inputs and the form its shape shares."""

from __future__ import annotations

import dataclasses
import random

import pytest

from sheetgen import a1
from sheetgen.engine.compiled import Compiled, Form, Problem, compile_by_shape, compile_formula


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


def _primed(primer: str, text: str) -> Compiled:
    """``text`` compiled just after ``primer``, whose pattern it may be tried against."""
    compile_formula.cache_clear()
    compile_formula(primer)
    return compile_formula(text)


@pytest.mark.parametrize(
    ("primer", "text"),
    [
        ("=B5*C5+D5", "=B6*C6+D6"),  # the shortcut's case: another row
        ("=B5*C5+D5", "=B6*C6+D65"),
        ("=B1*C5", "=1B*C5"),  # a word of digits and letters that is no cell
        ("=B1*C5", "=B*C15"),
        ("=B1*C5", "=B1C*5"),
        ("=B5*B6", "=B5*B5"),  # a cell read twice: another shape
        ("=B5*B6+B5", "=B5*B6+B6"),  # read twice, in another order
        ("=B5*B6+B5", "=B7*B8+B7"),
        ("=B5*B5", "=B6*B6"),
        ("=b5*C5", "=b6*C6"),  # lower case, as Excel would take it
        ("=B5*C5", "=b6*C6"),
        ("=LOG10(B5)", "=LOG11(B5)"),  # a function's digits
        ("=LOG10(B5)", "=LOG10(B6)"),
        ("=TANH(B5)*2", "=TANH(B5)*3"),  # a number's digits
        ("=TANH(B5)*2", "=TANH(B6)*2"),
        ("=(B5-C5)/Tiny", "=(B6-C6)/Tiny"),  # a defined name among the cells
        ("=B5+x.B5", "=B6+x.B6"),
        ("=B5+C5", "=B5+C5+D5"),  # more words
        ("=B5+C5+D5", "=B5+C5"),
        ("=ABC5+C5", "=ABC6+C6"),
        ("=XFD1048576+A1", "=XFD1048577+A1"),  # past the grid: as a1.shape reads it
        ("=B5_1+C5", "=B6_1+C6"),
        ("=B5+C5", "=B5+C5:D5"),  # not plain
    ],
)
def test_a_formula_tried_against_a_pattern_compiles_as_by_its_shape(primer: str, text: str) -> None:
    assert _primed(primer, text) == compile_by_shape(text)


def test_a_formula_of_a_known_pattern_is_compiled_without_its_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    primer = "=B5*C5+D5*E5+F5*G5+H5*I5+J5*K5+L5*M5+N5*O5+P5*Q5+R5"  # a sum of many cells
    compile_formula.cache_clear()
    compile_formula(primer)
    compile_formula("=B5*B5+C5")
    monkeypatch.setattr(a1, "shape", None)  # not called for the rows below
    for row in (6, 99, 1000):
        found = compile_formula(primer.replace("5", str(row))).inputs
        assert sorted(found) == sorted(f"{c}{row}" for c in "BCDEFGHIJKLMNOPQR")
        assert set(compile_formula(f"=B{row}*B{row}+C{row}").inputs) == {f"B{row}", f"C{row}"}
    monkeypatch.undo()
    text = primer.replace("5", "6")
    assert compile_formula(text) == compile_by_shape(text)


def test_random_formulas_compile_as_by_their_shapes() -> None:
    """Formulas in families of one skeleton (their digits changed), each compiled after the
    one before it: the shortcut tried on every pair, and held to the general way."""
    rng = random.Random(11)
    letters = "ABCbcXT"

    def word() -> str:
        kind = rng.random()
        if kind < 0.6:
            return "".join(rng.choices(letters, k=rng.randint(1, 4))) + str(rng.randint(0, 120))
        if kind < 0.7:
            return str(rng.randint(0, 99))
        if kind < 0.8:
            return rng.choice(["Tiny", "LOG10(B2)", "TANH(C3)", "EXP(1)", "Rate_2"])
        return rng.choice(["B2", "C3", "B3"])  # cells read again

    def nudged(text: str) -> str:
        return "".join(
            str(rng.randint(0, 9)) if c.isdigit() and rng.random() < 0.3 else c for c in text
        )

    seen = 0
    for _ in range(300):
        text = "=" + "".join(f"{word()}{rng.choice('+-*/^')}" for _ in range(rng.randint(1, 12)))
        text = text[:-1]
        for _ in range(4):
            other = nudged(text)
            if rng.random() < 0.2:  # digits moved within a word
                spot = rng.randrange(len(other))
                other = other[:spot] + rng.choice("0123456789") + other[spot:]
            assert _primed(text, other) == compile_by_shape(other), (text, other)
            seen += 1
    assert seen == 1200
