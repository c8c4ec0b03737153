"""The built file as people open it: cached numbers, the article's rounding, notes, the chart.

And files as real applications save them (shared and array formulas, extra, hidden and
renamed sheets): verify must still find the layout and evaluate every formula.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.utils.cell import coordinate_from_string, range_boundaries
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula

from sheetgen import verify_workbook
from sheetgen.check.verify import tolerance
from sheetgen.engine.evaluate import Evaluator, formula_text
from sheetgen.layouts.families import model_for
from sheetgen.layouts.layout import CellSpec, Layout
from sheetgen.maths.neuron import Neuron
from sheetgen.writer.build import parameters

from .conftest import edit, resolve
from .test_reference import ARTICLE_SHOWS

# --------------------------------------------------------------------------- cached values


def engine_values(path: Path) -> dict[str, object]:
    """What our engine computes for every formula cell of the file's first sheet."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    refs = [
        (ws.title, c.coordinate) for row in ws.iter_rows() for c in row if formula_text(c.value)
    ]
    return {ref: v for (_, ref), v in Evaluator(wb).evaluate(refs).items()}


def test_readers_that_never_recalculate_see_every_number(article: Path, layout: Layout) -> None:
    computed = engine_values(article)
    assert len(computed) > len(layout.checked)  # the chart's formulas are cached too
    ws = openpyxl.load_workbook(article, data_only=True)[layout.sheet]
    cached = {ref: ws[ref].value for ref in computed}
    # The reference's numbers, bit for bit (repr precision, no rounding); tests/test_cache.py
    # holds them to what the engine computes from the formulas.
    ref = model_for(layout.settings)(parameters(layout), layout.settings)
    assert cached == {c.at: ref.values[c.quantity or ""] for c in layout if c.kind == "formula"}


def close_to_reference(layout: Layout, quantity: str, found: object) -> bool:
    """Whether ``found`` is what verify would accept for ``quantity`` at the default inputs."""
    ref = model_for(layout.settings)(layout.defaults, layout.settings)
    want = ref.values[quantity]
    number = isinstance(found, int | float) and not isinstance(found, bool)
    return number and abs(found - want) <= tolerance(quantity, want, ref)  # type: ignore[operator]


def test_pandas_reads_the_articles_numbers(article: Path, layout: Layout) -> None:
    frame = pd.read_excel(article, sheet_name=layout.sheet, header=None)
    for spec in layout.checked:
        column, row = coordinate_from_string(spec.at)
        got = frame.iat[row - 1, openpyxl.utils.column_index_from_string(column) - 1]
        assert close_to_reference(layout, spec.quantity or "", got), spec.at


def test_applications_still_recalculate_on_opening(article: Path) -> None:
    with zipfile.ZipFile(article) as z:
        workbook = z.read("xl/workbook.xml").decode()
    assert re.search(r'<calcPr[^>]*fullCalcOnLoad="1"', workbook)


# --------------------------------------------------------------------------- the look


def shows(value: float, number_format: str) -> str:
    """How a spreadsheet displays ``value`` under a fixed-decimals format such as ``0.0000``."""
    assert re.fullmatch(r"0(\.0+)?", number_format), number_format
    return f"{value:.{len(number_format.partition('.')[2])}f}"


def test_every_checked_cell_shows_the_articles_rounding(article: Path, layout: Layout) -> None:
    ws = openpyxl.load_workbook(article, data_only=True)[layout.sheet]
    for spec in layout.checked:
        cell = ws[spec.at]
        assert shows(cell.value, cell.number_format) == ARTICLE_SHOWS[spec.quantity or ""], spec.at


def test_every_formula_explains_itself_and_inputs_are_marked(article: Path, layout: Layout) -> None:
    ws = openpyxl.load_workbook(article)[layout.sheet]
    for spec in layout:
        cell = ws[spec.at]
        if spec.kind in ("formula", "input"):
            assert cell.comment is not None and cell.comment.text.strip(), spec.at
        filled = cell.fill.fill_type == "solid"
        assert filled == (spec.kind == "input" or spec.style in ("header", "legend")), spec.at
    legend = next(c for c in layout if c.style == "legend")
    assert ws[legend.at].fill.fgColor.rgb == ws[layout.inputs[0].at].fill.fgColor.rgb
    assert ws.freeze_panes == layout.freeze


