"""Check a workbook cell by cell against the reference neuron.

The verifier reads the sheet's own parameters (so a learner may change them), computes the
reference from them, evaluates every checked cell's formula itself, and compares.

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
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ..engine.evaluate import CellError, Evaluator, Value
from ..errors import LayoutNotFoundError, SheetgenError
from ..layouts.layout import SPEC_NAME, CellSpec, Layout, available_layouts, resolve_layout
from ..maths.models import Reference, model_for
from ..maths.neuron import kind_of
from ..workbook.book import Book, Sheet, text_constant
from ..workbook.safety import (
    HAZARD_DESCRIPTIONS,
    FileFacts,
    Limits,
    configured_limits,
    formula_hazards,
    read_checked,
)
from .locate import Miss, Placement, candidates

REL = 1e-12
EPS = sys.float_info.epsilon

Status = Literal[
    "ok",
    "wrong",
    "error",
    "empty",
    "text",
    "typed",
    "unsupported",
    "unchecked",
    "todo",
    "waiting",
    "fragile",
]
"""A cell's verdict: ``ok``; ``wrong`` (a number, not the right one); ``error`` (an Excel
error value); ``empty``; ``text`` (text or a boolean where a number belongs); ``typed`` (a
number typed where a formula must compute it); ``unsupported`` (the engine cannot evaluate
it, e.g. another workbook or an unknown function); ``unchecked`` (no reference: the sheet's
parameters are unusable); ``todo`` (a blank an exercise left for the learner, still empty);
``waiting`` (its only fault is that a blank it reads is still to do: neither wrong nor a root);
``fragile`` (right for the sheet's own inputs only: wrong when they change, see
``sheetgen.check.diagnose``)."""


@dataclass(frozen=True)
class CellResult:
    """The verdict on one cell, with everything needed to explain it."""

    cell: str
    quantity: str
    meaning: str
    status: Status
    expected: float | None
    found: Value
    formula: str | None
    message: str = ""
    # Filled in by sheetgen.check.diagnose: why it is wrong in plain words, and the root cells it
    # is wrong because of (empty for a root cause or a right cell).
    explanation: str = ""
    causes: tuple[str, ...] = ()
    graded: bool = True  # False for a parameter cell: reported when unusable, never scored
    # True for a cell an exercise hands out already filled in: reported, never scored (the
    # learner is scored on the blanks alone, see sheetgen.teacher.grade).
    context: bool = False
    # False when the cell holds what the layout hands out (its own formula, or an exercise's
    # blank left empty): feedback then says nothing about "what you wrote".
    edited: bool = True

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def scored(self) -> bool:
        """Whether the cell counts towards a score: a checked cell the learner had to fill."""
        return self.graded and not self.context

    @property
    def pending(self) -> bool:
        """Unfinished rather than wrong: a blank still to do, or a cell waiting for one."""
        return self.status in ("todo", "waiting")

    @property
    def holds(self) -> str:
        """What the learner wrote, and what it evaluates to: ``=B2*C2 → 0.2``, ``the text 'x'``."""
        if self.formula is not None:
            return f"{self.formula} → {_value(self.found)}"
        if self.found is None:
            return "nothing"
        if isinstance(self.found, str):
            return f"the text {self.found!r}"  # a formula stored as text too: '=B2*C2'
        if isinstance(self.found, float) and not isinstance(self.found, bool):
            return f"the number {_fmt(self.found)}"
        return _value(self.found)

    @property
    def root(self) -> bool:
        """A wrong cell that is wrong in itself, not only because of a cell it uses.

        A blank still to do is not wrong, so it is no root cause (it is ``todo``).
        """
        return not self.ok and not self.causes and not self.pending

    @property
    def cause(self) -> str | None:
        """The (first) root cell this cell is wrong because of, if it is only inherited."""
        return self.causes[0] if self.causes else None


@dataclass(frozen=True)
class Report:
    """Everything ``verify`` found; rendered as text or JSON by ``sheetgen.report.render``."""

    path: str
    layout: str
    sheet: str
    parameters: Mapping[str, Value]
    cells: tuple[CellResult, ...]
    warnings: tuple[str, ...] = field(default=())
    choice: str = ""
    """Which sheet was judged and why, naming the others that hold the layout ("" if one)."""
    spec: str = ""  # the layout's spec when it is generated (``resolve_layout`` rebuilds it)
    blanks: tuple[str, ...] = ()  # the cells an exercise left for the learner to fill in

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cells)

    @property
    def wrong(self) -> tuple[CellResult, ...]:
        return tuple(c for c in self.cells if not c.ok)

    @property
    def todo(self) -> tuple[CellResult, ...]:
        """Blanks of an exercise still to fill in."""
        return tuple(c for c in self.cells if c.status == "todo")

    @property
    def waiting(self) -> tuple[CellResult, ...]:
        """Cells right as soon as the blanks they read are filled in."""
        return tuple(c for c in self.cells if c.status == "waiting")

    @property
    def attention(self) -> tuple[CellResult, ...]:
        """Cells that are wrong (not merely unfinished)."""
        return tuple(c for c in self.cells if not c.ok and not c.pending)

    @property
    def exercise(self) -> bool:
        """Whether the workbook is an exercise (it records blanks for the learner to fill)."""
        return bool(self.blanks)

    @property
    def roots(self) -> tuple[CellResult, ...]:
        """The cells to fix first: wrong in themselves, not only through a cell they use."""
        return tuple(c for c in self.cells if c.root)

    def inherited_from(self, cell: str) -> tuple[CellResult, ...]:
        """The cells wrong only because of root cell ``cell``."""
        return tuple(c for c in self.cells if cell in c.causes)


def verify_workbook(
    path: Path | str,
    layout: Layout | str | None = None,
    *,
    variants: int | None = None,
    seed: int | None = None,
    limits: Limits | None = None,
    sheet: str | None = None,
) -> Report:
    """Verify the workbook at ``path``; ``layout`` defaults to whichever template it matches.

    The layout is found by the sheet's own labels and headers wherever they are now
    (``sheetgen.check.locate``); when several sheets hold it, the one with the learner's work is
    judged, and the report names the others (``sheet`` chooses one by name).
    The report is diagnosed (``sheetgen.check.diagnose``): root causes, plain-word explanations,
    exercise blanks, stale cached values, and ``variants`` re-evaluations with other inputs
    (``seed`` picks them; defaults in ``sheetgen.check.diagnose``; 0 skips that check).
    The file is vetted first (``sheetgen.workbook.safety``: size, zip and XML bombs, macros and
    links never loaded) within ``limits`` (default: ``safety.configured_limits()``).
    """
    from .diagnose import diagnose

    checked = read_checked(Path(path), limits or configured_limits())
    book = checked.book
    placement, choice = find_layout(book, layout, str(path), sheet)
    lay, ws = placement.layout, placement.sheet
    ev = Evaluator(book)
    report = check(book, ws, lay, str(path), evaluator=ev)
    extra = (*placement.notes, *findings(checked.facts, book))
    report = replace(report, warnings=(*report.warnings, *extra), choice=choice)
    return diagnose(book, ws, lay, report, ev, path=Path(path), variants=variants, seed=seed)


def find_layout(
    book: Book | Any,
    layout: Layout | str | None,
    origin: str,
    sheet: str | None = None,
) -> tuple[Placement, str]:
    """The sheet and layout to judge, with a sentence saying which sheet and why.

    ``layout`` (or the spec a built workbook records) names the layout; without either, the
    templates are tried, then the generated layouts the sheets themselves describe.
    """
    from .recognise import recognised_specs

    book = Book.of(book)
    if sheet is not None and book.sheet(sheet) is None:
        known = ", ".join(repr(s.title) for s in book.sheets)
        raise LayoutNotFoundError(f"{origin} has no sheet called {sheet!r} (its sheets: {known}).")
    if layout is None:
        layout = recorded_spec(book)  # a generated layout (network, training) is found so
    if layout:
        layouts = [layout if isinstance(layout, Layout) else resolve_layout(layout)]
    else:
        # What the sheets say they are first (a variant has the article's labels too), then
        # the templates.
        layouts = []
        for spec in [*recognised_specs(book, sheet), *available_layouts()]:
            try:
                lay = resolve_layout(spec)
            except SheetgenError:
                continue  # what a sheet's texts suggest is only a guess: one that fails is none
            if all(lay is not known for known in layouts):
                layouts.append(lay)
    placed, missed = candidates(book, layouts, sheet)
    if not placed:
        raise LayoutNotFoundError(_not_found(origin, layouts, missed, hint=not layout))
    return choose(placed)


def choose(placed: list[Placement]) -> tuple[Placement, str]:
    """The placement with the learner's work: most checked cells filled in, then most edited."""
    if len(placed) == 1:
        return placed[0], ""
    work = [_work(p) for p in placed]
    best = max(range(len(placed)), key=lambda i: (work[i], -i))
    others = [p.sheet.title for i, p in enumerate(placed) if i != best]
    chosen = placed[best]
    rivals = [w for i, w in enumerate(work) if i != best]
    if all(w == work[best] for w in rivals):
        why = "the first of them (they hold the same work)"
    elif all(w[0] < work[best][0] for w in rivals):
        why = f"the one with the learner's work ({_cells(work[best][0])} filled in)"
    else:
        why = (
            f"the one with the learner's work ({_cells(work[best][1])} changed from the built one)"
        )
    listed = ", ".join(repr(t) for t in others)
    return chosen, (
        f"Judged sheet {chosen.sheet.title!r}, {why}; {listed} also "
        f"{'holds' if len(others) == 1 else 'hold'} the layout (--sheet NAME judges another)."
    )


