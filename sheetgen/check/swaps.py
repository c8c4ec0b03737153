"""A wrong formula that reads a neighbour of a quantity its template formula reads, said in words.

A common slip takes one step too few or too many along the template's chain of formulas:
Adam's update written with the moment where its bias-corrected value belongs (``M5`` for
``Q5``, which is computed from ``M5``), a chain-rule product with d loss/d output where d
loss/d net belongs. The layout's one description says what each formula reads
(``layouts.reads.formula_reads``, through ``structure.requirements``), so the slip is found
for every layout alike: a quantity the template reads that the learner's formula does not,
paired with a cell the formula reads instead that the missing quantity is computed from (or
that is computed from it). Only what the formula reads is compared, never its numbers: the
sentence says what the learner wrote, and the verdict stays the judge's.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..engine.evaluate import Evaluator
from ..layouts.layout import CellSpec, Layout
from ..maths.neuron import describe_in
from .results import CellResult
from .structure import requirements

__all__ = ["read_instead"]


def read_instead(
    c: CellResult, ev: Evaluator, sheet: str, layout: Layout, specs: Mapping[str, CellSpec]
) -> str:
    """What ``c``'s formula reads in place of what its template formula reads, when the two
    are one step apart in the template ("It uses first moment of weight (M5), not corrected
    first moment of weight (Q5) computed from it."); "" when nothing is read in such a place."""
    needs = requirements(layout)
    wanted = [q for q in needs.reads.get(c.quantity, ()) if q in needs.at]
    reads = dict.fromkeys(d[1] for d in ev.dependencies((sheet, c.cell)) if d[0] == sheet)
    missing = [q for q in wanted if needs.at[q] not in reads]
    if not missing:
        return ""
    wanted_at = {needs.at[q] for q in wanted}
    extra = [
        q
        for a in reads
        if a not in wanted_at and (spec := specs.get(a)) is not None and (q := spec.quantity)
    ]
    said: list[str] = []
    for m in missing:
        for e in extra:
            if e in needs.reads.get(m, ()):
                how = "computed from it"
            elif m in needs.reads.get(e, ()):
                how = "that goes into it"
            else:
                continue
            extra.remove(e)
            name, instead = describe_in(e, c.quantity), describe_in(m, c.quantity)
            said.append(f"{name} ({needs.at[e]}), not {instead} ({needs.at[m]}) {how}")
            break
    return f"It uses {', and '.join(said)}." if said else ""
