"""Judge a sheet cell by cell against the reference: the verdicts and how close is close enough.

The verifier reads the sheet's own parameters (so a learner may change them), computes the
reference from them, evaluates every checked cell's formula itself, and compares. Where the
engine cannot compute a formula that Excel or LibreOffice computes, the cell is judged by the
number the learner's application saved (``CellResult.saved`` names the cells a verdict rests
on), or, with no number saved, is ``uncomputed``: not checked, never wrong.

How close is close enough. Both sides compute in IEEE doubles, but not with the same
operations (numpy's tanh and Python's differ by an ulp; the sheet sums in its own order), so a
cell is right when ``|found - expected| <= REL * |expected| + absolute``, with:

- ``computed`` cells (forward pass, local and global gradients, nudged forward passes):
  ``REL = 1e-12`` (thousands of ulps of headroom) and ``absolute = 64 eps S``, where ``S`` is the
  largest magnitude among the parameters (at least 1): it absorbs the cancellation in
  ``output - target`` when the output nearly hits the target.
- ``faux`` gradients, ``(loss' - loss) / Tiny``: a loss carries at most ``eps * Λ`` in
  rounding, ``Λ = |loss| + Σ 2 |error| (|output| + |target| + S)`` over the errors it adds
  (``Reference.loss_rounding``), and the division by Tiny magnifies the difference of two, so
  ``absolute = 64 eps max(Λ, Λ', Λ'') / |Tiny|`` with each nudged loss's Λ taken at its own
  (nudged) error: when the output sits on the target the un-nudged error is 0, the nudged
  one is not. A faux gradient's distance from the real gradient adds the real one's
  ``64 eps S``.

- Both are multiplied by the reference's ``growth(quantity)`` (1 unless the model says
  otherwise): along a training run, rounding accumulates from step to step, and the training
  model derives how much from the update map (``sheetgen.layouts.training.training_model``).

Any formula mistake changes a value by far more than that (a wrong exponent or sign, a missed
factor, another Tiny), while every equivalent formula stays far inside it.

A model may also widen a cell's allowance for an ill-conditioned step (``Reference.conditioning``:
a cross-entropy's ``ln(1 - y)`` and ``y (1 - y)`` near ``y = 1``, ``sheetgen.maths.losses``).

Where it would not, the model says so with an infinite growth and the cell is ``unchecked``,
never judged (not wrong, not scored, never a root cause: ``CellResult.checked``): late in an
RMSProp or Adam run whose gradients have fallen to rounding noise, each step divides that noise
by its own square root and the run's last digits are chaos, so no sheet's number there could be
told right from a 1 % slip (``sheetgen.layouts.optimized``). So is a cell whose reference value
is not finite: the sheet's parameters leave it undefined (a bias correction of 0) or overflow.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..engine.evaluate import CellError, Evaluator, Problem, Value
from ..layouts.families import model_for
from ..layouts.layout import CellSpec, Layout
from ..maths.losses import CROSS_ENTROPY, UNIT, targets_problem
from ..maths.models import Reference, allowance
from ..maths.optimizers import ONE_STEP_REL
from ..workbook.book import Book, Sheet, text_number
from .results import CellResult, Report, Status, Verdicts
from .show import described
from .show import number as shown

__all__ = ["EPS", "REL", "check", "judge_cell", "numeric_text", "reference_for", "tolerance"]

REL = ONE_STEP_REL
EPS = sys.float_info.epsilon
_FAUX_ENDS = (".gradient", ".distance")


def check(
    book: Book | Any,
    sheet: Sheet | Any,
    layout: Layout,
    origin: str = "",
    *,
    evaluator: Evaluator | None = None,
) -> Report:
    """Compare every checked cell of ``layout`` on ``sheet`` with the reference.

    ``book`` and ``sheet`` may also be an openpyxl ``Workbook`` and one of its worksheets.
    """
    ev = evaluator or Evaluator(book)
    title: str = sheet.title
    # The values are read where the evaluator keeps them, each under its one reference to
    # the cell: no second dict or tuple per cell (a large network has 85,000).
    ev.fill((title, c.at) for cells in (layout.inputs, layout.checked) for c in cells)
    found = ev.values
    values = {c.quantity: found[(title, c.at)] for c in layout.inputs if c.quantity}
    notes = []
    for c in layout.inputs:
        v = values.get(c.quantity or "")
        if isinstance(v, str) and (number := numeric_text(v)) is not None:
            values[c.quantity or ""] = number  # as Excel reads it in arithmetic
            notes.append(
                f"{c.at} holds the text {v!r}, which looks like a number: Excel computes with "
                f"it as {shown(number)}, and so was it checked; retype it as a number (no "
                "apostrophe, not pasted as text) so that every application reads it."
            )
    if layout.settings.get("loss") == CROSS_ENTROPY:
        numbers = {k: v for k, v in values.items() if isinstance(v, float)}
        if unfit := targets_problem(numbers):
            notes.append(f"{unfit} The sheet was checked with the targets as they are.")
    # The parameters' verdicts first, then one for each checked cell, in the layout's order: a
    # right one as its formula and numbers (``Verdicts``), any other whole.
    verdicts: list[str | CellResult] = [
        r for c in layout.inputs if (r := _check_input(c, values)) is not None
    ]
    offset = len(verdicts)
    expected_numbers = array("d", bytes(8 * offset))
    found_numbers = array("d", bytes(8 * offset))
    keep, keep_expected, keep_found = verdicts.append, expected_numbers.append, found_numbers.append
    expected = reference_for(layout, values)
    want = {} if expected is None else expected.values
    # The usual cell, a finite number within the tolerance of a finite expected value, from
    # a formula that computed without a problem, is said right here at once; any other goes
    # through ``judge_cell``, which says the same of it (``tests/test_verify.py`` holds the two
    # equal), with the why of every other verdict.
    value_scale = UNIT * expected.value_scale if expected is not None else 0.0
    growth = expected.growth if expected is not None else None
    problems, saved_cells = ev.problems, ev.saved
    # Whether a cell may be said right at once: judging changes no value or problem.
    at_once = not problems and not saved_cells
    held = ev.where.sheet(title)
    cells = {} if held is None else held.cells
    inf = math.inf
    for spec in layout.checked:
        quantity = spec.quantity
        assert quantity is not None
        at = spec.at
        ref = (title, at)
        # The cell's own formula, which ``ev.formula`` gives for a cell that has one.
        cell = cells.get(at)
        formula = None if cell is None else cell.formula
        if formula is None:
            formula = ev.formula(ref)
        value = found[ref]
        if (
            at_once
            and growth is not None
            and type(value) is float
            and formula is not None
            and (w := want.get(quantity)) is not None
            # A faux gradient has its own tolerance (``kind_of``'s "faux").
            and not (quantity.startswith("nudge.") and quantity.endswith(_FAUX_ENDS))
            and value - value == 0.0
            and w - w == 0.0
            and spec.kind == "formula"
            and (g := growth(quantity)) != inf  # an infinite growth: unchecked
            and abs(value - w) <= allowance(w, value_scale, g)
        ):
            # ``CellResult.right(at, quantity, spec.note or quantity, w, value, formula)``,
            # held as its formula and two numbers.
            keep(formula)
            keep_expected(w)
            keep_found(value)
            continue
        # A cell that took the number its application saved is judged by that number.
        problem = None if ref in saved_cells else problems.get(ref)
        saved = ev.rests_on_saved(ref)
        verdict = judge_cell(spec, value, formula, problem, expected)
        keep(replace(verdict, saved=saved) if saved else verdict)
        keep_expected(0.0)
        keep_found(0.0)
    results = Verdicts(verdicts, layout.checked, offset, expected_numbers, found_numbers)
    warnings = (*notes, *(r.message for r in results.whole() if r.ok and r.message))
    return Report(
        path=origin,
        layout=layout.name,
        sheet=title,
        parameters=values,
        cells=results,
        warnings=warnings,
        spec=layout.spec or "",
    )


def _check_input(spec: CellSpec, values: Mapping[str, Value]) -> CellResult | None:
    """A parameter cell is the learner's to change, but it must hold a usable number."""
    assert spec.quantity is not None
    v = values[spec.quantity]
    problem = None
    if not isinstance(v, float) or isinstance(v, bool):
        problem = f"must hold a number, but holds {described(v)}"
    elif spec.quantity == "tiny" and v == 0:
        problem = "is Tiny and must not be 0: every faux gradient divides by it"
    if problem is None:
        return None
    return CellResult(
        spec.at,
        spec.quantity,
        spec.note or spec.quantity,
        "wrong",
        None,
        v,
        None,
        f"{spec.at} ({spec.quantity}) {problem}.",
        graded=False,
    )