def _work(p: Placement) -> tuple[int, int]:
    from .diagnose import normal_formula

    filled = changed = 0
    for spec in p.layout.checked:
        cell = p.sheet.cells.get(spec.at)
        if cell is None or (cell.formula is None and cell.value is None):
            continue
        filled += 1
        if spec.formula is None or cell.formula is None:
            changed += cell.formula is not None or cell.value != spec.value
        else:
            changed += normal_formula(cell.formula) != normal_formula(spec.formula)
    for spec in p.layout.inputs:
        default = p.layout.defaults.get(spec.quantity or "")
        changed += p.sheet.value(spec.at) != default
    return filled, changed


def _not_found(origin: str, layouts: list[Layout], missed: list[Miss], *, hint: bool) -> str:
    names = ", ".join(lay.title or lay.name for lay in layouts)
    nearest = max(missed, key=lambda m: m.found, default=None)
    if nearest is not None and nearest.found > 0:
        why = nearest.reason
    else:
        labels = [c.text for lay in layouts for c in lay.labels if c.text]
        first = next((t for t in labels if t.endswith(":")), labels[0] if labels else "")
        sheets = sorted({m.sheet for m in missed})
        why = (
            f"none of its sheets ({', '.join(repr(t) for t in sheets)}) holds its labels "
            f"(such as {first!r})"
        )
    more = (
        "; if it was built as a variant, network or training sheet, name its layout with "
        "--layout SPEC (sheetgen templates lists them)"
        if hint
        else ""
    )
    return f"{origin} has no sheet laid out as expected ({names}): {why}{more}."


