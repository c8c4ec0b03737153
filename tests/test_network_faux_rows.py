"""A network's faux rows are written resolved (``network._FauxRows``, ``Grid.said``): each
formula made from the addresses of the forward pass and of the row's own cells, not written as a
template and resolved one by one. These tests hold every cell so made to the cell the template
makes (``tests/templated_faux_rows.py``, the way kept only here), field by field, with what
its formula reads, for networks of many shapes, functions and choices of faux rows; and
every generated layout's fields to a digest of them as they were made before."""

from __future__ import annotations

import hashlib

import pytest

import sheetgen.layouts.network as network
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import Layout
from sheetgen.layouts.reads import formula_reads

from .generated import assert_same_layout, generated_afresh, spec_fields
from .templated_faux_rows import TemplatedFauxRows, templated_neuron

NETWORKS = [
    "network:layers=1-1",
    "network:layers=2-3-1",
    "network:layers=2-1,faux=none",
    "network:layers=3-2-2,activation=sigmoid",
    "network:layers=3-4-2-2,activation=relu,faux=5",
    "network:layers=3-4-2-2,faux=w1_1_1+b3_2+w2_2_4+b1_4",
    "network:layers=2-2-2-2-1,activation=linear,loss=squared",
    "network:layers=4-5-3-2,activation=sigmoid,faux=40",
    "network:layers=2-3-1,loss=cross-entropy",  # a sigmoid output
    "network:layers=2-4-3,loss=cross-entropy,activation=relu",  # a softmax
    "network:layers=3-2-3-4,loss=cross-entropy,faux=b3_2+w3_4_1+w1_2_3",
    "network:layers=2-3,loss=cross-entropy,activation=tanh",  # a softmax nudged at its own nets
    "network:layers=12-11-2,activation=tanh,loss=squared",
]


def _templated(spec: str, monkeypatch: pytest.MonkeyPatch) -> Layout:
    with monkeypatch.context() as patched:
        patched.setattr(network, "_FauxRows", TemplatedFauxRows)
        patched.setattr(network, "_neuron", templated_neuron)
        return generated_afresh(spec)


@pytest.mark.parametrize("spec", NETWORKS)
def test_faux_rows_written_resolved_are_those_their_templates_make(
    spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made, templated = generated_afresh(spec), _templated(spec, monkeypatch)
    assert any(c.quantity.startswith("nudge.") for c in made.cells if c.quantity) == (
        "faux=none" not in spec
    )
    assert_same_layout(made, templated)


def _digest(layout: Layout) -> str:
    """A layout's every field, its cells' each, and what each formula reads, as one digest."""
    h = hashlib.sha256()
    for cell in layout.cells:
        h.update(repr(spec_fields(cell)).encode())
    for key in ("name", "title", "sheet", "description", "names", "defaults", "settings"):
        h.update(repr(getattr(layout, key)).encode())
    h.update(repr((layout.freeze, layout.spec, layout.charts)).encode())
    h.update(repr(list(formula_reads(layout).items())).encode())
    return h.hexdigest()[:16]


# Made by sheetgen before the faux rows were written resolved (main at 18ef0af): a change in
# what any of these layouts holds changes its digest.
DIGESTS = {
    "network:layers=3-4-2-2,faux=5": "b798d60585be786c",
    "network:layers=2-4-3,loss=cross-entropy,activation=relu": "a1a2c7f0a4e809e9",
    "network:layers=12-11-2,activation=sigmoid,loss=squared,faux=all": "ad31c3dab93a66c7",
    "training:steps=3": "83146a0de3f074f5",
    "training:layers=2-2-1,steps=2,optimizer=adam": "31bed4373cc10a4f",
    "training:layers=2-3-2,steps=3,loss=cross-entropy": "cb9193b39867b2f9",
    "training:layers=2-2-1,steps=2,examples=3": "1c28041dd6d3d239",
    "single_neuron": "1d5b35f936405a3f",
}


@pytest.mark.parametrize("spec", DIGESTS)
def test_generated_layouts_hold_what_they_held(spec: str) -> None:
    layout = generated_afresh(spec) if ":" in spec else resolve_layout(spec)
    assert _digest(layout) == DIGESTS[spec]
