"""Render a verification ``Report``: one data structure, shown as text, JSON or JUnit XML.

Nothing here recomputes a verdict: every renderer reads the same ``Report`` (the annotated
feedback workbook, ``sheetgen.annotate``, and the class summary, ``sheetgen.grade_class``, too).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any, NamedTuple

from ..check import show
from ..check.results import CellResult, Report, count_right, held_whole
from ..engine.evaluate import CellError, Value
from ..maths.neuron import describe

_VERDICT = {
    "ok": "ok",
    "wrong": "WRONG",
    "error": "ERROR",
    "empty": "EMPTY",
    "text": "NOT A NUMBER",
    "typed": "TYPED NUMBER",
    "structure": "FROM WRONG CELLS",
    "unsupported": "CANNOT EVALUATE",
    "uncomputed": "NOT CHECKED",
    "unchecked": "UNCHECKED",
    "todo": "TO DO",
    "waiting": "WAITING",
    "fragile": "RIGHT BY LUCK",
}


def summary(report: Report) -> str:
    """One line: how many cells were checked and how many are right.

    In an exercise only the blanks count (the cells handed out filled in are context).
    """
    if report.ok:
        return f"OK: all {len(report.cells)} cells of {report.path} compute the right numbers."
    # Counted as they are held: a large sheet's right verdicts are not each made (Verdicts).
    counted = [c for c in report.cells if c.scored] if report.exercise else report.cells
    right = count_right(counted)
    total = len(counted)
    todo, waiting = len(report.todo), len(report.waiting)
    saved, unchecked, uncheckable = _for_review(report)
    attention = [c.cell for c in report.attention]
    what = "cells to fill in" if report.exercise else "cells"
    parts = [f"{right} of {total} {what} right"]
    if attention:
        roots = [c.cell for c in report.roots]
        needs = "needs" if len(attention) == 1 else "need"
        parts.append(f"{len(attention)} {needs} attention: {listed(attention)}")
        if roots and len(roots) < len(attention):
            parts.append(f"fix first: {listed(roots)}")
    if todo:
        parts.append(f"{todo} cell{'s' if todo != 1 else ''} to do")
    if waiting:
        parts.append(f"{waiting} waiting for {'them' if todo != 1 else 'it'}")
    if unchecked:
        parts.append(
            f"not checked (sheetgen cannot compute them; review by hand): {listed(unchecked)}"
        )
    if uncheckable:
        parts.append(
            "not checkable with these parameters (the value is undefined there, or rounding "
            f"could hide a mistake): {listed(uncheckable)}"
        )
    if saved:
        parts.append(f"checked from the values your application saved: {listed(saved)}")
    head = "FAILED" if attention else "TO DO" if todo or waiting else "NOT FULLY CHECKED"
    return f"{head}: {'; '.join(parts)}."


def review_note(report: Report) -> str:
    """The cells of ``report`` a teacher should look at, in one line ("" for none): checked
    from the values the learner's application saved (scored), or not checked at all (sheetgen
    cannot compute them, or no number could be judged at these parameters: left out of the
    score)."""
    saved, unchecked, uncheckable = _for_review(report)
    parts = []
    if saved:
        parts.append(f"checked from the values the file saved: {' '.join(saved)}")
    if unchecked:
        parts.append(f"not checked (sheetgen cannot compute them): {' '.join(unchecked)}")
    if uncheckable:
        parts.append(
            "not checkable with these parameters (undefined, or rounding could hide a "
            f"mistake): {' '.join(uncheckable)}"
        )
    return "review " + "; ".join(parts) if parts else ""


def _for_review(report: Report) -> tuple[list[str], list[str], list[str]]:
    """The cells to review by hand, by why: checked from the values the file saved; not
    computed by sheetgen; not checkable at these parameters (see ``CellResult.checked``)."""
    saved: list[str] = []
    unchecked: list[str] = []
    uncheckable: list[str] = []
    for c in report.review:
        kind = saved if c.checked else uncheckable if c.uncheckable else unchecked
        kind.append(c.cell)
    return saved, unchecked, uncheckable


LISTED = 500
"""Up to this many cells a short table (``verify`` without ``--all``) lists every checked
cell; beyond, only the cells that need attention: a 30,000-cell training sheet's table
would scroll its diagnosis and summary out of sight, and no one reads 30,000 "ok" lines."""


def to_text(report: Report, *, only_wrong: bool = False, short: bool = False) -> str:
    """A table a person can read (cell, meaning, expected, found, verdict), then the summary."""
    return "\n".join(text_lines(report, only_wrong=only_wrong, short=short))


def text_lines(report: Report, *, only_wrong: bool = False, short: bool = False) -> Iterator[str]:
    """The lines of :func:`to_text`, one at a time, so that a caller printing a large sheet's
    table (a network's is 90,000 rows) need not hold it twice, as lines and as one text.

    ``only_wrong`` leaves out the right cells; ``short`` leaves them out of a sheet of more
    than :data:`LISTED` cells only, and says how many it left out."""
    hidden = short and not only_wrong and len(report.cells) > LISTED
    only_wrong = only_wrong or hidden
    rows = [("cell", "meaning", "expected", "found", "verdict")]
    # Only the wrong ones: among those held whole (a right verdict held as numbers is not made).
    for c in held_whole(report.cells) if only_wrong else report.cells:
        if only_wrong and c.ok:
            continue
        verdict = _VERDICT[c.status] + (f" (via {', '.join(c.causes)})" if c.causes else "")
        verdict += " (from saved value)" if c.saved and c.checked else ""
        rows.append((c.cell, describe(c.quantity), _num(c.expected), _found(c.found), verdict))
    widths = [max(map(len, column)) for column in zip(*rows, strict=True)]
    yield f"{report.path}: layout {report.layout}, sheet {report.sheet!r}"
    if report.choice:
        yield report.choice
    table = len(rows) > 1  # --only-wrong and nothing wrong: no table, not an empty header
    if table:
        # Cell, meaning and verdict to the left, the numbers to the right, two spaces apart.
        align = ("<", "<", ">", ">", "<")
        row = "  ".join(f"{{:{a}{w}}}" for a, w in zip(align, widths, strict=True))
        yield ""
        yield row.format(*rows[0]).rstrip()
        yield "  ".join("-" * w for w in widths)
        for r in rows[1:]:
            yield row.format(*r).rstrip()
    if hidden:
        right = count_right(report.cells)
        yield ""
        yield (
            f"{right} right cell{'s are' if right != 1 else ' is'} not listed, as the sheet "
            f"has more than {LISTED} cells: --all lists every cell."
        )
    rest = False
    for line in chain(diagnosis(report), report.warnings):
        rest = True
        yield line
    if table or rest or hidden:  # a blank line after a table or a diagnosis
        yield ""
    yield summary(report)


def diagnosis(report: Report) -> Iterator[str]:
    """Root causes first, each with what it holds, why, and the cells it drags along.

    Line by line: a sheet whose every row moved has 85,000 roots, and their lines held at
    once were a second copy of every explanation (80 MB for an 80-80-1 network)."""
    if report.ok:
        return
    if not any(c.explanation for c in report.wrong):  # not diagnosed: the verdicts' messages
        yield ""
        yield from (c.message for c in report.wrong if c.message)
        return
    roots = report.roots
    if roots:
        yield ""
        yield f"To fix first ({len(roots)} root cause{'s' if len(roots) != 1 else ''}):"
    for c in roots:
        yield f"  {c.cell} ({describe(c.quantity)})"
        if c.message:
            yield f"      {c.message}"
        yield f"      It holds {c.holds or 'nothing'}."
        if c.explanation:
            yield f"      {c.explanation}"
        inherited = report.inherited_from(c.cell)
        unchecked = [i for i in inherited if i.status == "unchecked"]
        wrong = [i for i in inherited if i.status != "unchecked"]
        if wrong:
            yield f"      Wrong because of it: {_cells(wrong)}."
        if unchecked:
            yield f"      Not checked until it is fixed: {_cells(unchecked)}."
    todo = report.todo
    if todo:
        yield ""
        yield f"To do ({len(todo)} cell{'s' if len(todo) != 1 else ''}):"
        for c in todo:
            follow = report.inherited_from(c.cell)
            verb = "waits" if len(follow) == 1 else "wait"
            extra = f" (until then {_cells(follow)} {verb} for it)"
            yield f"  {c.cell} ({describe(c.quantity)}){extra if follow else ''}."


def _cells(cells: Sequence[CellResult], most: int = 12) -> str:
    return listed([c.cell for c in cells], most)


def listed(names: Sequence[str], most: int = 12) -> str:
    """``names`` joined, the first ``most`` of them and then how many more: a long list stays
    one short line ("A1, A2 and 40 more")."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])} and {len(names) - most} more"


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-able data (the ``--json`` document)."""
    return _document(report, [_cell_dict(c) for c in report.cells])


def _document(report: Report, cells: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`to_dict` with ``cells`` in the place of the cells' own (one order of keys for
    :func:`to_dict` and :func:`json_chunks`)."""
    return {
        "ok": report.ok,
        "exit_code": report.exit_code,
        "path": report.path,
        "layout": report.layout,
        "sheet": report.sheet,
        "sheet_choice": report.choice,
        "parameters": {k: _json(v) for k, v in report.parameters.items()},
        "summary": dict(Counter(c.status for c in report.cells)),
        "roots": [c.cell for c in report.roots],
        "todo": [c.cell for c in report.todo],
        "waiting": [c.cell for c in report.waiting],
        "review": [c.cell for c in report.review],
        "exercise": report.exercise,
        "blanks": list(report.blanks),
        "cells": cells,
        "warnings": list(report.warnings),
    }


def to_json(report: Report) -> str:
    """The report as JSON text (see :func:`json_text`)."""
    return "".join(json_chunks(report))


def json_chunks(report: Report) -> Iterator[str]:
    """The text of :func:`to_json` in pieces, :data:`JSON_CELLS` cells at a time: joined,
    exactly ``json_text(to_dict(report))``.

    A caller writing them as they come holds a few dozen cells' dictionaries and text at a
    time. The whole document at once held every cell's dictionary, a copy of them all, and
    the encoder's millions of small pieces: ten times the text's size (an 80-80-1 network's
    68 MB of JSON took 600 MB).
    """
    yield "{"
    separator = "\n  "
    cells = report.cells
    for key, value in _document(report, []).items():
        yield f"{separator}{json_text(key)}: "
        separator = ",\n  "
        if key != "cells" or not cells:
            yield _deeper(json_text(value), 1)
            continue
        yield "["
        for start in range(0, len(cells), JSON_CELLS):
            batch = json_text([_cell_dict(c) for c in cells[start : start + JSON_CELLS]])
            # "[\n  {...},\n  {...}\n]": its items, one level deeper in the document.
            yield ("," if start else "") + _deeper(batch[1:-2], 1)
        yield "\n  ]"
    yield "\n}"


JSON_CELLS = 50
"""How many cells :func:`json_chunks` encodes in one piece (a few hundred KB while it is
made): one encoder call a cell, or a thousand cells a call, each cost a third more CPU."""


def _deeper(text: str, level: int) -> str:
    """JSON ``text`` as it reads ``level`` deep in a document: the encoder's every line break
    is a new line of its nesting (a string's own line breaks are escaped, ``\\n``)."""
    return text.replace("\n", "\n" + "  " * level)


def json_text(data: Any) -> str:
    """JSON in plain ASCII, so that it is valid in any output encoding and never invalid UTF-8.

    Non-ASCII characters are ``\\uXXXX`` escapes; the undecodable bytes of a file name (held
    as lone surrogates) are first spelled ``\\xNN``, which no JSON reader refuses.
    """
    return json.dumps(_without_surrogates(data), indent=2, ensure_ascii=True)


def _without_surrogates(data: Any) -> Any:
    if isinstance(data, str):
        return data.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(data, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_without_surrogates(v) for v in data]
    return data


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
        "holds": c.holds,
        "explanation": c.explanation,
        "root": c.root,
        "causes": list(c.causes),
        "graded": c.graded,
        "scored": c.scored,
        "checked": c.checked,
        "saved": list(c.saved),
    }


