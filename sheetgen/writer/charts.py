"""Draw a layout's charts with openpyxl, from cell ranges, so they follow every recalculation.

A chart refers to cells: Excel, LibreOffice and Google Sheets redraw it from the cells whenever
the learner edits an input. Beside each reference it also stores the numbers the cells hold
when the file is written (``numCache``, see :func:`cache_series`), as every formula cell stores
its value: readers that never recalculate (previews, Protected View, converters) draw the
chart from those.
"""

from __future__ import annotations

from collections.abc import Mapping

from openpyxl.chart import Reference, ScatterChart, Series
from openpyxl.chart.data_source import NumData, NumRef, NumVal
from openpyxl.chart.series import SeriesLabel
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.worksheet.worksheet import Worksheet

from .. import a1
from ..layouts.layout import ChartSpec, SeriesSpec
from ..workbook.book import stored_cells

_COLOURS = ("1F4E79", "C0392B", "000000", "00B050", "ED7D31", "7030A0")
"""Colours in series order: dark blue, red, black, green, orange, purple."""


def add_chart(ws: Worksheet, spec: ChartSpec) -> None:
    """Draw ``spec`` on ``ws``, anchored at ``spec.anchor``."""
    chart = ScatterChart()
    # The chart schema requires scatterStyle; each series' own line and markers say the rest.
    chart.scatterStyle = "lineMarker"
    chart.title = spec.title
    chart.style = 13
    chart.x_axis.title = spec.x_title
    chart.y_axis.title = spec.y_title
    chart.width, chart.height = spec.width, spec.height
    # openpyxl 3.1 marks axes deleted by default; Excel then draws none.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.x_axis.number_format = spec.x_format
    chart.y_axis.number_format = "0.000"
    chart.x_axis.majorGridlines = None
    # Where each axis is: openpyxl says "l" for both, and Gnumeric then draws a second y axis.
    chart.x_axis.axPos = "b"
    chart.y_axis.axPos = "l"
    # Numbers along the bottom edge, not along y = 0 (the tangent dips below zero).
    chart.x_axis.tickLblPos = "low"
    chart.legend.position = "b"
    if spec.span_blanks:
        chart.display_blanks = "span"
    for i, series in enumerate(spec.series):
        chart.series.append(_series(ws, series, _COLOURS[i % len(_COLOURS)]))
    ws.add_chart(chart, spec.anchor)


def _series(ws: Worksheet, spec: SeriesSpec, colour: str) -> Series:
    x = Reference(ws, range_string=_range(ws, spec.x))
    y = Reference(ws, range_string=_range(ws, spec.y))
    series = Series(y, x)
    series.tx = SeriesLabel(v=spec.title)
    series.smooth = spec.smooth
    line = series.graphicalProperties.line
    if spec.line:
        line.solidFill = colour
        line.width = 28575  # EMU: 2.25 pt
        if spec.dash:  # thinner, so the solid line it approximates shows underneath
            line.dashStyle = "dash"
            line.width = 12700
    else:
        line.noFill = True
    series.marker.symbol = spec.marker or "none"
    if spec.marker:
        series.marker.size = spec.marker_size
        series.marker.graphicalProperties = GraphicalProperties(solidFill=colour)
        series.marker.graphicalProperties.line.solidFill = colour
    return series


def _range(ws: Worksheet, cells: str) -> str:
    quoted = ws.title.replace("'", "''")
    return f"'{quoted}'!{cells}"


def cache_series(ws: Worksheet, values: Mapping[str, object]) -> None:
    """Store in every chart of ``ws`` the numbers its series' cells hold: ``values`` (a formula
    cell's cached value, by reference) or else the number written in the cell.

    openpyxl writes them with 16 significant digits (the cells keep all 17). A cell with no
    number (an exercise's blank, a formula left uncached) is left out of the
    cache, which the chart schema allows: the point count still covers the whole range.
    """
    # openpyxl 3.1 keeps the charts ``add_chart`` was given only in the private ``ws._charts``
    # (its own writer reads them there); there is no public way to list a sheet's charts.
    for chart in getattr(ws, "_charts", ()):
        for series in chart.series:
            for ref in (series.xVal.numRef if series.xVal else None, series.yVal.numRef):
                if isinstance(ref, NumRef) and ref.f:
                    ref.numCache = _numbers(ws, ref.f, values)


def _numbers(ws: Worksheet, formula: str, values: Mapping[str, object]) -> NumData:
    c1, r1, c2, r2 = a1.bounds(formula.rpartition("!")[2])
    assert c1 and r1 and c2 and r2  # a chart's series is a block of cells, never whole rows
    spots = [(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
    written = stored_cells(ws)  # ws[ref] would add a cell to the sheet being saved
    points = []
    for i, (r, c) in enumerate(spots):
        ref = a1.name(r, c)
        cell = written.get((r, c))
        value = values[ref] if ref in values else getattr(cell, "value", None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            points.append(NumVal(idx=i, v=repr(float(value))))
    return NumData(formatCode="General", ptCount=len(spots), pt=points)
