"""Formula text that must never be evaluated: external references, DDE, web and file access.

The engine asks :func:`formula_hazards` before it compiles a formula, and ``sheetgen.check``
asks it to name, in the report, each cell or defined name it refused to evaluate. Pure text
work (regular expressions and one scan over the characters), remembered per formula: a class's
workbooks repeat the same formulas, and a sheet fills them down.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from .. import a1

__all__ = [
    "DDE",
    "EXTERNAL_REFERENCE",
    "HAZARD_DESCRIPTIONS",
    "HAZARD_FUNCTIONS",
    "formula_hazards",
    "hazards_of_shape",
]

EXTERNAL_REFERENCE: Final = "external-reference"
DDE: Final = "dde"

# Functions that reach outside the workbook, run code, or build references at
# run time (which may then point outside the workbook).
HAZARD_FUNCTIONS: Final = {
    "WEBSERVICE": "webservice",
    "FILTERXML": "filterxml",
    "HYPERLINK": "hyperlink",
    "CALL": "call",
    "REGISTER.ID": "register-id",
    "REGISTER": "register-id",
    "INDIRECT": "indirect",
    "RTD": "rtd",
    "IMAGE": "image",
    "DDE": DDE,
    "DDEAUTO": DDE,
    "EXEC": "exec",
    "EXECUTE": "exec",
    "EVALUATE": "evaluate",
}

HAZARD_DESCRIPTIONS: Final = {
    EXTERNAL_REFERENCE: "refers to another workbook or file",
    DDE: "is a DDE link, which can start programs",
    "webservice": "fetches data from the web (WEBSERVICE)",
    "filterxml": "parses XML (FILTERXML)",
    "hyperlink": "builds a hyperlink (HYPERLINK)",
    "call": "calls a DLL function (CALL)",
    "register-id": "registers a DLL function (REGISTER.ID)",
    "indirect": "builds a reference from text at run time (INDIRECT)",
    "rtd": "talks to a real-time data server (RTD)",
    "image": "downloads an image from the web (IMAGE)",
    "exec": "runs a program (EXEC)",
    "evaluate": "evaluates text as a formula (EVALUATE)",
}

_FUNCTION_CALL = re.compile(
    r"(?<![A-Za-z0-9_.\\])(?:_xl[a-z]+\.)*([A-Za-z][A-Za-z0-9_.]*)\s*\(", re.IGNORECASE
)
_ASCII_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.\\")


def _name_char(text: str) -> bool:
    r"""Whether ``text`` is one character a name may hold: ``[A-Za-z0-9_.\\\u00c0-\uffff]``,
    tested without a regular expression (compiling that one costs ~10 ms at every start;
    ``tests/test_safety.py`` holds the two equal)."""
    return len(text) == 1 and (text in _ASCII_NAME_CHARS or "\u00c0" <= text <= "\uffff")


_EXTERNAL_NAME_MARKS = re.compile(r"[\[\]\\/]|^[A-Za-z]:|://|^file:", re.IGNORECASE)


def _split_formula(formula: str) -> tuple[str, list[str], bool]:
    """Blank string literals and quoted names out of a formula.

    Returns the formula with every ``"..."`` literal replaced by ``""`` and every
    ``'...'`` name by ``''`` (so nothing inside them can look like a call), the
    quoted names themselves (they are where external paths hide), and whether
    a bracket group looks like an external-workbook index such as ``[1]``.
    """
    out: list[str] = []
    names: list[str] = []
    external = False
    last = ""  # the last non-blank character emitted
    i, n = 0, len(formula)
    while i < n:
        ch = formula[i]
        if ch in "\"'":
            j = i + 1
            buf: list[str] = []
            while j < n:
                if formula[j] == ch:
                    if j + 1 < n and formula[j + 1] == ch:
                        buf.append(ch)
                        j += 2
                        continue
                    break
                buf.append(formula[j])
                j += 1
            # After '|' a quoted text is a DDE topic (flagged as DDE), not a name.
            if ch == "'" and last != "|":
                names.append("".join(buf))
            out.append(ch + ch)
            last = ch
            i = j + 1
        elif ch == "[":
            # Balanced bracket group: a structured reference (Table1[Col],
            # [@Col], [[#This Row],[Col]]) or an external index ([1]Sheet!A1).
            depth, j = 0, i
            while j < n:
                if formula[j] == "[":
                    depth += 1
                elif formula[j] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            inner = formula[i + 1 : j]
            attached = bool(out) and _name_char(out[-1][-1:])
            after = formula[j + 1 : j + 2]
            if (
                not attached
                and not inner.startswith(("@", "#", "["))
                and (after == "!" or _name_char(after) or after == "'")
            ):
                external = True
            out.append("[]")
            last = "]"
            i = j + 1
        else:
            out.append(ch)
            if not ch.isspace():
                last = ch
            i += 1
    return "".join(out), names, external


def formula_hazards(formula: str) -> list[str]:
    """Classify formula text the verifier must not evaluate; [] means harmless.

    Returns hazard codes (keys of :data:`HAZARD_DESCRIPTIONS`) in a stable
    order: ``external-reference`` for ``[1]Sheet1!A1``, ``'C:\\d\\[b.xlsx]S'!A1``
    or ``'file:///...'!A1``; ``dde`` for ``cmd|' /C calc'!A0``; one code per
    dangerous function (WEBSERVICE, FILTERXML, HYPERLINK, CALL, REGISTER.ID,
    INDIRECT, RTD, IMAGE, EXEC, EVALUATE) in any case, with or without
    ``_xlfn.`` prefixes.  Text inside string literals never counts (so
    ``="INDIRECT("`` is harmless), but INDIRECT and HYPERLINK are flagged
    whatever their argument, because the argument is built at run time.
    Never raises, whatever the text.
    """
    if _MAYBE_HAZARD.search(formula.upper()) is None:  # most formulas: nothing a hazard needs
        return []
    return list(_hazards_of(formula))


_MAYBE_HAZARD = re.compile(
    r"[\[|']|" + "|".join(sorted({name.split(".")[0] for name in HAZARD_FUNCTIONS}))
)
"""What every hazard's text holds, upper-cased: ``[`` (an external workbook), ``|`` (DDE),
``'`` (a quoted name, where external paths hide) or a dangerous function's name (the full scan
upper-cases the name it finds, a piece of the formula, so the upper-cased formula holds it;
``tests/test_safety.py`` holds the shortcut to :func:`_hazards_of`). A formula with none of
them has none: a sheet's thousands of distinct formulas skip the full scan."""


@functools.lru_cache(maxsize=4096)
def _hazards_of(formula: str) -> tuple[str, ...]:
    """By text (a class repeats its formulas), then by shape (a sheet fills them down)."""
    if a1.plain(formula):  # cells make no hazard: every one reads as A1 (a C-level substitution)
        formula = a1.CELL_IN_FORMULA.sub(_ANY_CELL, formula)
    return hazards_of_shape(formula)


_ANY_CELL = a1.name(1, 1)


@functools.lru_cache(maxsize=4096)
def hazards_of_shape(formula: str) -> tuple[str, ...]:
    """:func:`formula_hazards` of a formula already reduced to its shape (``a1.shape``), or
    of any formula whose plain cells do not matter: they make no hazard."""
    text, names, external = _split_formula(formula)
    found: set[str] = set()
    if external or any(_EXTERNAL_NAME_MARKS.search(name) for name in names):
        found.add(EXTERNAL_REFERENCE)
    if "|" in text:
        found.add(DDE)
    for match in _FUNCTION_CALL.finditer(text):
        code = HAZARD_FUNCTIONS.get(match.group(1).upper())
        if code:
            found.add(code)
    order = list(HAZARD_DESCRIPTIONS)
    return tuple(sorted(found, key=order.index))