class JUnitEntry(NamedTuple):
    """One workbook of a JUnit document: its report, or why there is none, and its timing."""

    name: str
    report: Report | None
    reason: str | None = None
    seconds: float = 0.0
    timestamp: str | None = None  # ISO 8601, when it was checked


def to_junit(entries: Sequence[JUnitEntry | tuple[str, Report | None, str | None]]) -> str:
    """JUnit XML for CI systems and autograders: a test suite per workbook, a test per cell.

    ``entries`` are (name, report, reason[, seconds, timestamp]): a workbook that could not be
    checked has no report and one ``<error>`` test carrying the reason. A to-do cell is a
    ``<failure>`` (type ``todo``), so an unfinished workbook is red; a cell waiting for a blank
    is ``<skipped>`` (the blank's failure already says what to do), and so is a cell sheetgen
    could not compute (the reason is the message); a cell checked from the value the file saved
    passes, its ``<system-out>`` saying so.
    """
    suites = ET.Element("testsuites", name="sheetgen")
    totals = Counter[str]()
    total_time = 0.0
    for raw in entries:
        entry = raw if isinstance(raw, JUnitEntry) else JUnitEntry(*raw)
        name, report, reason = entry.name, entry.report, entry.reason
        suite = ET.SubElement(suites, "testsuite", name=name)
        if entry.timestamp:
            suite.set("timestamp", entry.timestamp)
        suite.set("time", f"{entry.seconds:.3f}")
        total_time += entry.seconds
        counts = Counter[str]()
        if report is None:
            case = ET.SubElement(suite, "testcase", classname=name, name="workbook")
            ET.SubElement(case, "error", message=reason or "could not be checked")
            counts.update(tests=1, errors=1)
        else:
            for c in report.cells:
                case = ET.SubElement(
                    suite, "testcase", classname=name, name=f"{c.cell} {describe(c.quantity)}"
                )
                counts["tests"] += 1
                if c.status == "waiting" or not c.checked:
                    ET.SubElement(case, "skipped", message=c.message)
                    counts["skipped"] += 1
                elif not c.ok:
                    failure = ET.SubElement(case, "failure", message=c.message, type=c.status)
                    failure.text = "\n".join(
                        filter(None, (f"holds: {c.holds}" if c.holds else "", c.explanation))
                    )
                    counts["failures"] += 1
                if c.saved and c.checked:
                    ET.SubElement(case, "system-out").text = c.explanation
            if report.warnings:
                ET.SubElement(suite, "system-out").text = "\n".join(report.warnings)
        for key in ("tests", "failures", "errors", "skipped"):
            suite.set(key, str(counts[key]))
        totals.update(counts)
    for key in ("tests", "failures", "errors", "skipped"):
        suites.set(key, str(totals[key]))
    suites.set("time", f"{total_time:.3f}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _json(v: Value) -> Any:
    if isinstance(v, CellError):
        return v.code
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _num(x: float | None) -> str:
    return "" if x is None else show.number(x, 6)


def _found(v: Value) -> str:
    return show.value(v, digits=6, empty="(empty)")
