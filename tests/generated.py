"""A generated layout made afresh, for tests that watch it being made (its memory, what its
generator describes): the families keep a made layout (``layout.family``), so their own entry
points would hand back the first one."""

from __future__ import annotations

from sheetgen.layouts.batch_training import batch_training_layout
from sheetgen.layouts.layout import Layout
from sheetgen.layouts.network import network_layout
from sheetgen.layouts.network_training import network_training_layout
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
