"""Structure, not only numbers: a right number counts only if it comes from the right cells.

A faux gradient that copies the real one (``K12 = C4``) shows a number within the tolerance of
the central difference, and checks nothing. So every checked cell that ``judge`` found right
must also depend, through the learner's own formulas, on what its quantity is computed from:
the quantities its template formula reads (``layouts.layout.formula_reads``, from the one
description of the layout; never a list typed per cell).

A requirement is met when the cell reads the required cell directly or through any chain of
the learner's formulas (helper cells, other sheets, a moved table: the dependencies are the
learner's, at the cells' current addresses), or when it reads everything *that* quantity is
computed from (an inlined step: ``=(F2-G2)^2/2`` for the loss needs no error cell). A
parameter (an input, Tiny) cannot be inlined: it must be read. A constant of the layout
(``d net/d bias = 1``) may be typed. A cell that still misses a requirement gets the status
``structure``: a root cause, explained in plain words.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..engine.evaluate import Evaluator, Ref, compile_formula
from ..layouts.layout import CellKind, Layout, formula_reads
from ..maths.neuron import describe
from .results import CellResult

__all__ = ["Requirements", "requirements", "structure_faults"]


@dataclass(frozen=True)
class Requirements:
    """What each quantity of a layout is computed from, and where and what each quantity is."""

    reads: Mapping[str, tuple[str, ...]]
    at: Mapping[str, str]  # quantity -> its cell's current address
    kind: Mapping[str, CellKind]
    names: Mapping[str, tuple[str, ...]]  # quantity -> the defined names formulas read it by


def requirements(layout: Layout) -> Requirements:
    """The requirements of ``layout`` (the last few layouts' are remembered: a class's
    workbooks share one, and a long training run's has 10,000 formulas to read)."""
    return _requirements(_Key(layout))


class _Key:
    """A layout hashed by identity: layouts hold mappings, and equal ones are the same object
    (``resolve_layout`` and ``relocated`` return one object per spec and placement)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def __hash__(self) -> int:
        return id(self.layout)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and other.layout is self.layout


@functools.lru_cache(maxsize=8)
def _requirements(key: _Key) -> Requirements:
    layout = key.layout
    cells = [c for c in layout.cells if c.quantity is not None]
    at = {c.quantity: c.at for c in cells if c.quantity is not None}
    names: dict[str, tuple[str, ...]] = {}
    for name, where in layout.names.items():
        for q, a in at.items():
            if a == where:
                names[q] = (*names.get(q, ()), name)
    return Requirements(
        formula_reads(layout), at, {c.quantity: c.kind for c in cells if c.quantity}, names
    )


def structure_faults(
    ev: Evaluator, sheet: str, layout: Layout, cells: Sequence[CellResult]
) -> tuple[CellResult, ...]:
    """``cells`` with every right cell that misses a requirement marked ``structure``."""
    needs = requirements(layout)
    out = []
    for c in cells:
        if c.ok and c.formula is not None and c.graded and needs.reads.get(c.quantity):
            missing = _missing(ev, sheet, needs, c.cell, c.quantity)
            if missing and compile_formula(c.formula).inputs:  # a typed one is judged as typed
                c = replace(c, status="structure", message=_message(ev, sheet, c, missing, needs))
        out.append(c)
    return tuple(out)


def _missing(
    ev: Evaluator, sheet: str, needs: Requirements, cell: str, quantity: str
) -> tuple[str, ...]:
    """The quantities ``quantity``'s formula reads that the learner's ``cell`` does not reach."""
    wanted = needs.reads[quantity]
    direct = set(ev.dependencies((sheet, cell)))
    if all(q not in needs.at or (sheet, needs.at[q]) in direct for q in wanted):
        return ()  # the usual case: the cell reads each of them itself
    reached = _ancestors(ev, (sheet, cell))
    met: dict[str, bool] = {}

    def read(q: str) -> bool:
        """Whether the cell reads ``q``'s cell, or where a name the layout gives it points
        (``Tiny`` in a copy of the sheet may still name the first sheet's cell)."""
        if (sheet, needs.at[q]) in reached:
            return True
        return any(ev.points_to(sheet, name) in reached for name in needs.names.get(q, ()))

    def meets(q: str) -> bool:
        if q not in met:
            kind = needs.kind.get(q)
            if q not in needs.at or kind == "constant" or read(q):
                met[q] = True
            elif kind == "formula":
                met[q] = False  # while looking: the layout's formulas form no cycle anyway
                met[q] = all(meets(r) for r in needs.reads.get(q, ()))
            else:
                met[q] = False  # a parameter must be read, it cannot be inlined
        return met[q]

    return tuple(q for q in wanted if not meets(q))


def _ancestors(ev: Evaluator, ref: Ref) -> set[Ref]:
    """Every cell ``ref`` reads, directly or through other formulas, on any sheet."""
    seen: set[Ref] = set()
    stack = list(ev.dependencies(ref))
    while stack:
        dep = stack.pop()
        if dep not in seen:
            seen.add(dep)
            stack.extend(ev.dependencies(dep))
    return seen


def _message(
    ev: Evaluator, sheet: str, c: CellResult, missing: tuple[str, ...], needs: Requirements
) -> str:
    deps = ev.dependencies((sheet, c.cell))
    names = _listed([f"{describe(q)} ({needs.at[q]})" for q in missing])
    if len(deps) == 1 and c.formula is not None and len(compile_formula(c.formula).inputs) == 1:
        where = deps[0][1] if deps[0][0] == sheet else f"{deps[0][0]}!{deps[0][1]}"
        did = f"{c.cell} copies {where}, which does not come from {names}"
    else:
        did = f"{c.cell} does not use {names}"
    return f"{did}: {reason(c.quantity)}."


def reason(quantity: str) -> str:
    """Why a cell holding ``quantity`` must come from what its formula reads, in plain words."""
    leaf = quantity.rsplit(".", 1)[-1]
    head = quantity.split(".", 2)
    kind = head[1] if head[0].startswith("step") and len(head) > 1 else head[0]
    if kind == "nudge" and leaf == "gradient":
        return "a faux gradient must come from the nudged losses, or it checks nothing"
    if kind == "nudge" and leaf == "distance":
        return "the distance must compare the faux gradient with the real one, or it checks nothing"
    if kind == "global":
        return (
            "a global gradient must multiply the gradients of the chain it follows, "
            "or it does not check the chain rule"
        )
    if kind == "local":
        return "a local gradient must come from its own step's values"
    if kind == "nudge":
        return "a nudged value must come from the nudged parameter, or the row nudges nothing"
    if leaf == "loss":
        return "a loss must come from the errors, and so from the targets"
    if leaf == "error":
        return "an error must compare the output with its target"
    return "it must be computed from what it depends on, or it is right by coincidence only"


def _listed(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