def findings(facts: FileFacts, book: Book | None = None) -> tuple[str, ...]:
    """What the file holds that was deliberately left alone, said as warnings."""
    out = []
    if facts.has_macros:
        out.append("The file contains macros; they were neither loaded nor run.")
    if facts.external_links:
        links = ", ".join(facts.external_links[:3])
        out.append(f"The file links to other workbooks ({links}); they were never opened.")
    if book is not None:
        hazards = list(_hazardous_formulas(book))
        for where, what in hazards[:5]:
            out.append(f"{where} {what}; it was not evaluated.")
        if len(hazards) > 5:
            out.append(f"{len(hazards) - 5} more formulas like these were not evaluated either.")
    return tuple(out)


def _hazardous_formulas(book: Book) -> Iterator[tuple[str, str]]:
    """Formulas (in cells or defined names) that could reach outside the workbook."""
    scoped = [(None, book.names)] + [(s.title, s.names) for s in book.sheets]
    for _, names in scoped:
        for name, text in names.items():
            if found := formula_hazards(text):
                yield f"The defined name {name}", "; ".join(HAZARD_DESCRIPTIONS[h] for h in found)
    for sheet in book.sheets:
        for at, cell in sheet.cells.items():
            if cell.formula and (found := formula_hazards(cell.formula)):
                what = "; ".join(HAZARD_DESCRIPTIONS[h] for h in found)
                yield f"Cell {at} of sheet {sheet.title!r}", f"holds a formula that {what}"


