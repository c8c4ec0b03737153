"""The built sheet written straight into its XML (``sheetgen.writer.direct``) is the file the
openpyxl path writes (``build_workbook`` then ``save_with_cached_values``), part for part and
byte for byte, in every family; what that writer cannot write as openpyxl does goes the
openpyxl way."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.exceptions import IllegalCharacterError

import sheetgen.writer.build as building
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import CellSpec, Layout
from sheetgen.writer.build import build_workbook, parameters, save_layout
from sheetgen.writer.cached_values import save_with_cached_values
from sheetgen.writer.direct import save_direct, writable

FAMILIES = [
    "single_neuron",
    "neuron:activation=tanh,loss=squared,difference=forward,inputs=3,distance=yes",
    "neuron:activation=sigmoid,loss=cross-entropy,difference=central,inputs=2,distance=yes",
    "neuron:activation=relu",
    "network:layers=2-3-1,activation=tanh,loss=half-squared",
    "network:layers=3-4-3,loss=cross-entropy",
    "network:layers=3-4-2,faux=6",
    "network:layers=3-4-4-2,activation=sigmoid",
    "training:steps=20,learning_rate=0.1,activation=tanh,loss=half-squared",
    "training:steps=5,optimizer=momentum",
    "training:steps=5,optimizer=rmsprop",
    "training:steps=20,optimizer=adam,beta2=0.99",
    "training:layers=2-2-1,steps=5,learning_rate=0.1,activation=tanh,loss=half-squared",
    "training:layers=2-2-1,examples=4,batch=3,steps=4,activation=tanh,loss=half-squared",
    "training:layers=2-2-1,examples=4,batch=2,steps=3,loss=cross-entropy",
    "training:layers=2-2-1,examples=3,batch=2,steps=2,loss=squared,activation=sigmoid",
    "training:layers=2-2-1,examples=4,steps=4,optimizer=adam",
    "training:layers=2-2-2,examples=4,steps=3,loss=cross-entropy,optimizer=adam",
]


def parts(path: Path) -> dict[str, bytes]:
    """The package's parts, the times it was written at left out."""
    with zipfile.ZipFile(path) as package:
        out = {info.filename: package.read(info.filename) for info in package.infolist()}
    times = rb"<dcterms:(created|modified)[^<]*</dcterms:\1>"
    out["docProps/core.xml"] = re.sub(times, b"", out["docProps/core.xml"])
    return out


def both_ways(
    lay: Layout, params: dict[str, float], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, bytes], dict[str, bytes], bool]:
    """The parts of ``lay`` saved through openpyxl and by ``save_layout``, and whether
    ``save_layout`` wrote the cells itself."""
    direct: list[bool] = []

    def spy(*args: Any) -> None:
        direct.append(True)
        save_direct(*args)

    monkeypatch.setattr(building, "save_direct", spy)
    save_with_cached_values(build_workbook(lay, params), tmp_path / "old.xlsx", lay, params)
    save_layout(lay, params, tmp_path / "new.xlsx")
    return parts(tmp_path / "old.xlsx"), parts(tmp_path / "new.xlsx"), bool(direct)


