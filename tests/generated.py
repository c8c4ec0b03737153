"""A generated layout made afresh, for tests that watch it being made (its memory, what its
generator describes): the families keep a made layout (``layout.family``), so their own entry
points would hand back the first one."""

from __future__ import annotations

from dataclasses import fields

from sheetgen.layouts.batch_training import batch_training_layout
from sheetgen.layouts.layout import CellSpec, Layout
from sheetgen.layouts.network import network_layout
from sheetgen.layouts.network_training import network_training_layout
from sheetgen.layouts.reads import formula_reads
from sheetgen.layouts.training import _neuron_training_layout


def generated_afresh(spec: str) -> Layout:
    """The layout of a generated ``spec`` (``network:layers=3-2-1``, ``training:steps=3``, with
    ``layers`` a network's training, with ``examples`` a batch's), made again."""
    name, _, raw = spec.partition(":")
    options = dict(option.split("=") for option in raw.split(","))
    if name == "network":
        generate = network_layout
    elif "examples" in options:
        generate = batch_training_layout
    elif "layers" in options:
        generate = network_training_layout
    else:
        generate = _neuron_training_layout
    made: Layout = generate.__wrapped__(options)  # type: ignore[attr-defined]  # not its cache
    return made


def spec_fields(cell: CellSpec) -> tuple[object, ...]:
    """Every field of a layout cell, in order: what two ways of making a layout must agree on."""
    return tuple(getattr(cell, f.name) for f in fields(cell))


def assert_same_layout(made: Layout, templated: Layout) -> int:
    """That ``made`` (a layout written resolved) is ``templated`` (the same made from its
    templates, the old way) field by field: each cell's fields, what its formula says
    (``Layout.source``), what the layout and each formula read, its names, defaults and
    settings. Returns how many of ``made``'s cells keep a template (``source`` not None)."""
    assert made is not templated and len(made.cells) == len(templated.cells)
    quantity_at = templated.quantity_at()
    kept = 0
    for new, old in zip(made.cells, templated.cells, strict=True):
        assert spec_fields(new) == spec_fields(old), old.at
        assert made.source(new, quantity_at) == templated.source(old, quantity_at)
        assert new.repeats_a_parameter == old.repeats_a_parameter
        kept += new.source is not None
    assert made.quantity_at() == quantity_at
    assert made.names == templated.names and made.defaults == templated.defaults
    assert (made.settings, made.spec, made.freeze, made.charts) == (
        templated.settings,
        templated.spec,
        templated.freeze,
        templated.charts,
    )
    assert (made.name, made.title, made.sheet, made.description) == (
        templated.name,
        templated.title,
        templated.sheet,
        templated.description,
    )
    reads, templated_reads = formula_reads(made), formula_reads(templated)
    assert list(reads) == list(templated_reads)
    assert all(reads[q] == templated_reads[q] for q in templated_reads)
    assert made.cells == templated.cells
    return kept
