"""Write a layout as an .xlsx workbook with live formulas (openpyxl)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from ..errors import UsageError
from ..layouts.families import planned_cells, resolve_layout
from ..layouts.layout import SPEC_NAME, CellSpec, Layout
from ..maths.losses import CROSS_ENTROPY, RESOLUTION, UNIT, targets_problem
from ..maths.models import Reference
from ..maths.neuron import kind_of
from ..workbook.book import text_formula
from .cached_values import model_reference, reference_values, save_with_cached_values
from .charts import add_chart
from .direct import save_direct, writable
from .files import write_atomically

if TYPE_CHECKING:
    from ..workbook.safety.limits import Limits

DEFAULT_OUTPUT = Path("output/single_neuron.xlsx")

_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # pale yellow: "edit me"
# Fonts name the workbook's default face, or LibreOffice renders them in a serif fallback.
_HEADER_FONT = Font(name="Calibri", size=11, bold=True)
_LABEL_FONT = Font(name="Calibri", size=11, bold=True, color="1F4E79")
_NOTE_FONT = Font(name="Calibri", size=11, italic=True, color="7F7F7F")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")  # pale blue band behind the headers
_HEADER_BORDER = Border(bottom=Side(style="thin", color="1F4E79"))


def parameters(
    layout: Layout, overrides: Mapping[str, float | None] | None = None
) -> dict[str, float]:
    """The layout's default parameters with ``overrides`` applied, checked to be usable."""
    values = dict(layout.defaults)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in values:
            raise UsageError(f"The {layout.name} layout has no parameter {key!r}.")
        values[key] = float(value)
    for key, value in values.items():
        if not math.isfinite(value):
            raise UsageError(f"The parameter {key} must be a finite number, not {value}.")
    if values.get("tiny", 1.0) == 0:
        raise UsageError("Tiny must not be 0: the faux gradients divide by it.")
    if layout.settings.get("loss") == CROSS_ENTROPY and (problem := targets_problem(values)):
        raise UsageError(problem)
    _refuse_overflow(layout, values)
    return values


EXP_LIMIT = 709.782712893384
"""The largest x whose EXP(x) a spreadsheet can hold (Excel and LibreOffice show #NUM! above)."""


def _refuse_overflow(layout: Layout, values: Mapping[str, float]) -> None:
    """Parameters whose sheet overflows in every spreadsheet application (#NUM!) are refused
    in one sentence: such a sheet could never verify, and teaches nothing. A number past
    1.8e308 (``1e200 * 1e200``) overflows; so does a sigmoid's ``EXP(-net)`` for a net below
    -709.78, though Python's sigmoid stays finite there."""
    # Cross-entropy's sigmoid or softmax output: softmax's EXP never overflows (it takes net -
    # max net <= 0), but refusing its nets below -709.78 too keeps one rule.
    sigmoid = "sigmoid" in (layout.settings.get("activation"), layout.settings.get("output"))
    reference = model_reference(layout, values)
    computed = reference.values
    logs = layout.settings.get("loss") == CROSS_ENTROPY
    # Every number finite and no sigmoid (all in C, the common case): nothing to refuse here.
    trouble = sigmoid or not all(map(math.isfinite, computed.values()))
    for quantity, value in computed.items() if trouble else ():
        if not math.isfinite(value) and logs and quantity.startswith("nudge."):
            continue  # an output nudged past 1 has no log: #NUM! there, which verify leaves be
        if not math.isfinite(value) and logs:
            raise UsageError(
                f"With these parameters {quantity} is undefined: an output rounds to exactly 1 "
                "(or 0), whose log a spreadsheet cannot take (#NUM!): use smaller weights, "
                "inputs or biases."
            )
        if not math.isfinite(value):
            raise UsageError(
                f"With these parameters {quantity} overflows (a spreadsheet shows #NUM!): "
                "use smaller numbers."
            )
        if sigmoid and (quantity == "net" or quantity.endswith(".net")) and value < -EXP_LIMIT:
            raise UsageError(
                f"With these parameters {quantity} is {value:.6g}, and a spreadsheet's EXP "
                f"overflows below -{EXP_LIMIT:.2f} (#NUM!): use smaller inputs or weights."
            )
    # Whatever is built, verify checks: every cell whose growth the reference's error
    # analysis leaves unbounded is refused here, for every family (an SGD run's too).
    lost = [q for q in reference.unbounded() if q in computed]
    if lost:
        raise UsageError(_unchecked_sentence(layout.settings, lost, reference))


