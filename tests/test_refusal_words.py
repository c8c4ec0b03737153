"""A refusal names where in the file as its owner knows it: a worksheet by the title its
workbook gives it, another part by what it is for ("the workbook's shared text"), never the
zip's part names (``xl/worksheets/sheet1.xml``) a learner never sees, but where the name is
what is wrong (a part held twice, or a name no workbook has), beside the part in words.
Through ``sheetgen verify``: exit 2 and the one sentence on stderr, the limit to raise kept
in it."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import replace
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


def _encrypted_sheet(directory: Path) -> Path:
    entries = [
        replace(e, flags=1) if e.name == hostile.SHEET else e
        for e in hostile.entries_of(hostile._base(directory))
    ]
    return hostile.write_raw_zip(directory / "zipcrypto.xlsx", entries)


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
        pytest.param(
            hostile.sheet_zip_bomb,
            "{} has the sheet 'Data' inflating to 1,099,956,991 bytes, more than the limit of "
            "104,857,600 and compressed 1,010 to 1, beyond the limit of 100 to 1, and inflates "
            "to more than 314,572,800 bytes in total (a possible zip bomb) (the limits "
            "max_entry_bytes, max_total_bytes and max_ratio; a file you trust passes with "
            "--limit max_entry_bytes=1099956991 --limit max_total_bytes=1099973062 --limit "
            "max_ratio=1010).",
            id="part size",
        ),
        pytest.param(
            lambda d: hostile.sheet_zip_bomb(d, inflated=50 * 1024 * 1024),
            "{} has the sheet 'Data' compressed 1,002 to 1, beyond the limit of 100 to 1 (a "
            "possible zip bomb) (the limit max_ratio; a file you trust passes with --limit "
            "max_ratio=1002).",
            id="ratio",
        ),
        pytest.param(
            lambda d: hostile.huge_shared_string(d, chars=200_000_000),
            "{} has the workbook's shared text (the text its cells hold) inflating to "
            "199,229,559 bytes, more than the limit of 104,857,600 and compressed 1,010 to 1, "
            "beyond the limit of 100 to 1 (a possible zip bomb) (the limits max_entry_bytes "
            "and max_ratio; a file you trust passes with --limit max_entry_bytes=199229559 "
            "--limit max_ratio=1010).",
            id="shared text",
        ),
        pytest.param(
            hostile.lzma_part,
            "{} stores the sheet 'Data' with LZMA compression, which Excel never uses (only "
            "stored and deflate are accepted).",
            id="method",
        ),
        pytest.param(
            _encrypted_sheet,
            "{} has the sheet 'Data' encrypted; save it as an unprotected .xlsx workbook and "
            "try again.",
            id="encrypted",
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


# The zip directory's refusals (sheetgen.workbook.safety.container): a part past the size or
# compression limits, stored with a method or encryption Excel never uses, named twice or
# badly. The workbook part is read for the sheets' titles even when a sheet part is refused.


def _told(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    """The one sentence ``sheetgen verify`` refuses ``path`` with, which may name a part as
    it is named in the file: what is wrong is its name."""
    code = main(["verify", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (code, out, err)
    return err.strip().removeprefix("sheetgen: ")


@pytest.mark.parametrize("second", [hostile.SHEET, hostile.SHEET.upper()])
def test_a_sheet_held_twice_is_named_with_both_its_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], second: str
) -> None:
    path = hostile.duplicate_entry(tmp_path, second)
    names = "'xl/worksheets/sheet1.xml'"
    if second != hostile.SHEET:
        names += " and 'XL/WORKSHEETS/SHEET1.XML'"
    assert _told(capsys, path) == (
        f"{path} holds the sheet 'Data' twice ({names}: the parts of a file must have "
        "different names, ignoring case)."
    )


def test_two_other_parts_of_one_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = hostile.entries_of(hostile._base(tmp_path))
    entries += [hostile.deflated("xl/extra.xml", b"<x/>"), hostile.deflated("XL/Extra.xml", b"")]
    path = hostile.write_raw_zip(tmp_path / "twice.xlsx", entries)
    assert _told(capsys, path) == (
        f"{path} holds two parts of one name ('xl/extra.xml' and 'XL/Extra.xml': the parts "
        "of a file must have different names, ignoring case)."
    )


def test_a_sheet_saved_with_backslashes_is_named_by_its_title(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A zip tool on Windows may write ``\\`` for ``/``: the sheet its workbook names is the
    one refused, its name beside it."""
    base = hostile._base(tmp_path)
    sheet = hostile.read_parts(base)[hostile.SHEET]
    path = hostile.rebuild(
        base,
        tmp_path / "backslash.xlsx",
        drop=[hostile.SHEET],
        add={hostile.SHEET.replace("/", "\\"): sheet},
    )
    assert _told(capsys, path) == (
        f"{path} holds the sheet 'Data' under a name with a backslash "
        "('xl\\\\worksheets\\\\sheet1.xml'), which no workbook has."
    )


def test_a_part_of_a_bad_name_no_workbook_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hostile.bad_name(tmp_path, "../evil.xml")
    assert _told(capsys, path) == (
        f"{path} holds a part under a name with a '..' or '.' path component ('../evil.xml'), "
        "which no workbook has."
    )


def test_a_part_past_a_limit_is_said_by_what_it_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Parts no sentence named in words before (the theme, charts, pictures, the notes'
    shapes) are said by what they hold, their names kept beside it for a teacher."""
    path = build(tmp_path / "hw.xlsx")
    code = main(["verify", str(path), "--limit", "max_entry_bytes=5000"])
    said = capsys.readouterr().err.strip().removeprefix("sheetgen: ")
    assert code == 2
    assert said.startswith(
        f"{path} has the workbook's theme, its colours and fonts (xl/theme/theme1.xml) "
        "inflating to "
    ), said


@pytest.mark.parametrize(
    ("part", "words"),
    [
        ("xl/charts/chart1.xml", "a chart or picture on a sheet (xl/charts/chart1.xml)"),
        ("xl/drawings/drawing1.xml", "a chart or picture on a sheet (xl/drawings/drawing1.xml)"),
        ("xl/media/image1.png", "a chart or picture on a sheet (xl/media/image1.png)"),
        (
            "xl/drawings/vmlDrawing1.vml",
            "the shapes of the notes on its cells (xl/drawings/vmlDrawing1.vml)",
        ),
        (
            "xl/theme/theme1.xml",
            "the workbook's theme, its colours and fonts (xl/theme/theme1.xml)",
        ),
    ],
)
def test_what_a_part_holds(part: str, words: str) -> None:
    from sheetgen.workbook.safety.messages import place

    assert place(part, {}) == words