def recorded_spec(book: Book | Any) -> str | None:
    """The layout spec ``build`` stored in the workbook, if it is there and readable."""
    spec = text_constant(Book.of(book).name(SPEC_NAME))
    if not spec:
        return None
    try:
        resolve_layout(spec)
    except SheetgenError:
        return None
    return spec


def locate(book: Book | Any, layouts: list[Layout], origin: str) -> tuple[Layout, Sheet]:
    """The layout (at the cells' current addresses) and the sheet it is on, by its labels."""
    placed, missed = candidates(Book.of(book), layouts)
    if not placed:
        raise LayoutNotFoundError(_not_found(origin, layouts, missed, hint=False))
    chosen, _ = choose(placed)
    return chosen.layout, chosen.sheet


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
    params = ev.evaluate((title, c.at) for c in layout.inputs)
    found = ev.evaluate((title, c.at) for c in layout.checked)
    values = {c.quantity: params[(title, c.at)] for c in layout.inputs if c.quantity}
    notes = []
    for c in layout.inputs:
        v = values.get(c.quantity or "")
        if isinstance(v, str) and (number := numeric_text(v)) is not None:
            values[c.quantity or ""] = number  # as Excel reads it in arithmetic
            notes.append(
                f"{c.at} holds the text {v!r}, which looks like a number: Excel computes with "
                f"it as {_fmt(number)}, and so was it checked; retype it as a number (no "
                "apostrophe, not pasted as text) so that every application reads it."
            )
    results: list[CellResult] = [
        r for c in layout.inputs if (r := _check_input(c, values)) is not None
    ]
    expected = _reference(layout, values)
    for spec in layout.checked:
        assert spec.quantity is not None
        ref = (title, spec.at)
        formula = ev.formula(ref)
        problem = ev.problems.get(ref)
        results.append(
            _judge(spec, found[ref], formula, problem.message if problem else None, expected)
        )
    warnings = (*notes, *(r.message for r in results if r.ok and r.message))
    return Report(
        path=origin,
        layout=layout.name,
        sheet=title,
        parameters=values,
        cells=tuple(results),
        warnings=warnings,
        spec=layout.spec or "",
    )


def _check_input(spec: CellSpec, values: Mapping[str, Value]) -> CellResult | None:
    """A parameter cell is the learner's to change, but it must hold a usable number."""
    assert spec.quantity is not None
    v = values[spec.quantity]
    problem = None
    if not isinstance(v, float) or isinstance(v, bool):
        problem = f"must hold a number, but holds {_describe(v)}"
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


def _reference(layout: Layout, values: Mapping[str, Value]) -> Reference | None:
    numbers = {k: v for k, v in values.items() if isinstance(v, float) and not isinstance(v, bool)}
    if len(numbers) != len(values) or numbers.get("tiny", 1.0) == 0:
        return None
    key = (id(layout), tuple(sorted(numbers.items())))
    last = _LAST_REFERENCE.get(key)
    if last is not None and last[0] is layout:
        return last[1]  # check and diagnose ask for the same one; a long training's is costly
    reference = model_for(layout.settings)(numbers, layout.settings)
    if len(_LAST_REFERENCE) >= 8:  # the sheet's own and diagnose's variants, not a class's
        _LAST_REFERENCE.pop(next(iter(_LAST_REFERENCE)))
    _LAST_REFERENCE[key] = (layout, reference)
    return reference


_LAST_REFERENCE: dict[tuple[int, tuple[tuple[str, float], ...]], tuple[Layout, Reference]] = {}


