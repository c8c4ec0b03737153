"""A wrong cell's explanation in plain words: what it holds, why (an Excel error followed back to
the cell where it starts, a circular reference, a formula stored as text), which wrong cells it
only inherits from, and a hint for a root cause. ``sheetgen.check.diagnose`` decides the
verdicts and causes; this module says them."""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping

from ..engine.evaluate import CellError
from ..layouts.layout import CellSpec, Layout
from ..maths.neuron import describe
from ..workbook.book import Sheet
from .graph import Graph
from .hints import hint
from .results import CellResult
from .swaps import read_instead


def formula_as_text(ws: Sheet, at: str) -> str | None:
    """The text a cell holds if it is a formula stored as text (``'=B2*C2``), else None."""
    raw = ws.cells.get(at)
    if raw is None or raw.formula is not None or not isinstance(raw.value, str):
        return None
    return raw.value if raw.value.startswith("=") else None


def explain(
    c: CellResult,
    causes: tuple[str, ...],
    ws: Sheet,
    graph: Graph,
    layout: Layout,
    names: Names,
    *,
    hints: bool = True,
) -> CellResult:
    """``c`` with its ``causes`` and, if wrong, its explanation: for a root cause, what it
    reads in place of what (``sheetgen.check.swaps``) or why it fails, and a hint; for an
    inherited cell, the cells to fix first."""
    if (c.ok or not c.checked) and not causes:
        return c  # most cells: nothing to add (an unchecked one is said by provenance.from_saved)
    if c.ok:
        return c.explained(causes, c.explanation)
    specs = names.specs
    if c.status == "wrong" and not causes:  # a root: what it reads in place of what?
        why = read_instead(c, graph.ev, graph.sheet, layout, specs)
    else:
        why = why_wrong(c, ws, graph, names)
    if causes and c.status == "unchecked":
        said = ", ".join(map(names, causes))
        verb = "holds" if len(causes) == 1 else "hold"
        why = f"Not checked until {said} {verb} a usable number. {why}"
    elif causes and causes == (graph.ev.array_anchor(graph.ref(c.cell)),):
        why = f"Wrong because of it: fix the array formula in {causes[0]}. {why}".strip()
    elif causes:
        said = ", ".join(map(names, causes))
        why = (
            f"Wrong only because {said} {'is' if len(causes) == 1 else 'are'} wrong: "
            f"fix {'it' if len(causes) == 1 else 'them'} first. {why}"
        ).strip()
    # A hint is said for a root only (an inherited cell's fix is elsewhere).
    hint_ = hint(specs[c.cell], specs) if hints and not causes and c.cell in specs else None
    parts = [why, f"Hint: {hint_}" if hint_ else ""]
    # One string for the cells said alike: an inherited cell's words name its roots only,
    # and one wrong gradient of a 10,000-step run has 70,000 such cells (2.8 MB).
    return c.explained(causes, sys.intern(" ".join(p for p in parts if p)))


def why_wrong(c: CellResult, ws: Sheet, graph: Graph, names: Names) -> str:
    """Why a wrong cell is wrong, from its status and what the evaluator found; "" where its
    numbers alone say it."""
    ref = graph.ref(c.cell)
    problem = graph.ev.problems.get(ref)
    if not c.graded:
        return "A parameter is the learner's to change, but it must be a usable number."
    if c.status == "todo":
        return "To do: this cell was left blank for you to fill in with a formula."
    if c.status == "empty":
        return "The cell is empty: it needs a formula."
    if c.status == "typed":
        if c.formula is not None:
            return (
                "A formula that refers to no cell is a pasted number in disguise: "
                "compute it from the cells it depends on."
            )
        return "Write a formula that computes it from the cells it depends on."
    if c.status == "fragile":
        return (
            "Its formula holds for the sheet's own numbers only: a number typed where it "
            "should refer to a cell, or a shortcut that needs special values (such as targets "
            "of exactly 0 or 1) where the sheet takes any."
        )
    if c.status == "text":
        raw = formula_as_text(ws, c.cell)
        if raw is not None:
            return (
                f"The formula {raw} is stored as text (the cell is formatted as Text, or the "
                "formula starts with an apostrophe), so it is never computed. Format the cell "
                "as General and enter the formula again."
            )
        return "It holds text where a number belongs."
    if problem is not None and problem.kind == "circular":
        if graph.on_cycle(c.cell):
            loop = " → ".join(graph.cycle(c.cell))
            return (
                f"Circular reference: {loop}. Each of these cells needs the other's value "
                "first, so none of them can be computed."
            )
        return "It uses a cell that is part of a circular reference."
    if problem is not None and problem.kind == "unknown":
        return (
            f"It {problem.message}: Excel and LibreOffice show #NAME? there too. Check the "
            "spelling of the function's name."
        )
    if problem is not None:
        return "The checker cannot compute it and will not guess."
    if isinstance(c.found, CellError):
        return why_error(c.cell, graph, names)
    if c.status == "unchecked":
        return ""
    return ""