_STEP = re.compile(r"step(\d+)\.")


def _unchecked_sentence(
    settings: Mapping[str, str], lost: Sequence[str], reference: Reference
) -> str:
    """The one sentence that refuses a sheet whose quantities ``lost`` verify could not check
    (their growth unbounded): from which step on, why, and what to change.

    A training run's is "from step k on": its rounding has grown as large as a mistake (or an
    output rounded to 1 under cross-entropy). RMSProp and Adam divide by a root of the
    gradients' squares: their rounding grows where gradients fall to noise, which epsilon
    bounds; gradient descent and momentum have neither. From step 1 on, no number of steps
    helps. A sheet without steps loses cells where a parameter is so large that rounding beside
    it is as wide as a mistake, where Tiny is so small that the faux gradients' rounding is, or
    where a sigmoid output rounds to 1 under cross-entropy."""
    steps = [int(m[1]) for q in lost if (m := _STEP.match(q))]
    if not steps and UNIT * reference.value_scale > RESOLUTION / 2:
        return (
            f"With these parameters the sheet could not be checked: beside a number as large "
            f"as {reference.value_scale:.6g}, rounding is as wide as a mistake in its cells: "
            "use smaller weights, inputs or biases."
        )
    if not steps and all(kind_of(q) == "faux" for q in lost) and not reference.conditioning:
        return (
            f"With these parameters the faux gradients could not be checked: their rounding "
            f"(which grows with the largest number, {reference.value_scale:.6g}) divided by "
            f"Tiny ({reference.tiny:g}) could hide a mistake: use a larger Tiny, or smaller "
            "weights, inputs or biases."
        )
    if not steps:
        quantity = min(lost)
        if quantity.startswith("nudge."):
            return (
                f"With these parameters {quantity} could not be checked: Tiny's nudge takes an "
                "output past 1 (or 0), or within rounding of it, where the log is undefined or "
                "its rounding could hide a mistake: use a smaller Tiny, or smaller weights, "
                "inputs or biases."
            )
        return (
            f"With these parameters {quantity} could not be checked: an output rounds to "
            "within rounding of exactly 1 (or 0), where the log is undefined or its rounding "
            "could hide a mistake: use smaller weights, inputs or biases."
        )
    first = min(steps)
    rooted = settings.get("optimizer", "sgd") in ("rmsprop", "adam")
    why = " (its gradients fall to rounding noise, which the optimizer divides by its own root)"
    change = [f"fewer than {first} steps"] if first > 1 else []
    change += ["another learning rate"]
    change += ["a larger epsilon" if first > 1 else "another epsilon"] if rooted else []
    change += ["smaller inputs"]
    return (
        f"With these settings the training's rounding grows as large as a mistake from "
        f"step {first} on{why if rooted else ''}, so those steps could not be checked: "
        f"use {', '.join(change[:-1])} or {change[-1]}."
    )


def build_workbook(layout: Layout, params: Mapping[str, float]) -> Workbook:
    """The layout as an in-memory workbook: labels, parameter values, formulas, notes."""
    wb, ws = _new_workbook(layout)
    for spec in layout:
        cell = ws[spec.at]
        cell.value = _content(spec, params)
        _dress(cell, spec)
        if spec.note and spec.kind != "text":
            cell.comment = _note(spec)
    _finish(wb, ws, layout)
    return wb


