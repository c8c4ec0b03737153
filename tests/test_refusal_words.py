"""A refusal names where in the file as its owner knows it: a worksheet by the title its
workbook gives it, another part by what it is for ("the workbook's shared text"), never the
zip's part names (``xl/worksheets/sheet1.xml``) a learner never sees. Through ``sheetgen
verify``: exit 2 and the one sentence on stderr, the limit to raise kept in it."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from sheetgen import build
from sheetgen.cli import main

from . import hostile

DTD = b'<!DOCTYPE x [<!ENTITY a "b">]>'


def _said(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(["verify", *argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (code, out, err)
    said = err.strip().removeprefix("sheetgen: ")
    assert "xl/" not in said and ".xml" not in said, said
    return said


def _part_changed(path: Path, part: str, change: Callable[[bytes], bytes]) -> Path:
    """``path`` rewritten with one part's bytes changed."""
    parts = hostile.read_parts(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, change(data) if name == part else data)
    return path


def _declared(data: bytes) -> bytes:
    """An XML part with an entity declared before its root element (after its XML
    declaration, if it has one)."""
    end = data.index(b"?>") + 2 if data.startswith(b"<?xml") else 0
    return data[:end] + DTD + data[end:]


def test_an_entity_in_a_sheet_names_the_sheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _part_changed(build(tmp_path / "hw.xlsx"), "xl/worksheets/sheet1.xml", _declared)
    assert _said(capsys, str(path)) == (
        f"{path} contains an XML entity declaration in the sheet 'Neuron' (a possible XML bomb)."
    )


def test_an_entity_in_the_shared_strings_names_them_by_what_they_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hostile.xml_entity_bomb(tmp_path)
    assert _said(capsys, str(path)) == (
        f"{path} contains an XML entity declaration in the workbook's shared text (the text "
        "its cells hold) (a possible XML bomb)."
    )


def test_a_long_text_in_the_shared_strings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hostile.long_incompressible_string(tmp_path, chars=5000)
    assert _said(capsys, str(path), "--limit", "max_text_chars=1000") == (
        f"{path} has, in the workbook's shared text (the text its cells hold), a piece of "
        "text longer than 1,000 characters (the limit max_text_chars; a file you trust passes "
        "with --limit max_text_chars=5000)."
    )


def test_a_long_text_in_a_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = build(tmp_path / "hw.xlsx")  # sheetgen writes its texts in the sheet itself
    said = _said(capsys, str(path), "--limit", "max_text_chars=20")
    assert said.startswith(
        f"{path} has, in the sheet 'Neuron', a piece of text longer than 20 characters "
        "(the limit max_text_chars; a file you trust passes with --limit max_text_chars="
    ), said


def test_a_sheet_wider_than_the_limit_names_the_sheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The feedback copy is written by openpyxl, which makes every cell of a sheet's
    rectangle: its reading is bounded by the sheet's area."""
    path = build(tmp_path / "hw.xlsx")
    copy = tmp_path / "fb.xlsx"
    code = main(["verify", str(path), "--annotate", str(copy), "--limit", "max_sheet_area=50"])
    said = capsys.readouterr().err.strip().removeprefix("sheetgen: ")
    assert code == 2 and not copy.exists()
    found = re.fullmatch(
        re.escape(f"{path} uses the range A1:")
        + r"[A-Z]+\d+"
        + re.escape(
            " in the sheet 'Neuron', more than the limit of 50 cells per sheet (the limit "
            "max_sheet_area; a file you trust passes with --limit max_sheet_area="
        )
        + r"\d+\)\.",
        said,
    )
    assert found is not None, said


@pytest.mark.parametrize(
    ("make", "sentence"),
    [
        pytest.param(
            hostile.wide_row,
            "{} refers to a cell outside Excel's grid in the sheet 'Data'.",
            id="outside the grid",
        ),
        pytest.param(
            lambda d: hostile.merges_and_links(d, 300),
            "{} has 300 hyperlinks inside 300 merged cells in the sheet 'Data', too many to "
            "read in reasonable time, as each of those hyperlinks is looked for in every merged "
            "cell (the limit max_merge_link_pairs; a file you trust passes with --limit "
            "max_merge_link_pairs=90000).",
            id="merged ranges",
        ),
        pytest.param(
            hostile.deep_nesting,
            "{} nests XML elements in the sheet 'Data' more than 100 levels deep (the limit "
            "max_xml_depth; a file you trust passes with --limit max_xml_depth=5002).",
            id="nesting",
        ),
        pytest.param(
            hostile.doctype_only,
            "{} contains an XML document type declaration in the workbook's list of sheets "
            "and names, which workbooks never have (a possible XML bomb).",
            id="document type",
        ),
    ],
)
def test_hostile_parts_are_named_as_their_owner_knows_them(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], Path],
    sentence: str,
) -> None:
    path = make(tmp_path)
    assert _said(capsys, str(path)) == sentence.format(path)


def test_a_sheet_whose_title_cannot_be_read_is_named_by_its_part_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The titles are read from the workbook part: without one, the sheet is still said to
    be a sheet (its part's name given, for whoever opens the file)."""
    path = build(tmp_path / "hw.xlsx")
    _part_changed(path, "xl/worksheets/sheet1.xml", _declared)
    _part_changed(path, "xl/workbook.xml", lambda d: d.replace(b"<sheets>", b"<sheets><", 1))
    code = main(["verify", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (
        f"sheetgen: {path} contains an XML entity declaration in a sheet, kept in the file as "
        "xl/worksheets/sheet1.xml (a possible XML bomb)."
    )


def test_an_ods_entity_names_the_spreadsheet_not_content_xml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .test_ods import ROOT, number, ods, table

    path = ods(
        tmp_path / "hw.ods",
        table("Neuron", f"<table:table-row>{number(1.0)}</table:table-row>"),
        root='<?xml version="1.0" encoding="UTF-8"?>' + DTD.decode() + ROOT,
    )
    assert _said(capsys, str(path)) == (
        f"{path} contains an XML entity declaration in the spreadsheet's sheets "
        "(a possible XML bomb)."
    )