@pytest.mark.parametrize("row", [1, 3, 9])  # a row with cells, the empty one, past the last
def test_a_row_given_a_height_is_written_as_openpyxl_writes_it(
    row: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lay = resolve_layout("training:steps=3")
    chart = dataclasses.replace(lay.charts[0], anchor=f"B{row}")
    lay = dataclasses.replace(lay, charts=(chart,))
    old, new, direct = both_ways(lay, parameters(lay), tmp_path, monkeypatch)
    assert direct
    assert f'<row r="{row}" ht="267" customHeight="1"'.encode() in new["xl/worksheets/sheet1.xml"]
    assert old == new


@pytest.mark.parametrize("spec", FAMILIES)
def test_every_family_is_written_as_openpyxl_writes_it(
    spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lay = resolve_layout(spec)
    old, new, direct = both_ways(lay, parameters(lay), tmp_path, monkeypatch)
    assert direct, "a shipped layout is written directly"
    assert old.keys() == new.keys()
    for name in old:
        assert old[name] == new[name], name


def _with(lay: Layout, changes: dict[str, dict[str, Any]]) -> Layout:
    cells = tuple(
        dataclasses.replace(c, **changes[c.at]) if c.at in changes else c for c in lay.cells
    )
    return dataclasses.replace(lay, cells=cells)


def test_text_and_formulas_needing_escapes_are_written_as_openpyxl_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lay = resolve_layout("single_neuron")
    net = lay.by_quantity["net"]
    labels = [c.at for c in lay.cells if c.kind == "text"]
    tricky = _with(
        lay,
        {
            net.at: {"formula": f"=IF(B2<>C2,{(net.formula or '')[1:]},\"a&b<c>'d'\")"},
            labels[0]: {"text": ' leading & <trailing> "quoted" '},
            labels[1]: {"text": ""},
            labels[2]: {"text": "   "},
            labels[3]: {"text": "\u00e9 \u2713 \U0001d464 tab\t line\r\n"},
        },
    )
    old, new, direct = both_ways(tricky, parameters(tricky), tmp_path, monkeypatch)
    assert direct
    assert old == new
    ws = openpyxl.load_workbook(tmp_path / "new.xlsx")[lay.sheet]
    assert ws[labels[0]].value == ' leading & <trailing> "quoted" '
    assert ws[net.at].value == f"=IF(B2<>C2,{(net.formula or '')[1:]},\"a&b<c>'d'\")"


@pytest.mark.parametrize("text", ["#N/A", "=not a label", "x" * 32_768, None])
def test_what_openpyxl_stores_otherwise_goes_through_openpyxl(
    text: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lay = resolve_layout("single_neuron")
    label = next(c for c in lay.cells if c.kind == "text")
    odd = _with(lay, {label.at: {"text": text}})
    old, new, direct = both_ways(odd, parameters(odd), tmp_path, monkeypatch)
    assert not direct
    assert old == new


def test_a_character_no_sheet_can_hold_is_refused_as_openpyxl_refuses_it(
    tmp_path: Path,
) -> None:
    lay = resolve_layout("single_neuron")
    label = next(c for c in lay.cells if c.kind == "text")
    odd = _with(lay, {label.at: {"text": "bell\x07"}})
    with pytest.raises(IllegalCharacterError):
        save_layout(odd, parameters(odd), tmp_path / "odd.xlsx")


def test_a_formula_the_reference_cannot_vouch_for_goes_through_openpyxl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lay = resolve_layout("single_neuron")
    extra = CellSpec(at="M1", kind="formula", formula="=B2+1", source="=B2+1")
    odd = dataclasses.replace(lay, cells=(*lay.cells, extra))
    old, new, direct = both_ways(odd, parameters(odd), tmp_path, monkeypatch)
    assert not direct, "the engine computes M1, from an openpyxl workbook"
    assert old == new


@pytest.mark.parametrize(
    ("refs", "contents", "expected"),
    [
        (["A1", "B2", "XFD1048576"], [1.0, 2, "=A1+1"], True),
        ([], [], True),
        (["A1"], [True], False),  # openpyxl stores a bool as a boolean
        (["A1"], [None], False),  # an empty cell: written or left out by its style
        (["A1"], [b"bytes"], False),
        (["A1"], ["#DIV/0!"], False),  # stored as an error
        (["A1", "A2"], ["a tab\t, a line\n, a return\r", "é"], True),
        (["A1"], ["a bell\x07"], False),
        (["A1"], ["x" * 32_768], False),  # openpyxl would cut it
        (["$A$1"], [1.0], False),
        (["a1"], [1.0], False),
        (["XFE1"], [1.0], False),  # past the last column
        (["A0"], [1.0], False),
        (["A1", "A1"], [1.0, 2.0], False),  # one cell twice
    ],
)
def test_what_the_direct_writer_takes(
    refs: list[str], contents: list[object], expected: bool
) -> None:
    assert writable(refs, contents) is expected


@pytest.mark.parametrize("row", [1, 9])  # a tall row among the cells, one past the last
def test_a_sheet_written_in_the_smallest_pieces_is_the_same_file(
    row: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each row its own piece of the streamed ``<sheetData>``: no piece lost or repeated."""
    import sheetgen.writer.direct as direct

    monkeypatch.setattr(direct, "PIECE", 1)
    lay = resolve_layout("training:steps=6")
    chart = dataclasses.replace(lay.charts[0], anchor=f"B{row}")
    lay = dataclasses.replace(lay, charts=(chart,))
    old, new, written = both_ways(lay, parameters(lay), tmp_path, monkeypatch)
    assert written
    assert old == new


def _entries(path: Path) -> list[tuple[object, ...]]:
    """Each zip entry's header fields (but its time) and its stored bytes as they lie in the
    file, local header and all."""
    raw = path.read_bytes()
    out = []
    with zipfile.ZipFile(path) as package:
        for info in package.infolist():
            at = info.header_offset
            names = int.from_bytes(raw[at + 26 : at + 28], "little")
            extra = int.from_bytes(raw[at + 28 : at + 30], "little")
            local = raw[at + 14 : at + 30 + names + extra]  # from the CRC on
            data = raw[at + 30 + names + extra : at + 30 + names + extra + info.compress_size]
            fields = ("filename", "compress_type", "external_attr", "flag_bits", "file_size")
            out.append((*(getattr(info, f) for f in fields), local, data))
    return out


def test_a_part_written_in_pieces_is_stored_as_one_written_whole(tmp_path: Path) -> None:
    import random
    import time

    from sheetgen.writer.package import Pieces, write_parts

    rng = random.Random(7)
    sheet = "".join(f"<c r='A{i}'><v>{rng.random()!r}</v></c>" for i in range(20_000)).encode()
    cuts = sorted(rng.sample(range(1, len(sheet)), 40))
    pieces = [sheet[a:b] for a, b in zip([0, *cuts], [*cuts, len(sheet)], strict=True)]
    parts = {"[Content_Types].xml": b"<Types/>", "a.xml": sheet, "b.xml": b"<b/>"}
    before = time.localtime(time.time())[:6]
    write_parts(tmp_path / "whole.xlsx", parts)
    write_parts(tmp_path / "pieces.xlsx", {**parts, "a.xml": Pieces(pieces, len(sheet) + 99)})
    after = time.localtime(time.time())[:6]
    assert _entries(tmp_path / "pieces.xlsx") == _entries(tmp_path / "whole.xlsx")
    with zipfile.ZipFile(tmp_path / "pieces.xlsx") as package:
        assert package.read("a.xml") == sheet
        # zipfile keeps times to 2 seconds
        assert before[:5] <= package.getinfo("a.xml").date_time[:5] <= after[:5]


def test_a_part_that_may_pass_two_gigabytes_gets_a_zip64_header(tmp_path: Path) -> None:
    from sheetgen.writer.package import Pieces, write_parts

    most = 2**31
    write_parts(tmp_path / "big.xlsx", {"a.xml": Pieces([b"<a/>"] * 3, most)})
    (entry,) = _entries(tmp_path / "big.xlsx")
    local = entry[-2]
    assert isinstance(local, bytes)
    assert local[16 + len("a.xml") :][:2] == b"\x01\x00", "a zip64 extra field (id 1)"
    with zipfile.ZipFile(tmp_path / "big.xlsx") as package:
        assert package.read("a.xml") == b"<a/>" * 3


@pytest.mark.parametrize("where", [0, 4095, 4096, 9999])  # the texts are searched in batches
def test_a_character_no_sheet_can_hold_is_found_in_any_of_many_texts(where: int) -> None:
    refs = [f"A{i + 1}" for i in range(10_000)]
    contents: list[object] = [f"=B{i + 1}*2" for i in range(10_000)]
    assert writable(refs, contents)
    contents[where] = "a bell\x07"
    assert not writable(refs, contents)


@pytest.mark.parametrize("where", [0, 4095, 4096, 9999])
def test_an_address_not_written_as_layouts_write_them_is_found_among_many(where: int) -> None:
    refs = [f"A{i + 1}" for i in range(10_000)]
    contents: list[object] = [float(i) for i in range(10_000)]
    assert writable(refs, contents)
    for odd in ("$A$1", "", "a1"):
        assert not writable([*refs[:where], odd, *refs[where + 1 :]], contents)