def save_layout(layout: Layout, params: Mapping[str, float], path: Path) -> None:
    """Save ``build_workbook(layout, params)`` with its cached values at ``path``, as
    ``save_with_cached_values`` does, faster: when every cell holds what openpyxl stores
    plainly and the reference gives every formula its value (all shipped layouts at usable
    parameters), the cells are written straight into the sheet's XML (``direct``), and only
    the cells with notes are made in openpyxl; otherwise through openpyxl."""
    refs = [spec.at for spec in layout]
    contents = [_content(spec, params) for spec in layout]
    if writable(refs, contents):
        # No None (writable), and each cell once; the dict is let go once read.
        known, _ = reference_values(dict(zip(refs, contents, strict=True)), layout, params)
        if all(at in known for at, value in zip(refs, contents, strict=True) if _is_formula(value)):
            wb, ws = _new_workbook(layout)
            styles: dict[tuple[str, str | None, str | None], StyleArray] = {}
            looks = []
            for spec in layout:
                key = (spec.kind, spec.style, spec.format)
                if key not in styles:  # dressed once: openpyxl registers styles as it meets them
                    sample = Cell(ws)
                    _dress(sample, spec)
                    styles[key] = sample._style
                looks.append(styles[key])
                if spec.note and spec.kind != "text":
                    ws[spec.at].comment = _note(spec)
            _finish(wb, ws, layout)
            save_direct(wb, path, (refs, contents, looks), known)
            return
    save_with_cached_values(build_workbook(layout, params), path, layout, params)


def _is_formula(value: object) -> bool:
    """Whether openpyxl stores ``value`` as a formula."""
    return isinstance(value, str) and len(value) > 1 and value.startswith("=")


def _new_workbook(layout: Layout) -> tuple[Workbook, Worksheet]:
    wb = Workbook()
    wb.security = None  # openpyxl would write an empty <workbookProtection/>
    ws = wb.active
    assert isinstance(ws, Worksheet)
    ws.title = layout.sheet
    return wb, ws


def _content(spec: CellSpec, params: Mapping[str, float]) -> float | str | None:
    """What the cell of ``spec`` holds: its text, parameter, constant or formula."""
    if spec.kind == "text":
        return spec.text
    if spec.kind == "input":
        assert spec.quantity is not None
        return params[spec.quantity]
    if spec.kind == "constant":
        return spec.value
    return spec.formula


def _dress(cell: Cell, spec: CellSpec) -> None:
    """Give ``cell`` the look of ``spec``: fonts, fills and borders by kind and style, and
    its number format."""
    if spec.kind == "text":
        cell.font = {"header": _HEADER_FONT, "label": _LABEL_FONT}.get(spec.style or "", _NOTE_FONT)
        if spec.style == "header":
            cell.alignment = Alignment(horizontal="center")
            cell.fill = _HEADER_FILL
            cell.border = _HEADER_BORDER
        if spec.style == "legend":  # the key to the colours wears the input colour
            cell.fill = _INPUT_FILL
    elif spec.kind == "input":
        cell.fill = _INPUT_FILL
    if spec.format:
        cell.number_format = spec.format
    if spec.style == "center":
        cell.alignment = Alignment(horizontal="center")


def _note(spec: CellSpec) -> Comment:
    return Comment(spec.note, "sheetgen", width=260, height=70)


def _finish(wb: Workbook, ws: Worksheet, layout: Layout) -> None:
    """The workbook's defined names, charts, column widths, frozen panes and page."""
    for name, address in layout.names.items():
        column, row = coordinate_from_string(address)
        ref = f"'{layout.sheet}'!${column}${row}"
        wb.defined_names[name] = DefinedName(name, attr_text=ref)
    if layout.spec:
        wb.defined_names[SPEC_NAME] = DefinedName(SPEC_NAME, attr_text=text_formula(layout.spec))
    for chart in layout.charts:
        add_chart(ws, chart)
        if chart.own_row:  # as tall as the chart, and a margin below it
            row = coordinate_from_string(chart.anchor)[1]
            ws.row_dimensions[row].height = round(chart.height * 72 / 2.54) + 12
    _fit_columns(ws, layout)
    ws.freeze_panes = layout.freeze
    _fit_page(ws)