def test_columns_are_wide_enough_for_their_labels(article: Path, layout: Layout) -> None:
    """Each header and each label beside other cells fits its column; a label alone on its
    row overflows into the empty cells to its right (tests/test_sheet_look.py)."""
    ws = openpyxl.load_workbook(article)[layout.sheet]
    rows = Counter(coordinate_from_string(spec.at)[1] for spec in layout)
    for spec in layout.labels:
        column, row = coordinate_from_string(spec.at)
        if spec.style != "note" and (spec.style == "header" or rows[row] > 1):
            assert ws.column_dimensions[column].width >= len(spec.text or ""), spec.at


def sweep_reference(layout: Layout, rows: int) -> dict[str, tuple[float, float]]:
    """The chart's numbers from the reference neuron, row by row as the template names them,
    each with how far off it may be (the secant inherits the faux gradient's rounding)."""
    p = layout.defaults
    base = Neuron(p["input"], p["weight"], p["bias"], p["target"])
    at = base.quantities(p["tiny"])
    ref = model_for(layout.settings)(p, layout.settings)
    faux = "nudge.weight.gradient"
    slack = tolerance(faux, at[faux], ref)
    out: dict[str, tuple[float, float]] = {}
    for row in range(rows):
        k = row - rows // 2
        w = p["weight"] + k * p["sweep.step"]
        loss = Neuron(p["input"], w, p["bias"], p["target"]).forward()["loss"]
        out |= {
            f"sweep.{row}.k": (k, 0.0),
            f"sweep.{row}.weight": (w, 1e-15),
            f"sweep.{row}.loss": (loss, 1e-15),
            f"sweep.{row}.tangent": (at["loss"] + at["global.weight"] * (w - p["weight"]), 1e-15),
            f"sweep.{row}.secant": (
                at["loss"] + at[faux] * (w - p["weight"]),
                1e-15 + slack * abs(w - p["weight"]),
            ),
        }
    return out


