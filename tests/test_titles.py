"""A network sheet's title names what is not the default (the loss, with the output it takes,
and the optimizer); recognition reads only the title's head, so sheets built before the title
named them, and sheets a learner retitled, are still recognised from their formulas."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from sheetgen import build, verify_workbook
from sheetgen.layouts.families import resolve_layout

CASES = [
    ("network:layers=2-2-1", "Network 2-2-1 (tanh)", ""),
    (
        "network:layers=2-2-2,loss=cross-entropy",
        "Network 2-2-2 (tanh)",
        ": softmax output, cross-entropy loss",
    ),
    ("network:layers=2-2-1,loss=squared", "Network 2-2-1 (tanh)", ": squared loss"),
    ("training:layers=2-2-1,steps=2,optimizer=adam", "Training network 2-2-1 (tanh)", ": Adam"),
    (
        "training:layers=2-2-1,examples=4,steps=2,loss=cross-entropy,optimizer=rmsprop",
        "Training network 2-2-1 (tanh) on 4 examples, batches of 4",
        ": sigmoid output, cross-entropy loss, RMSProp",
    ),
    (
        "training:layers=2-2-1,examples=4,steps=2,activation=relu,optimizer=momentum",
        "Training network 2-2-1 (relu) on 4 examples, batches of 4",
        ": momentum",
    ),
]


@pytest.mark.parametrize(("spec", "head", "rest"), CASES)
def test_the_title_names_the_loss_and_optimizer_and_only_its_head_is_read(
    tmp_path: Path, spec: str, head: str, rest: str
) -> None:
    path = build(tmp_path / "t.xlsx", spec)
    lay = resolve_layout(spec)
    wb = openpyxl.load_workbook(path)
    ws = wb[lay.sheet]
    assert ws["A1"].value == head + rest
    for name in [n for n, d in wb.defined_names.items() if "!" not in str(d.attr_text)]:
        del wb.defined_names[name]
    bare = tmp_path / "bare.xlsx"
    expected = verify_workbook(path, variants=0)
    # As sheetgen titled it, as it titled it before naming the loss and optimizer, and
    # retitled to claim what the formulas do not do: recognised from the formulas each time.
    for title in (head + rest, head, head + ": squared loss, Adam"):
        ws["A1"] = title
        wb.save(bare)
        report = verify_workbook(bare, variants=0)
        assert report.ok, title
        assert report.spec == expected.spec and len(report.cells) == len(expected.cells)