def why_error(cell: str, graph: Graph, names: Names) -> str:
    """Follow an Excel error back to the cell where it starts, and say why it starts there.

    Each step goes to the first cell read that shows an error and is not on the trail yet.
    The trail of each cell explained is kept (``graph.trails``, the last few): a cell further
    down that meets it takes it as it was said, as long as it does not cross the trail
    walked so far (a cell on both would be skipped the second time); a sheet whose every row
    moved has thousands of errors, each on the trail of the ones before.
    """
    walked: list[tuple[str, str]] = []  # (cell, its error code), from ``cell`` on
    seen: set[str] = set()
    said, beyond = "", frozenset[str]()
    at: str | None = cell
    sheet, values, deps, trails = graph.sheet, graph.ev.values, graph.deps, graph.trails
    while at is not None:
        ref = (sheet, at)
        value = values.get(ref)
        code = value.code if isinstance(value, CellError) else "an error"
        walked.append((at, code))
        seen.add(at)
        at = None
        for dep in deps(ref):
            if dep[0] == sheet and dep[1] not in seen and isinstance(values.get(dep), CellError):
                at = dep[1]
                break
        if at is None:
            said = error_starts(walked[-1][0], code, graph, names)
        elif (kept := trails.get(at)) is not None and kept[1].isdisjoint(seen):
            said, beyond = kept
            said = f"It shows {code} because {names(at)} does. " + said.replace(
                "It shows", f"{at} shows", 1
            )
            at = None
    for (_, code), (there, _) in zip(walked[-2::-1], walked[:0:-1], strict=True):
        said = f"It shows {code} because {names(there)} does. " + said.replace(
            "It shows", f"{there} shows", 1
        )
    if len(trails) >= TRAILS_KEPT:
        trails.clear()
    trails[cell] = (said, beyond | seen)
    return said


TRAILS_KEPT = 512
"""How many errors' trails are kept (the cells just explained: a trail is met by its neighbours)."""


def error_starts(cell: str, code: str, graph: Graph, names: Names) -> str:
    """Why the error ``code`` starts at ``cell`` (no cell it reads shows one off the trail)."""
    ref = graph.ref(cell)
    if graph.ev.formula(ref) is None:
        return f"It shows {code}: the error is typed into the cell itself."
    deps = [d for d in graph.deps(ref) if d[0] == graph.sheet]
    values = {d[1]: graph.ev.values.get(d) for d in deps}
    problem = graph.ev.problems.get(ref)
    if code == "#DIV/0!":
        zero = [d for d, v in values.items() if v is None or v == 0]
        if zero:
            what = " and ".join(
                f"{names(d)}, which is {'empty' if values[d] is None else '0'}" for d in zero
            )
            return f"It shows #DIV/0! (division by zero) because it divides by {what}."
        return "It shows #DIV/0!: its formula divides by zero."
    if code == "#VALUE!":
        text = [d for d, v in values.items() if isinstance(v, str | bool)]
        if text:
            what = " and ".join(f"{names(d)} holds the text {values[d]!r}" for d in text)
            return f"It shows #VALUE! (a value of the wrong kind) because {what}."
        return "It shows #VALUE!: an operation got a value of the wrong kind."
    if code == "#NAME?":
        if problem is not None:
            return f"It shows #NAME? because it {problem.message} (a misspelt name?)."
        return "It shows #NAME?: its formula uses a name Excel does not know."
    if code == "#REF!":
        return (
            "It shows #REF!: its formula refers to a cell that no longer exists "
            "(a row, column or sheet was deleted)."
        )
    if code == "#NUM!":
        return "It shows #NUM!: a number is too large or invalid (an overflow, or the like)."
    if code == "#N/A":
        return "It shows #N/A: a value is not available."
    return f"It shows {code}."


class Names:
    """Each cell's name in plain words ("d loss/d w(layer 1, 1→1) (AP9)"), kept for the
    ``kept`` cells named last: an error's explanation names every cell on its way back to
    where the error starts, and a sheet whose every row moved names half a million cells,
    its neighbours' mostly, so that a large sheet's names are never all held."""

    KEPT = 512

    def __init__(self, specs: Mapping[str, CellSpec], kept: int = KEPT) -> None:
        self.specs = specs
        self.said = functools.lru_cache(maxsize=kept)(functools.partial(name_of, specs=specs))

    def __call__(self, cell: str) -> str:
        return self.said(cell)


def name_of(cell: str, specs: Mapping[str, CellSpec]) -> str:
    """``cell`` named by its quantity in words, with its address ("loss (J2)")."""
    spec = specs.get(cell)
    if spec is None or spec.quantity is None:
        return cell
    return f"{describe(spec.quantity)} ({cell})"
