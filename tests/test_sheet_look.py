"""What a learner sees on opening a built sheet: the chart in view, over no cell, and a
column A as wide as its labels, not as its title.

The chart's place on screen is worked out from the file as Excel lays it out: a column
``w`` characters wide is ``trunc((256 w + trunc(128 / 7)) / 256 * 7)`` pixels (8.43, 64 px,
when not set), a row 15 pt (20 px) unless given a height, a chart's size in EMU (9,525 a
pixel) from its anchor's top-left corner.
"""

from __future__ import annotations

import math
from collections import Counter

import openpyxl
import pytest
from openpyxl.chart.chartspace import ChartSpace
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from sheetgen import build
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import Layout

EMU_PER_PX = 9525
SEEN_ROWS = 30  # rows in view on opening at 100 % on a laptop's screen

SHEETS = {
    # spec -> what the short and the long sheet of a family with a chart are
    "single_neuron": "single_neuron",
    "training short": "training:steps=5",
    "training long": "training:steps=200",
    "adam long": "training:steps=200,optimizer=adam",
    "network training short": "training:layers=2-2-1,steps=5",
    "network training long": "training:layers=2-2-1,steps=200",
    "data training short": "training:layers=2-2-1,examples=4,steps=3",
    "data training long": "training:layers=2-2-1,examples=4,steps=60",
    "softmax training": "training:layers=2-3-2,steps=5,loss=cross-entropy",
    "data softmax adam": "training:layers=2-3-2,examples=4,batch=2,steps=40,loss=cross-entropy"
    ",optimizer=adam",
}


def column_px(ws: Worksheet, column: int) -> int:
    dims = ws.column_dimensions.get(get_column_letter(column))
    width = dims.width if dims is not None and dims.width else 8.43
    return int((256 * float(width) + math.trunc(128 / 7)) / 256 * 7)


def row_px(ws: Worksheet, row: int) -> float:
    dims = ws.row_dimensions.get(row)
    points = dims.height if dims is not None and dims.height else 15.0
    return float(points) * 96 / 72


def covered(ws: Worksheet, chart: ChartSpace) -> tuple[int, int, int, int]:
    """The chart's drawn rectangle as (first row, first column, last row, last column), each
    cell it reaches into counted."""
    start = chart.anchor._from
    row, column = start.row + 1, start.col + 1
    width = chart.anchor.ext.width / EMU_PER_PX + start.colOff / EMU_PER_PX
    height = chart.anchor.ext.height / EMU_PER_PX + start.rowOff / EMU_PER_PX
    last_column, last_row = column, row
    while (width := width - column_px(ws, last_column)) > 0:
        last_column += 1
    while (height := height - row_px(ws, last_row)) > 0:
        last_row += 1
    return row, column, last_row, last_column


@pytest.fixture(scope="module", params=sorted(SHEETS))
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Layout, Worksheet]:
    spec = SHEETS[request.param]
    path = build(tmp_path_factory.mktemp("look") / "sheet.xlsx", spec)
    return resolve_layout(spec), openpyxl.load_workbook(path).worksheets[0]


def test_the_chart_is_in_view_on_opening_over_no_cell(built: tuple[Layout, Worksheet]) -> None:
    layout, ws = built
    assert len(ws._charts) == len(layout.charts) == 1
    for chart in ws._charts:
        first_row, first_column, last_row, last_column = covered(ws, chart)
        assert first_row <= SEEN_ROWS and first_column <= 8, "in view when the file opens"
        under = [
            cell.coordinate
            for line in ws.iter_rows(first_row, last_row, first_column, last_column)
            for cell in line
            if cell.value is not None
        ]
        assert not under, f"the chart covers {under}"


def test_a_text_alone_on_its_row_overflows_and_the_others_fit(
    built: tuple[Layout, Worksheet],
) -> None:
    """A title does not set its column's width: it overflows into the cells to its right,
    which hold nothing; a header, and every label sharing its row with other cells, fits its
    column."""
    layout, ws = built
    rows = Counter(coordinate_from_string(spec.at)[1] for spec in layout)
    for spec in layout:
        if spec.kind != "text" or spec.style in ("note", "legend"):  # notes wrap
            continue
        column, row = coordinate_from_string(spec.at)
        if rows[row] > 1 or spec.style == "header":
            assert ws.column_dimensions[column].width >= len(spec.text or ""), spec.at
            continue
        beside = ws.iter_rows(row, row, column_index_from_string(column) + 1, ws.max_column)
        assert all(cell.value is None for line in beside for cell in line), spec.at
    title = ws["A1"].value
    if isinstance(title, str):  # the networks' sheets: column A fits "Example 4", not this
        assert ws.column_dimensions["A"].width < len(title)