def reference_for(layout: Layout, values: Mapping[str, Value]) -> Reference | None:
    """The reference for the sheet's parameters ``values``, or None when they are unusable.

    The last few are remembered: ``check`` and ``diagnose`` ask for the same one, and a long
    training run's is costly.
    """
    numbers = {k: v for k, v in values.items() if isinstance(v, float) and not isinstance(v, bool)}
    if len(numbers) != len(values) or numbers.get("tiny", 1.0) == 0:
        return None
    # The names and numbers in the order given (check and diagnose give the layout's): two
    # tuples of pointers, not a frozenset of an (name, number) pair each (1 MB a large network).
    key = (id(layout), tuple(numbers), tuple(numbers.values()))
    last = _LAST_REFERENCE.get(key)
    if last is not None and last[0] is layout:
        return last[1]  # check and diagnose ask for the same one; a long training's is costly
    reference = model_for(layout.settings)(numbers, layout.settings)
    if len(_LAST_REFERENCE) >= 8:  # the sheet's own and diagnose's variants, not a class's
        _LAST_REFERENCE.pop(next(iter(_LAST_REFERENCE)))
    _LAST_REFERENCE[key] = (layout, reference)
    return reference


_LAST_REFERENCE: dict[tuple[int, tuple[str, ...], tuple[float, ...]], tuple[Layout, Reference]] = {}