def tolerance(quantity: str, expected: float, ref: Reference) -> float:
    """The largest difference still counted as right (see the module docstring)."""
    if kind_of(quantity) == "faux":
        nudge = quantity.rsplit(".", 1)[0] + "."
        lam = max(
            ref.loss_scale,
            ref.loss_rounding(""),
            ref.loss_rounding(nudge),
            ref.loss_rounding(nudge + "down."),  # central differences
        )
        # A faux gradient's distance from the real one also carries the real one's rounding.
        real = 64 * EPS * ref.value_scale if quantity.endswith(".distance") else 0.0
        absolute = 64 * EPS * lam / abs(ref.tiny) + real
        return (REL * abs(expected) + absolute) * ref.growth(quantity)
    return (REL * abs(expected) + 64 * EPS * ref.value_scale) * ref.growth(quantity)


def _judge(
    spec: CellSpec,
    found: Value,
    formula: str | None,
    problem: str | None,
    expected: Reference | None,
) -> CellResult:
    assert spec.quantity is not None
    meaning = spec.note or spec.quantity
    want = None if expected is None else expected.values[spec.quantity]

    def result(status: Status, message: str = "") -> CellResult:
        return CellResult(
            spec.at, spec.quantity or "", meaning, status, want, found, formula, message
        )

    if problem is not None:
        return result("unsupported", f"{spec.at} {problem}.")
    if want is None or expected is None:
        return result("unchecked", f"{spec.at} cannot be checked until the parameters are numbers.")
    if found is None:
        return result("empty", f"{spec.at} is empty; it should hold {_fmt(want)}.")
    if isinstance(found, CellError):
        return result("error", f"{spec.at} shows {found.code}; it should be {_fmt(want)}.")
    if isinstance(found, str) and formula is not None:
        number = numeric_text(found)  # a formula copying numeric text: a number to Excel's maths
        found = found if number is None else number
    if isinstance(found, str | bool):
        return result("text", f"{spec.at} holds {_describe(found)}; it should be {_fmt(want)}.")
    close = abs(found - want) <= tolerance(spec.quantity, want, expected)
    if spec.kind == "formula" and formula is None and close and _copies_a_parameter(spec):
        return result(
            "ok",
            f"{spec.at} holds the number {_fmt(found)}, as the article's sheet "
            f"does; the formula {spec.formula} would follow when that input changes.",
        )
    if spec.kind == "formula" and formula is None:
        how = "the right number" if close else f"{_fmt(found)}, not {_fmt(want)}"
        return result(
            "typed",
            f"{spec.at} holds a typed number ({how}) where a formula must "
            "compute it, so it will not follow when an input changes.",
        )
    if not close:
        return result("wrong", f"{spec.at} is {_fmt(found)}; it should be {_fmt(want)}.")
    return result("ok")


def numeric_text(text: str) -> float | None:
    """The number Excel reads text as in arithmetic (``'0.4`` -> 0.4), or None."""
    stripped = text.strip()
    if not stripped or any(ch.isalpha() and ch not in "eE" for ch in stripped):
        return None
    try:
        number = float(stripped)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _copies_a_parameter(spec: CellSpec) -> bool:
    """Whether the template's formula only repeats a parameter (``={input}``, ``={target}``)."""
    src = (spec.source or "").strip()
    return src.startswith("={") and src.endswith("}") and kind_of(src[2:-1]) == "parameter"


def _describe(value: Value) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, CellError):
        return f"the error {value.code}"
    if isinstance(value, bool):
        return f"the boolean {str(value).upper()}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return _fmt(value)


def _fmt(x: float) -> str:
    """Enough digits to see the difference, few enough to read."""
    return f"{x:.10g}" if math.isfinite(x) else str(x)


def _value(v: Value) -> str:
    """A value as a report shows it: ``empty``, ``#DIV/0!``, ``TRUE``, ``'text'``, a number."""
    if v is None:
        return "empty"
    if isinstance(v, CellError):
        return v.code
    if isinstance(v, bool):
        return str(v).upper()
    if isinstance(v, str):
        return repr(v)
    return _fmt(v)


def _cells(n: int) -> str:
    return f"{n} cell{'' if n == 1 else 's'}"
