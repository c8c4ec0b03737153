"""``verify --json``'s document written a cell at a time is the document made whole.

``json_chunks`` composes the text of ``json_text(to_dict(report))`` by hand (each value
encoded on its own and indented to its depth), so that a large sheet's document is never held
whole; these tests hold the two equal on every shape a report's values take, and the pieces
small.
"""

from __future__ import annotations

import math
import random
import tracemalloc

import pytest

from sheetgen.check.results import CellResult, Report
from sheetgen.report import render
from sheetgen.report.render import JSON_CELLS, json_chunks, json_text, to_dict, to_json
from sheetgen.workbook.book import CellError


def _report(cells: tuple[CellResult, ...], **fields: object) -> Report:
    base: dict[str, object] = {
        "path": "sheets/ann.xlsx",
        "layout": "single_neuron",
        "sheet": "Neuron",
        "parameters": {"input": 0.4, "weight": -0.2, "tiny": 1e-4},
        "cells": cells,
    }
    base.update(fields)
    return Report(**base)  # type: ignore[arg-type]


def _cells(rng: random.Random, n: int) -> tuple[CellResult, ...]:
    """Verdicts with every kind of value a field holds: right, wrong with causes, errors,
    texts, empty, non-finite numbers, non-ASCII and undecodable (surrogate) text, line breaks
    and quotes in messages."""
    found: list[object] = [0.25, None, "x\u00e9", True, CellError("#DIV/0!"), math.inf, -0.0]
    expected: list[float | None] = [0.25, None, math.nan, 1e-300, -2.5]
    statuses = ["ok", "wrong", "error", "empty", "text", "todo", "structure", "unchecked"]
    out = []
    for i in range(n):
        at = f"{'ABCDEFGH'[i % 8]}{i + 1}"
        status = statuses[i % len(statuses)]
        causes = tuple(f"B{k}" for k in range(rng.randrange(3))) if status != "ok" else ()
        out.append(
            CellResult(
                at,
                rng.choice(["net", "output", "loss", "nudge.w1.gradient", "h1_2.local"]),
                "the \u201cnet\u201d input",
                status,  # type: ignore[arg-type]
                rng.choice(expected),
                rng.choice(found),  # type: ignore[arg-type]
                rng.choice([None, "=B2*C2", '=IF(A1="x",1,2)']),
                rng.choice(["", 'says "why"\non two lines', "caf\u00e9 \udcff"]),
                explanation=rng.choice(["", "It reads\tB2."]),
                causes=causes,
                graded=i % 5 != 0,
                context=i % 7 == 0,
                saved=("C3",) if i % 11 == 0 else (),
            )
        )
    return tuple(out)


@pytest.mark.parametrize(("seed", "batch"), [(0, 1), (1, 3), (2, 7), (3, JSON_CELLS)])
def test_the_pieces_join_into_the_whole_document(
    seed: int, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "JSON_CELLS", batch)  # cells encoded a few at a time
    rng = random.Random(seed)
    cells = _cells(rng, rng.randrange(1, 40))
    report = _report(
        cells,
        path="caf\u00e9/\udcffann.xlsx",
        warnings=("one", 'a "quoted"\nwarning'),
        choice="Judged sheet 'Neuron'.",
        blanks=tuple(c.cell for c in cells[:3]),
        parameters={"input": math.nan, "weight": CellError("#N/A"), "x\u00e9": "text"},
    )
    whole = json_text(to_dict(report))
    assert "".join(json_chunks(report)) == whole
    assert to_json(report) == whole


@pytest.mark.parametrize(
    "fields",
    [
        {},  # no cells: an empty list, written [] as the encoder writes it
        {"parameters": {}, "warnings": ()},
        {"blanks": ("B3",), "warnings": ("w",)},
    ],
)
def test_empty_and_one_item_values_are_written_as_the_encoder_writes_them(
    fields: dict[str, object],
) -> None:
    for cells in ((), _cells(random.Random(9), 1), _cells(random.Random(9), JSON_CELLS + 1)):
        report = _report(cells, **fields)
        assert to_json(report) == json_text(to_dict(report))


def test_the_pieces_hold_a_few_cells_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Written as they come, the pieces are what the caller holds: a few cells' text, never
    # the document's (2,000 cells: 800 KB whole).
    monkeypatch.setattr(render, "JSON_CELLS", 10)
    report = _report(_cells(random.Random(3), 2_000))
    pieces = 0
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        for piece in json_chunks(report):
            pieces += len(piece) > 0
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    size = len(to_json(report))
    assert pieces > 2_000 // 10
    assert peak < size / 4, f"{peak:,} bytes held for a {size:,}-byte document"
