"""A worksheet's rows read by regular expression (``sheetgen.workbook.rows``, through
``sheetgen.workbook.safety.sheetpass``) read exactly what the expat pass reads, or give way.

Every file is read twice by ``read_checked``: as it is, and with the fast path out of the way
(every worksheet through expat alone, as before it existed). The two must give the same book
(cells in the same order), the same facts, or the same refusal word for word: on every
workbook the suite stores, on a built workbook of each family, on each form the fast path
reads and each it must leave to expat, on hostile files, under lowered limits, and on a few
hundred seeded corruptions of a worksheet.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest

from sheetgen import build, build_exercise
from sheetgen.errors import SheetgenError
from sheetgen.workbook.book import Cell
from sheetgen.workbook.rows import read_rows
from sheetgen.workbook.safety import DEFAULT_LIMITS, Limits, read_checked, sheetpass
from sheetgen.workbook.safety import entries as safety_entries

from . import hostile
from .stored import SHEET, stored

TESTS = Path(__file__).parent
STORED_FILES = sorted(p for p in TESTS.rglob("*") if p.suffix in (".xlsx", ".xlsm"))
FAMILIES: dict[str, str] = json.loads((TESTS / "golden" / "families.json").read_text())

Outcome = tuple[object, ...]


class _NoSheet:
    """Stands in for ``SheetCapture`` in the isinstance test that chooses the fast pass."""


def _outcome(path: Path, limits: Limits) -> Outcome:
    try:
        checked = read_checked(path, limits)
    except SheetgenError as exc:
        return ("refused", type(exc).__name__, str(exc))
    sheets = tuple(
        (s.title, list(s.cells.items()), dict(s.names), dict(s.notes)) for s in checked.book.sheets
    )
    return ("read", sheets, dict(checked.book.names), checked.facts)


def both(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[Outcome, Outcome, int]:
    """The outcome with the fast path, without it, and how many runs of rows it took."""
    taken = 0

    def counted(text: str, numbers: dict[str, Cell] | None = None) -> object:
        nonlocal taken
        rows = read_rows(text, numbers)
        taken += rows is not None
        return rows

    with mock.patch.object(sheetpass, "read_rows", counted):
        fast = _outcome(path, limits)
    with mock.patch.object(safety_entries, "SheetCapture", _NoSheet):
        slow = _outcome(path, limits)
    return fast, slow, taken


def same(path: Path, limits: Limits = DEFAULT_LIMITS) -> int:
    fast, slow, taken = both(path, limits)
    assert fast == slow
    return taken


@pytest.mark.parametrize("path", STORED_FILES, ids=lambda p: p.name)
def test_every_stored_workbook_reads_the_same_both_ways(path: Path) -> None:
    assert same(path) > 0  # LibreOffice's and Gnumeric's rows are the fast path's own


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("families")
    out = {name: build(folder / f"{name}.xlsx", spec) for name, spec in FAMILIES.items()}
    out["exercise"] = build_exercise(folder / "exercise.xlsx", seed=3)
    # Larger than one inflated chunk (256 KB): runs of rows end and resume across chunks.
    out["long"] = build(folder / "long.xlsx", "training:layers=2-2-1,examples=4,steps=80")
    return out


@pytest.mark.parametrize("name", [*FAMILIES, "exercise", "long"])
def test_built_workbooks_read_the_same_both_ways(built: dict[str, Path], name: str) -> None:
    assert same(built[name]) > 0


def test_workbooks_saved_by_exceljs_read_the_same_both_ways(
    built: dict[str, Path], tmp_path: Path
) -> None:
    """ExcelJS writes shared strings, spans and x14ac row attributes (Excel's own forms)."""
    node = shutil.which("node")
    exceljs = TESTS / "js" / "node_modules" / "exceljs"
    if node is None or not exceljs.is_dir():
        pytest.skip("ExcelJS (npm ci --prefix tests/js) is not installed")
    for name in ("single_neuron", "long"):
        saved = tmp_path / f"{name}.exceljs.xlsx"
        subprocess.run(
            [node, str(TESTS / "js" / "save_workbook.js"), str(built[name]), str(saved)],
            capture_output=True,
            timeout=300,
            check=True,
        )
        assert same(saved) > 0


def test_a_long_sheet_is_read_in_several_runs(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["long"]) as zf:
        assert zf.getinfo(SHEET).file_size > 2 * 256 * 1024
    assert same(built["long"]) >= 3


# --------------------------------------------------------------------------------------------
# Forms the fast path reads, and forms it leaves to expat

READ_HERE = {
    "number": '<c r="B2" s="3" t="n"><v>0.5</v></c>',
    "formula and value": '<c r="E2"><f>B2*C2+D2</f><v>0.8</v></c>',
    "escaped formula": '<c r="E2"><f>IF(B2&lt;&gt;0,"a&amp;b&quot;&apos;",1)</f></c>',
    "empty value": '<c r="E2" s="4"><f>B2*C2</f><v /></c>',
    "empty formula": '<c r="E2"><f/><v>1</v></c>',
    "libreoffice's formula": '<c r="E2" s="4" t="n"><f aca="false">B2*C2</f><v>0.2</v></c>',
    "type before style": '<c r="B2" t="str" s="1"><v>text &amp; more</v></c>',
    "boolean": '<c r="B2" t="b"><v>1</v></c>',
    "error": '<c r="B2" t="e"><v>#N/A</v></c>',
    "iso date": '<c r="B2" t="d"><v>2024-01-01</v></c>',
    "inline text": '<c r="B2" t="inlineStr"><is><t xml:space="preserve"> a </t></is></c>',
    "inline text elsewhere": '<c r="B2" t="n"><v>1</v><is><t>a</t></is></c>',
    "pretty": '<c r="B2" s="2">\n  <f>C2</f>\n  <v>1</v>\n</c>',
    "unicode": '<c r="B2" t="str"><v>\u00e9\u4e2d\U0001f600</v></c>',
    "empty cell": '<c r="B2" s="1"/>',
}

LEFT_TO_EXPAT = {
    "prefix": '<x:c r="B2"><x:v>1</x:v></x:c>',
    "no address": "<c><v>1</v></c>",
    "lower-case address": '<c r="b2"><v>1</v></c>',
    "anchored address": '<c r="$B$2"><v>1</v></c>',
    "quoted with apostrophes": "<c r='B2'><v>1</v></c>",
    "rich text": '<c r="B2" t="inlineStr"><is><r><t>a</t></r><r><t>b</t></r></is></c>',
    "phonetic run": '<c r="B2" t="inlineStr"><is><t>a</t><rPh><t>x</t></rPh></is></c>',
    "array": '<c r="B2"><f t="array" ref="B2:B3">C2:C3</f><v>1</v></c>',
    "spill": '<c r="B2" cm="1"><f t="array" ref="B2:B3">C2:C3*2</f><v>1</v></c>',
    "value metadata": '<c r="B2" vm="1"><v>1</v></c>',
    "cdata": '<c r="B2" t="str"><v><![CDATA[a<b]]></v></c>',
    "comment": '<c r="B2"><v>1</v></c><!-- a note -->',
    "processing instruction": '<c r="B2"><v>1</v></c><?pi x?>',
    "character reference": '<c r="B2" t="str"><v>&#65;&#x42;</v></c>',
    "carriage return": '<c r="B2" t="str"><v>a\r\nb</v></c>',
    "whitespace in the address": '<c r = "B2"><v>1</v></c>',
    "value before formula": '<c r="B2"><v>1</v><f>C2</f></c>',
    "what-if table": '<c r="B2"><f t="dataTable" ref="B2:C3" dt2D="1" r1="A1" r2="A2"/></c>',
    "shared string index that is not": '<c r="B2" t="s"><v>x</v></c>',
    "number that is not": '<c r="B2"><v>x</v></c>',
    "unknown entity": '<c r="B2" t="str"><v>&nbsp;</v></c>',
    "duplicate attribute": '<c r="B2" s="1" s="2"><v>1</v></c>',
    "unclosed": '<c r="B2"><v>1</c>',
    "stray end tag": '<c r="B2"><v>1</v></c></c>',
    "cdata end in text": '<c r="B2" t="str"><v>a]]>b</v></c>',
}


@pytest.mark.parametrize("xml", READ_HERE.values(), ids=READ_HERE.keys())
def test_forms_the_fast_path_reads(built: dict[str, Path], tmp_path: Path, xml: str) -> None:
    path = stored(built["single_neuron"], tmp_path / "x.xlsx", {"B2": "", "E2": "", "C5": xml})
    fast, slow, taken = both(path)
    assert fast == slow
    assert fast[0] == "read" and taken == 1


@pytest.mark.parametrize("xml", LEFT_TO_EXPAT.values(), ids=LEFT_TO_EXPAT.keys())
def test_forms_left_to_expat(built: dict[str, Path], tmp_path: Path, xml: str) -> None:
    path = stored(built["single_neuron"], tmp_path / "x.xlsx", {"B2": "", "E2": "", "C5": xml})
    fast, slow, taken = both(path)
    assert fast == slow
    assert taken == 0


def _sheet_xml(path: Path, change: bytes, to: bytes, out: Path) -> Path:
    with zipfile.ZipFile(path) as zin:
        files = {i.filename: zin.read(i) for i in zin.infolist()}
    assert change in files[SHEET]
    files[SHEET] = files[SHEET].replace(change, to)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in files.items():
            zout.writestr(name, data)
    return out


@pytest.mark.parametrize(
    ("change", "to"),
    [
        (b'<row r="2">', b'<row r="2" spans="1:9" ht="15" x14ac:dyDescent="0.25">'),
        (b'<row r="2">', b'<row r="2" ht="15" ht="16">'),  # not well-formed
        (b'<row r="2">', b'<row r="2" r="3">'),
        (b'<row r="5">', b"<row>"),  # a row without r follows the previous one
        (b"<sheetData>", b'<?xml-stylesheet href="x"?><sheetData>'),
        (b"<sheetData>", b"<!-- rows follow --><sheetData>"),
        (b"<sheetData>", b'<sheetData xmlns:x="urn:x">'),
        (b"</sheetData>", b'<row r="30"/></sheetData>'),
        (b"</sheetData>", b'</sheetData><sheetData><row r="31"><c r="A31"><v>2</v></c></row>'),
        (b"</sheetData>", b"</sheetData><!-- x -->"),
        (b"</sheetData>", b"</sheetData><bad"),
    ],
)
def test_rows_and_the_sheet_around_them(
    built: dict[str, Path], tmp_path: Path, change: bytes, to: bytes
) -> None:
    same(_sheet_xml(built["single_neuron"], change, to, tmp_path / "x.xlsx"))


def test_a_declared_encoding_other_than_utf8_goes_to_expat(
    built: dict[str, Path], tmp_path: Path
) -> None:
    with zipfile.ZipFile(built["single_neuron"]) as zin:
        files = {i.filename: zin.read(i) for i in zin.infolist()}
    text = files[SHEET].decode().replace("Neuron maths:", "Neuron maths \u00e9:")
    files[SHEET] = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + text.encode("latin-1")
    path = tmp_path / "latin1.xlsx"
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in files.items():
            zout.writestr(name, data)
    fast, slow, taken = both(path)
    assert fast == slow and taken == 0
    assert fast[0] == "read"


# --------------------------------------------------------------------------------------------
# Limits and hostile files: the same refusal, word for word


@pytest.mark.parametrize(
    "limit",
    [
        {"max_cells": 200},
        {"max_cells": 10_000},
        {"max_xml_elements": 2_000},
        {"max_xml_elements": 30_000},
        {"max_text_chars": 100},
        {"max_text_chars": 5_000},
        {"max_xml_depth": 5},
        {"max_xml_depth": 7},
        {"max_sheet_area": 500},
    ],
    ids=str,
)
def test_lowered_limits_refuse_alike(built: dict[str, Path], limit: dict[str, int]) -> None:
    limits = replace(DEFAULT_LIMITS, **limit)
    for name in ("single_neuron", "long"):
        same(built[name], limits)


HOSTILE = [
    (hostile.xml_entity_bomb, {}),
    (hostile.xml_external_entity, {}),
    (hostile.doctype_only, {}),
    (hostile.whole_sheet_merge, {}),
    (hostile.far_cell, {}),
    (hostile.beyond_grid, {}),
    (hostile.wide_row, {}),
    (hostile.deep_nesting, {}),
    (hostile.long_incompressible_string, {}),
    (hostile.claimed_dimension, {}),
    (hostile.merges_and_links, {}),
    (lambda d: hostile.many_cells(d, 20_010), {"max_cells": 20_000}),
    (lambda d: hostile.shared_formula_flood(d, cells=600), {"max_shared_formula_chars": 200_000}),
    (lambda d: hostile.lying_size_bomb(d, inflated=3_000_000, claimed=300_000), {}),
]


@pytest.mark.parametrize(("make", "limit"), HOSTILE)
def test_hostile_files_are_refused_alike(
    tmp_path: Path, make: Callable[[Path], Path], limit: dict[str, int]
) -> None:
    same(make(tmp_path), replace(DEFAULT_LIMITS, **limit))


def _mutations(data: bytes, count: int, seed: int) -> Iterator[bytes]:
    """``count`` copies of ``data`` with one seeded change each inside ``<sheetData>``."""
    rng = random.Random(seed)
    start, end = data.index(b"<sheetData>"), data.index(b"</sheetData>") + 12
    pieces = [b"<", b">", b"/", b'"', b"&", b"&amp;", b"&#1;", b"\r", b"\x01", b"\xff", b"]]>"]
    pieces += [b"<c>", b"</c>", b"<v>", b"</row>", b'<row r="9">', b" ", b"\n", b"0", b"A"]
    for _ in range(count):
        at = rng.randrange(start, end)
        match rng.randrange(3):
            case 0:
                yield data[:at] + data[at + rng.randrange(1, 6) :]
            case 1:
                yield data[:at] + rng.choice(pieces) + data[at:]
            case _:
                yield data[:at] + rng.choice(pieces) + data[at + 1 :]


def test_corrupted_worksheets_read_or_fail_alike(built: dict[str, Path], tmp_path: Path) -> None:
    with zipfile.ZipFile(built["single_neuron"]) as zin:
        files = {i.filename: zin.read(i) for i in zin.infolist()}
    path = tmp_path / "mutant.xlsx"
    kinds = set()
    for mutant in _mutations(files[SHEET], 200, seed=22):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
            for name, data in files.items():
                zout.writestr(name, mutant if name == SHEET else data)
        fast, slow, _ = both(path)
        assert fast == slow, mutant
        kinds.add(fast[0])
    assert kinds == {"read", "refused"}
