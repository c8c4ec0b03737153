"""Draw a layout's charts with openpyxl, from cell ranges, so they follow every recalculation.

A chart stores references to cells, never the numbers: Excel, LibreOffice and Google Sheets
redraw it from the cells whenever the learner edits an input.
"""

from __future__ import annotations

from openpyxl.chart import Reference, ScatterChart, Series
from openpyxl.chart.series import SeriesLabel
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.worksheet.worksheet import Worksheet

from .layout import ChartSpec, SeriesSpec

_COLOURS = ("1F4E79", "C0392B", "000000", "00B050", "ED7D31", "7030A0")
"""Colours in series order: dark blue, red, black, green, orange, purple."""


def add_chart(ws: Worksheet, spec: ChartSpec) -> None:
    """Draw ``spec`` on ``ws``, anchored at ``spec.anchor``."""
    chart = ScatterChart()
    chart.title = spec.title
    chart.style = 13
    chart.x_axis.title = spec.x_title
    chart.y_axis.title = spec.y_title
    chart.width, chart.height = spec.width, spec.height
    # openpyxl 3.1 marks axes deleted by default; Excel then draws none.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.x_axis.number_format = "0.00"
    chart.y_axis.number_format = "0.000"
    chart.x_axis.majorGridlines = None
    # Numbers along the bottom edge, not along y = 0 (the tangent dips below zero).
    chart.x_axis.tickLblPos = "low"
    chart.legend.position = "b"
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
