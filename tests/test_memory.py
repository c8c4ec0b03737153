"""Verifying a sheet takes memory in proportion to its file, not to its formulas' fan-in.

A network's formulas each read dozens of cells, and a cell's name appears in hundreds of them.
Held once per formula (names, compiled inputs), with every nudged pass of the reference kept at
once, a 20-20-1 network's 97 KB file takes 36 MB to verify (tracemalloc's peak) and a 40-40-1
network's 326 KB one 111 MB; with names shared and each pass dropped once read, 16 MB and 69 MB.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from sheetgen import build, verify_workbook


def test_verifying_a_network_stays_within_a_multiple_of_its_file(tmp_path: Path) -> None:
    # Imports and the engine's function tables load on first use: not the sheet's memory.
    verify_workbook(build(tmp_path / "warm.xlsx", "network:layers=2-3-1"))
    path = Path(build(tmp_path / "net.xlsx", "network:layers=20-20-1"))
    size = path.stat().st_size
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        before = tracemalloc.get_traced_memory()[0]
        report = verify_workbook(path)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        if not was_tracing:
            tracemalloc.stop()
    assert report.ok and len(report.cells) > 6000
    # 16 MB now (170 times the file), 36 MB before the names were shared.
    assert peak < 250 * size, f"verifying {size:,} bytes peaked at {peak:,} bytes"
