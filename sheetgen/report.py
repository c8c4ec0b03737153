"""Render a verification ``Report``: one data structure, shown as text or JSON, never recomputed."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from .evaluate import CellError, Value
from .reference import describe
from .verify import CellResult, Report

_VERDICT = {
    "ok": "ok",
    "wrong": "WRONG",
    "error": "ERROR",
    "empty": "EMPTY",
    "text": "NOT A NUMBER",
    "typed": "TYPED NUMBER",
    "unsupported": "CANNOT EVALUATE",
    "unchecked": "UNCHECKED",
}


def summary(report: Report) -> str:
    """One line: how many cells were checked and how many are right."""
    counts = Counter(c.status for c in report.cells)
    total = len(report.cells)
    if report.ok:
        return f"OK: all {total} cells of {report.path} compute the right numbers."
    wrong = ", ".join(c.cell for c in report.wrong)
    return (
        f"FAILED: {counts['ok']} of {total} cells right; "
        f"{total - counts['ok']} need attention: {wrong}."
    )


def to_text(report: Report, *, only_wrong: bool = False) -> str:
    """A table a person can read (cell, meaning, expected, found, verdict), then the summary."""
    rows = [("cell", "meaning", "expected", "found", "verdict")]
    for c in report.cells:
        if only_wrong and c.ok:
            continue
        rows.append(
            (c.cell, describe(c.quantity), _num(c.expected), _found(c.found), _VERDICT[c.status])
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [f"{report.path}: layout {report.layout}, sheet {report.sheet!r}", ""]
    for i, r in enumerate(rows):
        lines.append(
            "  ".join(
                v.ljust(w) if j < 2 or j == 4 else v.rjust(w)
                for j, (v, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    problems = [c.message for c in report.cells if not c.ok and c.message]
    if problems:
        lines += ["", *problems]
    lines += [*report.warnings, "", summary(report)]
    return "\n".join(lines)


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-able data (the ``--json`` document)."""
    return {
        "ok": report.ok,
        "path": report.path,
        "layout": report.layout,
        "sheet": report.sheet,
        "parameters": {k: _json(v) for k, v in report.parameters.items()},
        "summary": dict(Counter(c.status for c in report.cells)),
        "cells": [_cell_dict(c) for c in report.cells],
        "warnings": list(report.warnings),
    }


def to_json(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False)


def _cell_dict(c: CellResult) -> dict[str, Any]:
    return {
        "cell": c.cell,
        "quantity": c.quantity,
        "meaning": describe(c.quantity),
        "status": c.status,
        "expected": _json(c.expected),
        "found": _json(c.found),
        "formula": c.formula,
        "message": c.message,
    }


def _json(v: Value) -> Any:
    if isinstance(v, CellError):
        return v.code
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.6g}"


def _found(v: Value) -> str:
    if v is None:
        return "(empty)"
    if isinstance(v, float) and not isinstance(v, bool):
        return _num(v)
    if isinstance(v, CellError):
        return v.code
    return repr(v) if isinstance(v, str) else str(v).upper()