def _fit_page(ws: Worksheet) -> None:
    """Print (and render to PDF) on one landscape page, without the cell notes."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$"


def _fit_columns(ws: Worksheet, layout: Layout) -> None:
    """Width for labels in column A, a readable fixed width for the number columns.

    A label alone on its row (the sheet's title, a heading) does not widen its column: it
    overflows into the empty cells to its right, as spreadsheets show it, and the column
    stays as wide as the labels beside numbers need. A header heads the column below it,
    so it always fits its column.
    """
    widest: dict[str, int] = {}
    columns = {spec.at.rstrip("0123456789") for spec in layout}
    if not all(c.isalpha() and c.isupper() for c in columns):  # not all as layouts write them
        columns = {coordinate_from_string(spec.at)[0] for spec in layout}
    per_row = Counter(spec.at.lstrip(_LETTERS) for spec in layout)
    for spec in layout:
        if spec.kind != "text" or spec.style in ("note", "legend"):
            continue
        if spec.style == "header" or per_row[spec.at.lstrip(_LETTERS)] > 1:
            column = coordinate_from_string(spec.at)[0]
            widest[column] = max(widest.get(column, 0), len(spec.text or ""))
    for column in columns:
        width = max(12, widest.get(column, 0) + 2)
        ws.column_dimensions[column].width = width


def build(
    path: Path | str = DEFAULT_OUTPUT,
    layout: Layout | str = "single_neuron",
    *,
    force: bool = False,
    **overrides: float | None,
) -> Path:
    """Build the workbook for ``layout`` with parameter ``overrides`` and write it atomically.

    What is built can be verified within the limits ``verify`` reads by default
    (``configured_limits()``): a larger sheet is refused before any work
    (:func:`refuse_too_large`; :func:`build_within` takes other limits).
    """
    return build_within(None, path, layout, force=force, **overrides)


def build_within(
    limits: Limits | None,
    path: Path | str,
    layout: Layout | str,
    /,
    *,
    force: bool = False,
    **overrides: float | None,
) -> Path:
    """:func:`build`, refusing what ``verify`` could not read within ``limits`` (None: the
    configured ones)."""
    if isinstance(layout, str):
        planned = planned_cells(layout)
        if planned is not None:
            refuse_too_large(layout, planned, limits := limits or _verify_limits())
    lay = resolve_layout(layout) if isinstance(layout, str) else layout
    if len(lay.cells) > SMALL_SHEET:
        refuse_too_large(lay.spec, len(lay.cells), limits or _verify_limits())
    params = parameters(lay, overrides)
    return write_atomically(Path(path), lambda tmp: save_layout(lay, params, tmp), force=force)


SMALL_SHEET = 10_000
"""Cells below which a sheet is not measured against the limits: far inside what ``verify``
reads by default (300,000), and reading the configured limits imports the safety package
(70 ms the article's build does without)."""


def _verify_limits() -> Limits:
    from ..workbook.safety.limits import configured_limits

    return configured_limits()


def refuse_too_large(spec: str, cells: int | None, limits: Limits) -> None:
    """Refuse, in one sentence naming the limit and what to change, a sheet of ``cells`` cells
    that ``verify`` would refuse to read within ``limits`` (its ``max_cells``)."""
    if cells is None or cells <= limits.max_cells:
        return
    family = spec.partition(":")[0]
    change = "fewer steps or neurons"
    if family == "network":
        change = "fewer or smaller layers, fewer faux rows (--faux none, or --faux N for " + (
            f"a sample: {n} fit)" if (n := _faux_that_fit(spec, limits.max_cells)) else "a sample)"
        )
    raise UsageError(
        f"{spec} would make {cells:,} cells, more than the {limits.max_cells:,} that "
        f"'sheetgen verify' reads (the max_cells limit): use {change}, or raise the limit with "
        f"--limit max_cells={_round_up(cells)} here and when verifying."
    )


def _faux_that_fit(spec: str, max_cells: int) -> int:
    """The most faux rows (a sample's size) with which the network ``spec`` fits ``max_cells``
    cells; 0 if even none do."""
    from ..layouts.families import load

    options = dict(item.partition("=")[::2] for item in spec.partition(":")[2].split(","))
    fit: Callable[[dict[str, str], int], int] = load("sheetgen.layouts.network:faux_rows_that_fit")
    return fit(options, max_cells)


def _round_up(cells: int) -> int:
    """A limit just above ``cells``, in two significant figures."""
    step = int(10 ** max(0, len(str(cells)) - 2))
    return -(-cells // step) * step