def test_chart_data_is_the_loss_its_tangent_and_the_faux_secant(
    article: Path, layout: Layout
) -> None:
    decoration = [c for c in layout if c.decoration and c.quantity and c.kind != "input"]
    expected = sweep_reference(layout, rows=len(decoration) // 5)
    assert {c.quantity for c in decoration} == set(expected)
    values = Evaluator(openpyxl.load_workbook(article)).evaluate(
        (layout.sheet, c.at) for c in decoration
    )
    for spec in decoration:
        got, (want, slack) = values[(layout.sheet, spec.at)], expected[spec.quantity or ""]
        assert isinstance(got, float) and abs(got - want) <= slack, spec.at
    # The tangent touches the curve at the current weight and nowhere else.
    middle = len(decoration) // 10
    assert expected[f"sweep.{middle}.tangent"] == expected[f"sweep.{middle}.loss"]
    assert all(
        expected[f"sweep.{r}.tangent"][0] < expected[f"sweep.{r}.loss"][0]
        for r in range(len(decoration) // 5)
        if r != middle
    ), "tanh loss is convex around the article's weight"


def test_chart_is_drawn_from_the_live_cells(article: Path, layout: Layout) -> None:
    with zipfile.ZipFile(article) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == len(layout.charts) == 1
        xml = z.read(charts[0]).decode()
    refs = [r.replace("$", "") for r in re.findall(r"<(?:c:)?f>([^<]*)</(?:c:)?f>", xml)]
    quoted = f"'{layout.sheet}'!"
    wanted = [f"{quoted}{r}" for s in layout.charts[0].series for r in (s.x, s.y)]
    assert sorted(refs) == sorted(wanted)
    assert re.search(r"<(?:c:)?scatterChart>", xml)


def test_the_articles_cells_are_untouched_by_the_chart(layout: Layout) -> None:
    """Everything added for the reader lies outside the article's A1:K11 area."""
    article = [c for c in layout if not c.decoration]
    last_col = max(openpyxl.utils.column_index_from_string(coordinate_from_string(c.at)[0])
                   for c in article)  # fmt: skip
    last_row = max(coordinate_from_string(c.at)[1] for c in article)
    for spec in layout:
        if spec.decoration:
            col, row = coordinate_from_string(spec.at)
            assert row > last_row or openpyxl.utils.column_index_from_string(col) > last_col
    for chart in layout.charts:
        _, row = coordinate_from_string(chart.anchor)
        assert row > last_row


# --------------------------------------------------------------------------- as apps save files


def share_formulas(src: Path, dst: Path, cells: list[CellSpec]) -> None:
    """Rewrite a column of same-shaped formulas as one shared formula, as Excel saves them.

    The first cell keeps its text as the master (``<f t="shared" ref=.. si="0">``); the
    others become ``<f t="shared" si="0"/>``, which a reader must translate row by row.
    """
    first, last = cells[0].at, cells[-1].at
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename).decode()
            if item.filename == "xl/worksheets/sheet1.xml":
                for i, spec in enumerate(cells):
                    pattern = rf'(<c r="{spec.at}"[^>]*>)<f>[^<]*</f>'
                    shared = (
                        rf'<f t="shared" ref="{first}:{last}" si="0">{(spec.formula or "")[1:]}</f>'
                        if i == 0
                        else '<f t="shared" si="0"/>'
                    )
                    data, n = re.subn(pattern, partial(_join_first_group, shared), data)
                    assert n == 1, spec.at
            zout.writestr(item, data)


def error_column(layout: Layout) -> list[CellSpec]:
    """The faux rows' error cells: one formula shape down consecutive rows."""
    cells = [layout.by_quantity[f"nudge.{n}.error"] for n in ("net", "bias", "weight", "input")]
    rows = [coordinate_from_string(c.at)[1] for c in cells]
    assert rows == list(range(rows[0], rows[0] + len(rows)))
    return cells


def test_shared_formulas_are_expanded_and_checked(
    article: Path, tmp_path: Path, layout: Layout
) -> None:
    cells = error_column(layout)
    shared = tmp_path / "shared.xlsx"
    share_formulas(article, shared, cells)
    ws = openpyxl.load_workbook(shared)[layout.sheet]
    assert [ws[c.at].value for c in cells] == [c.formula for c in cells]  # translated per row
    assert verify_workbook(shared).ok

    # A wrong master is wrong in every row that shares it.
    broken = tmp_path / "broken.xlsx"
    wrong = [replace(c, formula=f"{c.formula}+1") for c in cells]
    share_formulas(article, broken, wrong)
    report = verify_workbook(broken)
    assert {c.cell for c in report.wrong} >= {c.at for c in cells}


def test_single_cell_array_formulas_are_evaluated(
    article: Path, tmp_path: Path, layout: Layout
) -> None:
    wb = openpyxl.load_workbook(article)
    ws = wb[layout.sheet]
    for quantity in ("net", "global.weight"):
        spec = layout.by_quantity[quantity]
        ws[spec.at] = ArrayFormula(spec.at, spec.formula)
    wb.save(tmp_path / "array.xlsx")
    assert verify_workbook(tmp_path / "array.xlsx").ok

    spec = layout.by_quantity["local.net"]
    ws[spec.at] = ArrayFormula(spec.at, resolve(layout, "=1-{output}^3"))
    wb.save(tmp_path / "array_wrong.xlsx")
    assert next(c.cell for c in verify_workbook(tmp_path / "array_wrong.xlsx").wrong) == spec.at


def test_number_formats_and_an_extra_sheet_in_front_change_nothing(
    article: Path, tmp_path: Path, layout: Layout
) -> None:
    wb = openpyxl.load_workbook(article)
    ws = wb[layout.sheet]
    for spec in layout.checked:
        ws[spec.at].number_format = "0.00E+00"
    notes = wb.create_sheet("My notes", 0)
    notes.append(["Input", "Weight", "what I think the weight does"])
    wb.active = 0
    wb.save(tmp_path / "extra.xlsx")
    report = verify_workbook(tmp_path / "extra.xlsx")
    assert report.ok and report.sheet == layout.sheet


def test_a_hidden_sheet_is_still_found(article: Path, tmp_path: Path, layout: Layout) -> None:
    wb = openpyxl.load_workbook(article)
    wb.create_sheet("Cover", 0)
    wb[layout.sheet].sheet_state = "hidden"
    wb.active = 0
    wb.save(tmp_path / "hidden.xlsx")
    assert verify_workbook(tmp_path / "hidden.xlsx").ok


def test_a_renamed_sheet_and_its_tiny_name_are_followed(
    article: Path, tmp_path: Path, layout: Layout
) -> None:
    """Renaming a sheet in an app rewrites the defined names that point into it."""
    wb = openpyxl.load_workbook(article)
    ws = wb[layout.sheet]
    ws.title = "Ma feuille"
    for name, address in layout.names.items():
        column, row = coordinate_from_string(address)
        wb.defined_names[name] = DefinedName(name, attr_text=f"'Ma feuille'!${column}${row}")
    # The learner then makes Tiny bigger: the faux rows must read it through the name.
    ws[layout.by_quantity["tiny"].at] = 0.01
    wb.create_sheet(layout.sheet)  # and reuses the old name for an empty sheet
    wb.save(tmp_path / "renamed.xlsx")
    report = verify_workbook(tmp_path / "renamed.xlsx")
    assert report.ok and report.sheet == "Ma feuille"
    assert report.parameters["tiny"] == 0.01

    # A Tiny still pointing at the old (now empty) sheet is caught, not silently used.
    wb.defined_names["Tiny"] = DefinedName("Tiny", attr_text=f"'{layout.sheet}'!$A$1")
    wb.save(tmp_path / "dangling.xlsx")
    faux = {c.at for c in layout.checked if "Tiny" in (c.formula or "")}
    assert faux <= {c.cell for c in verify_workbook(tmp_path / "dangling.xlsx").wrong}


def test_edits_by_quantity_reach_the_chart(article: Path, tmp_path: Path, layout: Layout) -> None:
    """The chart's data follows an edited input (it is formulas, not numbers)."""
    edited = edit(article, tmp_path / "w.xlsx", layout, {"weight": -0.3})
    values = Evaluator(openpyxl.load_workbook(edited))
    middle = layout.by_quantity["sweep.5.weight"]
    assert values.evaluate([(layout.sheet, middle.at)])[(layout.sheet, middle.at)] == -0.3
    bounds = range_boundaries(layout.charts[0].series[0].x)
    assert bounds[1] == coordinate_from_string(layout.by_quantity["sweep.0.weight"].at)[1]


def test_a_fresh_cli_build_reads_as_numbers_in_pandas(tmp_path: Path, layout: Layout) -> None:
    from sheetgen.cli import main

    path = tmp_path / "cli.xlsx"
    assert main(["build", "-o", str(path), "--weight", "-0.3"]) == 0
    frame = pd.read_excel(path, sheet_name=layout.sheet, header=None)
    spec = layout.by_quantity["global.weight"]
    column, row = coordinate_from_string(spec.at)
    value: Any = frame.iat[row - 1, openpyxl.utils.column_index_from_string(column) - 1]
    want = Neuron(weight=-0.3).gradients()["global.weight"]
    assert abs(value - want) <= 1e-15


def test_cached_text_booleans_and_errors_read_back_as_such(tmp_path: Path) -> None:
    from sheetgen.writer.cached_values import save_with_cached_values

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([2.0, "=A1/0", '="a<"&"b"', "=A1>1", "=A1*0.1"])
    save_with_cached_values(wb, tmp_path / "kinds.xlsx")
    got = [
        c.value for c in openpyxl.load_workbook(tmp_path / "kinds.xlsx", data_only=True).active[1]
    ]
    assert got == [2, "#DIV/0!", "a<b", True, 2.0 * 0.1]
    assert openpyxl.load_workbook(tmp_path / "kinds.xlsx").active[1][1].value == "=A1/0"


def _join_first_group(text: str, match: re.Match[str]) -> str:
    return match.group(1) + text