def tolerance(quantity: str, expected: float, ref: Reference) -> float:
    """The largest difference still counted as right (see the module docstring)."""
    return ref.tolerance(quantity, expected)


def judge_cell(
    spec: CellSpec,
    found: Value,
    formula: str | None,
    problem: Problem | None,
    expected: Reference | None,
) -> CellResult:
    """The verdict on the checked cell ``spec``, which computed ``found`` from ``formula``
    (``problem``: why the engine could not compute it), against the reference ``expected``."""
    assert spec.quantity is not None
    meaning = spec.note or spec.quantity
    want = None if expected is None else expected.values[spec.quantity]

    def result(status: Status, message: str = "") -> CellResult:
        return CellResult(
            spec.at, spec.quantity or "", meaning, status, want, found, formula, message
        )

    if problem is not None and problem.engine_limit:
        return result(
            "uncomputed",
            f"{spec.at} {problem.message}, and the file saved no number for it: not checked.",
        )
    if problem is not None:
        return result("unsupported", f"{spec.at} {problem.message}.")
    if want is None or expected is None:
        return result("unchecked", f"{spec.at} cannot be checked until the parameters are numbers.")
    if not math.isfinite(want):
        # The sheet's parameters leave the quantity undefined (Adam's bias correction with a
        # beta of 1 divides 0 by 0) or past a double's range: no number is right or wrong.
        if found is None:
            return result("empty", f"{spec.at} is empty; it needs a formula.")
        return result(
            "unchecked",
            f"{spec.at} cannot be checked: with the sheet's parameters its value is undefined "
            "(a division by zero or an overflow in the steps up to it), so no number there "
            "could be told right from a mistake.",
        )
    if found is None:
        return result("empty", f"{spec.at} is empty; it should hold {shown(want)}.")
    if isinstance(found, CellError) and math.isinf(expected.conditioning.get(spec.quantity, 1)):
        # An output within ulps of 1, which the sheet may round to 1 and divide by 1 - 1.
        return result(
            "unchecked",
            f"{spec.at} shows {found.code}, and cannot be checked: with the sheet's parameters "
            f"the output it is computed from may round to exactly 1 (it should be about "
            f"{shown(want)}).",
        )
    if isinstance(found, CellError):
        return result("error", f"{spec.at} shows {found.code}; it should be {shown(want)}.")
    if isinstance(found, str) and formula is not None:
        number = numeric_text(found)  # a formula copying numeric text: a number to Excel's maths
        found = found if number is None else number
    if isinstance(found, str | bool):
        return result("text", f"{spec.at} holds {described(found)}; it should be {shown(want)}.")
    if math.isinf(expected.growth(spec.quantity)):
        return result(
            "unchecked",
            f"{spec.at} cannot be checked: with the sheet's parameters, rounding in the steps "
            f"up to it may move it as much as a mistake would (it should be about "
            f"{shown(want)}).",
        )
    close = abs(found - want) <= tolerance(spec.quantity, want, expected)
    if spec.kind == "formula" and formula is None and close and spec.repeats_a_parameter:
        return result(
            "ok",
            f"{spec.at} holds the number {shown(found)}, as the article's sheet "
            f"does; the formula {spec.formula} would follow when that input changes.",
        )
    if spec.kind == "formula" and formula is None:
        how = "the right number" if close else f"{shown(found)}, not {shown(want)}"
        return result(
            "typed",
            f"{spec.at} holds a typed number ({how}) where a formula must "
            "compute it, so it will not follow when an input changes.",
        )
    if not close:
        slip = _slip(found, want, tolerance(spec.quantity, want, expected))
        return result("wrong", f"{spec.at} is {shown(found)}; it should be {shown(want)}{slip}.")
    return result("ok")


def _slip(found: float, want: float, tol: float) -> str:
    """What a wrong number's relation to the right one says of a common slip: the wrong sign
    (``t - p`` for ``p - t``), or a whole multiple or fraction of it (a batch's sum not divided
    by its size, error² for error²/2), as a clause; else nothing."""
    if want == 0 or found == 0:
        return ""
    if abs(found + want) <= tol:
        return " (the right size, but the wrong sign)"
    for k in range(2, 11):
        if abs(found - k * want) <= k * tol:
            return f" (it is {k} times that)"
        if abs(k * found - want) <= k * tol:
            return f" (it is 1/{k} of that)"
    return ""


def numeric_text(text: str) -> float | None:
    """The number Excel reads text as in arithmetic (``'0.4`` -> 0.4, ``'40%`` -> 0.4), or
    None: :func:`~sheetgen.workbook.book.text_number`, which the engine's arithmetic reads
    text by too."""
    return text_number(text)
