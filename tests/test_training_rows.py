"""Training steps are written resolved (``_step_rows`` of ``training``, a neuron's, and of
``network_training``, ``_blocks`` of ``batch_training``; ``grid.StepRow``): each step's
formulas made from step 1's or step 2's templates, worked out once, with the row numbers
filled in, not written as templates and resolved one by one. These tests hold every cell so
made to the cell the template makes (``tests/templated_training_rows.py``, the way kept only
here), field by field, with what its formula reads, for every optimizer, activation and
loss."""

from __future__ import annotations

import pytest

import sheetgen.layouts.batch_training as batch_training
import sheetgen.layouts.network_training as network_training
import sheetgen.layouts.training as training
from sheetgen.layouts.grid import Grid, StepRow
from sheetgen.layouts.layout import Layout

from .generated import assert_same_layout, generated_afresh
from .templated_training_rows import (
    templated_blocks,
    templated_network_step_rows,
    templated_step_rows,
)

SPECS = [
    "training:steps=1",
    "training:steps=2",
    "training:steps=5",
    "training:steps=4,activation=sigmoid",
    "training:steps=3,activation=relu,loss=squared",
    "training:steps=3,activation=linear",
    "training:steps=3,loss=cross-entropy",
    "training:steps=3,activation=sigmoid,loss=cross-entropy,optimizer=rmsprop",
    "training:steps=1,optimizer=momentum",
    "training:steps=4,optimizer=momentum,beta=0.8",
    "training:steps=4,optimizer=rmsprop,activation=sigmoid",
    "training:steps=1,optimizer=adam",
    "training:steps=12,optimizer=adam,loss=cross-entropy",
    "training:steps=3,optimizer=adam,activation=linear,loss=squared,learning_rate=0.05",
    "training:layers=1-1,steps=1",
    "training:layers=2-2-1,steps=4",
    "training:layers=2-3-1,steps=3,activation=sigmoid,loss=squared",
    "training:layers=3-2-2,steps=3,activation=relu,optimizer=momentum",
    "training:layers=2-2-1,steps=3,activation=linear,optimizer=rmsprop",
    "training:layers=2-3-1,steps=5,loss=cross-entropy,optimizer=adam",  # a sigmoid output
    "training:layers=2-4-3,steps=3,loss=cross-entropy,activation=relu",  # a softmax
    "training:layers=2-3-2-3,steps=12,loss=cross-entropy,optimizer=adam",
    "training:layers=2-2-1,steps=1,examples=1",
    "training:layers=2-2-1,steps=3,examples=4",
    "training:layers=2-2-1,steps=7,examples=7,batch=3",  # batches cycle through the data
    "training:layers=2-3-1,steps=5,examples=6,batch=1,optimizer=momentum",
    "training:layers=1-2-1,steps=4,examples=9,batch=6,activation=relu,optimizer=adam",
    "training:layers=2-3-2,steps=4,examples=5,batch=2,loss=cross-entropy,optimizer=rmsprop",
    "training:layers=2-4-3,steps=3,examples=8,batch=5,loss=cross-entropy",  # a softmax
]


def _templated(spec: str, monkeypatch: pytest.MonkeyPatch) -> Layout:
    with monkeypatch.context() as patched:
        patched.setattr(training, "_step_rows", templated_step_rows)
        patched.setattr(network_training, "_step_rows", templated_network_step_rows)
        patched.setattr(batch_training, "_blocks", templated_blocks)
        return generated_afresh(spec)


@pytest.mark.parametrize("spec", SPECS)
def test_steps_written_resolved_are_those_their_templates_make(
    spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = assert_same_layout(generated_afresh(spec), _templated(spec, monkeypatch))
    # Step 1's copies of the neuron's start weight and bias (a network's are not parameters
    # by name: see sheetgen.maths.neuron.kind_of).
    assert kept == (0 if "layers" in spec else 2)


@pytest.mark.parametrize(
    ("spec", "explained"),
    [
        ("training:steps=4,optimizer=adam", {"step1", "step2"}),
        ("training:layers=2-2-1,steps=4", {"step1", "step2"}),
        ("training:layers=2-2-1,steps=4,examples=3", {"step1"}),  # one block
    ],
)
def test_notes_only_on_the_first_rows(spec: str, explained: set[str]) -> None:
    made = generated_afresh(spec)
    noted = {c.quantity.split(".")[0] for c in made.cells if c.note and c.quantity}
    assert {q for q in noted if q.startswith("step")} == explained


def test_a_template_whose_text_reads_as_an_address_is_refused() -> None:
    """A formula given resolved must say its template; text such as ``B2`` would be read as
    one more address, so the row is refused, not written wrong."""
    g = Grid()
    g.input(2, 2, "input")
    with pytest.raises(ValueError, match="reads as an address"):
        StepRow(g, [("step1.", {"net": 3})], [("net", "={input}*B2", None)])
    columns = {"net": 3, "output": 4}
    rows = [("step2.", columns), ("step1.", columns)]
    row = StepRow(g, rows, [("output", "=TANH({step2.net})+{step1.net}-{input}", "n")])
    row.write("step2.", (7, 6), notes=False)
    made = g.layout(
        name="t", title="", sheet="S", description="", defaults={}, settings={}, spec="t"
    )
    (cell,) = (c for c in made.cells if c.quantity == "step2.output")
    assert (cell.at, cell.formula, cell.source, cell.note) == ("D7", "=TANH(C7)+C6-B2", None, None)


def test_a_copy_of_a_parameter_of_the_rows_read_is_refused() -> None:
    """A copy of a parameter keeps its template, which names one quantity: a row written
    from it cannot copy a quantity that is another in each row."""
    with pytest.raises(ValueError, match="copies a parameter of the rows it reads"):
        StepRow(Grid(), [("", {"weight": 2, "copy": 3})], [("copy", "={weight}", None)])
