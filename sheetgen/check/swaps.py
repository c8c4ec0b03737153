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

from collections.abc import Callable, Mapping, Sequence

from ..engine.evaluate import Evaluator
from ..layouts.layout import CellSpec, Layout
from ..layouts.reads import addresses_read
from ..maths.neuron import describe_in
from .results import CellResult
from .structure import KeptWithLayout, requirements

__all__ = ["read_instead", "template_reads"]


def read_instead(
    c: CellResult, ev: Evaluator, sheet: str, layout: Layout, specs: Mapping[str, CellSpec]
) -> str:
    """What ``c``'s formula reads in place of what its template formula reads, when the two
    are one step apart in the template ("It uses first moment of weight (M5), not corrected
    first moment of weight (Q5) computed from it."); "" when nothing is read in such a place.

    Where the formulas it compares say their templates (``CellSpec.source`` None), what each
    reads is told from its own addresses (``addresses_read``), cell by cell: the layout's
    requirements are worked out only for a layout whose formulas do not (a 10,000-step
    training run's were 17 MB at the peak of a wrong sheet's verify, for one root)."""
    said = _by_address(c, ev, sheet, _reader(layout), specs)
    return _by_quantity(c, ev, sheet, layout, specs) if said is None else said


def template_reads(layout: Layout, spec: CellSpec) -> tuple[str, ...]:
    """The quantities ``spec``'s template formula reads (``Requirements.reads``), told from
    its own addresses where its formula says its template (``CellSpec.source`` None): the
    layout's requirements are worked out only for another cell."""
    specs = layout.by_address
    if spec.formula is None or spec.quantity is None:
        return ()
    found = _reader(layout)(spec)
    if found is None:
        return requirements(layout).reads.get(spec.quantity, ())
    return tuple(dict.fromkeys(q for a in found if (q := specs[a].quantity) is not None))


_Reader = Callable[[CellSpec], Sequence[str] | None]
_READERS: KeptWithLayout[_Reader] = KeptWithLayout()
"""Each living layout's ``addresses_read``: made in one pass over its cells, and asked for
each root cause explained (a sheet whose rows all moved has thousands)."""


def _reader(layout: Layout) -> _Reader:
    read = _READERS.get(layout)
    if read is None:
        read = addresses_read(layout)
        _READERS.put(layout, read)
    return read


def _by_address(
    c: CellResult,
    ev: Evaluator,
    sheet: str,
    read: _Reader,
    specs: Mapping[str, CellSpec],
) -> str | None:
    """:func:`read_instead` from the addresses each formula compared holds; None where one
    of them does not say its template (then the layout's requirements say it)."""

    def reads_of(spec: CellSpec) -> Sequence[str]:
        found = read(spec)
        if found is None and spec.formula is not None and spec.quantity is not None:
            raise LookupError(spec.at)  # its template's text says what it reads
        return () if found is None else found

    laid = specs.get(c.cell)
    if laid is None or laid.quantity != c.quantity:
        return None
    try:
        wanted = dict.fromkeys(reads_of(laid))
        reads = dict.fromkeys(d[1] for d in ev.dependencies((sheet, c.cell)) if d[0] == sheet)
        missing = [a for a in wanted if a not in reads]
        if not missing:
            return ""
        extra = [
            (a, q)
            for a in reads
            if a not in wanted and (spec := specs.get(a)) is not None and (q := spec.quantity)
        ]
        said: list[str] = []
        for m in missing:
            m_spec = specs[m]
            m_reads = reads_of(m_spec)
            for e in extra:
                e_at, e_quantity = e
                if e_at in m_reads:
                    how = "computed from it"
                elif m in reads_of(specs[e_at]):
                    how = "that goes into it"
                else:
                    continue
                extra.remove(e)
                assert m_spec.quantity is not None
                name = describe_in(e_quantity, c.quantity)
                instead = describe_in(m_spec.quantity, c.quantity)
                said.append(f"{name} ({e_at}), not {instead} ({m}) {how}")
                break
    except LookupError:
        return None
    return f"It uses {', and '.join(said)}." if said else ""


def _by_quantity(
    c: CellResult, ev: Evaluator, sheet: str, layout: Layout, specs: Mapping[str, CellSpec]
) -> str:
    """:func:`read_instead` from the layout's requirements: what each quantity reads."""
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
