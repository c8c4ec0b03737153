"""OpenDocument spreadsheets (.ods) read as the verifier reads .xlsx, and .xlsm beside them.

Formulas are translated from OpenFormula token by token; ``content.xml`` is read in the pass
that vets it, under the same limits; repeated empty rows and columns cost nothing while
repeated content counts before it is expanded. Files made by hand here stand for what other
writers (or attackers) produce; ``test_ods_libreoffice.py`` checks LibreOffice's own files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from sheetgen import build
from sheetgen.check.verify import verify_workbook
from sheetgen.errors import InputFileError, UnsafeFileError
from sheetgen.layouts.layout import Layout
from sheetgen.report.render import to_json
from sheetgen.teacher.grade import collect
from sheetgen.workbook.book import Cell, CellError
from sheetgen.workbook.openformula import EXCEL_NAMES, FormulaError, reference, to_excel
from sheetgen.workbook.safety import Limits, check_file, read_checked

from .test_hostile_verify import one_sentence, verify_bounded

# --------------------------------------------------------------------------- formulas


@pytest.mark.parametrize(
    ("odf", "excel"),
    [
        ("of:=[.B2]*[.C2]+[.D2]", "=B2*C2+D2"),
        ("of:=TANH([.E2])", "=TANH(E2)"),
        ("of:=EXP([.A1])+MAX([.A1:.B3])+SUM([.A1];[.B1])", "=EXP(A1)+MAX(A1:B3)+SUM(A1,B1)"),
        ("of:=IF([.A1]>0;1;POWER([.A1];2))", "=IF(A1>0,1,POWER(A1,2))"),
        ("of:=([.I6]-[.I2])/Tiny", "=(I6-I2)/Tiny"),
        ("of:=[.$B$2]+[.B$2]+[.$B2]", "=$B$2+B$2+$B2"),
        ("of:=[$Sheet1.A1]", "=Sheet1!A1"),
        ("of:=[Sheet1.A1]", "=Sheet1!A1"),
        ("of:=[$'My sheet'.$A$1:.B2]", "='My sheet'!$A$1:B2"),
        ("of:=[$'It''s'.A1]", "='It''s'!A1"),
        ("of:=['Neuron (2)'.B2]", "='Neuron (2)'!B2"),
        ("of:=[$A1.B2]", "='A1'!B2"),  # a sheet named like a cell must be quoted
        ('of:=IF([.A1]>0;"a;[.B2]";"it\'s")', '=IF(A1>0,"a;[.B2]","it\'s")'),
        ('of:="say ""[x;y]"""&[.A1]', '="say ""[x;y]"""&A1'),
        ("of:={1;2|3;4}", "={1,2;3,4}"),
        ("of:=SUM({1;2};[.A1])", "=SUM({1,2},A1)"),
        ("of:=[.#REF!]+1", "=#REF!+1"),
        ("of:=[$#REF!.A1]", "=#REF!"),
        ("of:=IFERROR(1/0;#DIV/0!)+#N/A", "=IFERROR(1/0,#DIV/0!)+#N/A"),
        ('of:=COM.MICROSOFT.CONCAT("a";"b")', '=_xlfn.CONCAT("a","b")'),
        ("of:=LEGACY.NORMSDIST([.A1])", "=NORMSDIST(A1)"),
        ("of:=com.microsoft.ifs([.A1]>0;1)", "=_xlfn.IFS(A1>0,1)"),
        ("of:=SUM([.A:.A])", "=SUM(A:A)"),
        ("of:=SUM([.1:.3])", "=SUM(1:3)"),
        ("of:=[.A1:.B2]![.B1:.C3]", "=A1:B2 B1:C3"),
        ("of:=SUM([.A1]~[.B1])", "=SUM(A1,B1)"),
        ("of:=[$S1.A1:$S2.B2]", "='S1:S2'!A1:B2"),
        ("of:=1.5E-3+.5", "=1.5E-3+.5"),
        ("oooc:=SUM([.A1];[.A2])", "=SUM(A1,A2)"),
        ("msoxl:=SUM(A1,A2)", "=SUM(A1,A2)"),
        ("=[.A1]", "=A1"),
    ],
)
def test_openformula_becomes_excel(odf: str, excel: str) -> None:
    assert to_excel(odf) == excel


def test_another_file_becomes_a_link_the_hazard_check_knows() -> None:
    from sheetgen.engine.hazards import formula_hazards

    text = to_excel("of:=['file:///home/a/other.ods'#$Sheet1.A1]*2")
    assert text == "='[file:///home/a/other.ods]Sheet1'!A1*2"
    assert formula_hazards(text) == ["external-reference"]
    assert formula_hazards(to_excel('of:=COM.MICROSOFT.WEBSERVICE("http://x")')) == ["webservice"]


def test_unknown_formula_language_is_left_for_the_engine_to_refuse() -> None:
    assert to_excel("foo:=[.A1]") == "=[.A1]"


def test_a_malformed_reference_is_an_error() -> None:
    with pytest.raises(FormulaError):
        reference("not a reference")


def test_renamed_functions_are_the_ones_libreoffice_writes_into_xlsx() -> None:
    # The table came from LibreOffice's opcode maps; a few the engine computes:
    assert EXCEL_NAMES["COM.MICROSOFT.STDEV.S"] == "_xlfn.STDEV.S"
    assert EXCEL_NAMES["CEILING"] == "_xlfn.CEILING.MATH"
    assert "TANH" not in EXCEL_NAMES and "POWER" not in EXCEL_NAMES and "IF" not in EXCEL_NAMES


# --------------------------------------------------------------------------- files by hand

ROOT = (
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.3">'
)


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.3"><manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def ods(
    path: Path,
    body: str,
    *,
    root: str = ROOT,
    extra: dict[str, bytes] | None = None,
    end: str = "</office:document-content>",
) -> Path:
    """An .ods package with ``body`` inside ``office:spreadsheet``, as LibreOffice lays it out."""
    content = (
        f"{root}<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body>{end}"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", MANIFEST, zipfile.ZIP_DEFLATED)
        for name, data in (extra or {}).items():
            zf.writestr(name, data, zipfile.ZIP_DEFLATED)
    return path


def table(name: str, rows: str) -> str:
    return f'<table:table table:name="{name}">{rows}</table:table>'


def number(value: float, formula: str | None = None, **attrs: str) -> str:
    more = "".join(f' table:{k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    f = f' table:formula="{formula}"' if formula else ""
    return (
        f'<table:table-cell{f}{more} office:value-type="float" office:value="{value!r}" '
        f'calcext:value-type="float"><text:p>{value}</text:p></table:table-cell>'
    )


def text(value: str) -> str:
    return (
        '<table:table-cell office:value-type="string" calcext:value-type="string">'
        f"<text:p>{value}</text:p></table:table-cell>"
    )


EMPTY = '<table:table-cell table:number-columns-repeated="16380"/>'
REST = (
    '<table:table-row table:number-rows-repeated="1048570">'
    '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
)


def test_cells_values_and_names_are_read(tmp_path: Path) -> None:
    rows = (
        "<table:table-row>"
        + text("x")
        + number(2.0)
        + number(4.0, "of:=[.B1]*2")
        + '<table:table-cell office:value-type="percentage" office:value="0.25"/>'
        + "</table:table-row>"
        + '<table:table-row><table:table-cell table:number-columns-spanned="2" '
        'office:value-type="boolean" office:boolean-value="true"><text:p>TRUE</text:p>'
        "</table:table-cell>"
        '<table:covered-table-cell office:value-type="float" office:value="7"/>'
        '<table:table-cell office:value-type="date" office:date-value="1900-01-01"/>'
        '<table:table-cell office:value-type="time" office:time-value="PT12H00M00S"/>'
        "</table:table-row>"
        '<table:table-row><table:table-cell office:value-type="string">'
        "<office:annotation><text:p>a comment</text:p></office:annotation>"
        '<text:p>two<text:s text:c="2"/>spaces</text:p><text:p>and a line</text:p>'
        "</table:table-cell>"
        '<table:table-cell table:formula="of:=1/0" office:value-type="float" office:value="0" '
        'calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>'
        '<table:table-cell table:style-name="ce1"/>'
        "<table:named-expressions>"
        '<table:named-range table:name="Local" table:base-cell-address="$Data.$A$1" '
        'table:cell-range-address="$Data.$B$1"/></table:named-expressions>'
        "</table:table-row>" + REST
    )
    names = (
        "<table:named-expressions>"
        '<table:named-range table:name="Tiny" table:base-cell-address="$Data.$A$1" '
        'table:cell-range-address="$Data.$B$1"/>'
        '<table:named-expression table:name="Label" table:base-cell-address="$Data.$A$1" '
        'table:expression="&quot;hello&quot;"/>'
        "</table:named-expressions>"
    )
    book = read_checked(ods(tmp_path / "v.ods", table("Data", rows) + names)).book
    (sheet,) = book.sheets
    cells = sheet.cells
    assert sheet.title == "Data"
    assert cells["A1"] == Cell("x")
    assert cells["B1"] == Cell(2.0)
    assert cells["C1"] == Cell(4.0, "=B1*2")
    assert cells["D1"] == Cell(0.25)
    assert cells["A2"] == Cell(True)
    assert cells["B2"] == Cell(7.0)  # a covered cell keeps its content
    assert cells["C2"] == Cell(2.0)  # 1900-01-01 is day 2 after the 1899-12-30 null date
    assert cells["D2"] == Cell(0.5)
    assert cells["A3"] == Cell("two  spaces\nand a line")  # the comment is not the value
    assert cells["B3"] == Cell(CellError("#DIV/0!"), "=1/0")
    assert "C3" not in cells  # styled but empty
    assert book.names == {"Tiny": "Data!$B$1", "Label": '"hello"'}
    assert sheet.names == {"Local": "Data!$B$1"}


HANG = 10
"""CPU seconds past which a repeat count was expanded rather than counted: done right these
take milliseconds, expanded they would take hours. CPU, not the clock: a loaded machine's
clock is no measure (that is the benchmarks' job)."""


def test_repeated_empty_rows_cost_nothing(tmp_path: Path) -> None:
    """LibreOffice's empty rest of the sheet: a million rows of 16,384 cells, no memory."""
    rows = "<table:table-row>" + number(1.0) + EMPTY + "</table:table-row>"
    rest = (
        '<table:table-row table:number-rows-repeated="1000000000">'
        '<table:table-cell table:number-columns-repeated="1000000000"/></table:table-row>'
    )
    started = time.process_time()
    checked = read_checked(ods(tmp_path / "r.ods", table("S", rows + rest)))
    assert time.process_time() - started < HANG
    assert checked.book.sheets[0].cells == {"A1": Cell(1.0)}
    assert checked.facts.cells == 1 and checked.facts.kind == "ods"


def test_repeated_content_counts_before_it_is_expanded(tmp_path: Path) -> None:
    row = (
        '<table:table-row table:number-rows-repeated="3">'
        + number(1.0, number_columns_repeated="2")
        + "</table:table-row>"
    )
    cells = read_checked(ods(tmp_path / "ok.ods", table("S", row))).book.sheets[0].cells
    assert sorted(cells) == ["A1", "A2", "A3", "B1", "B2", "B3"]

    flood = (
        '<table:table-row table:number-rows-repeated="1048576">'
        + number(1.0, number_columns_repeated="16384")
        + "</table:table-row>"
    )
    started = time.process_time()
    with pytest.raises(UnsafeFileError, match="more than 300,000 cells"):
        read_checked(ods(tmp_path / "flood.ods", table("S", flood)))
    assert time.process_time() - started < HANG
    wide = (
        "<table:table-row>" + number(1.0) + EMPTY + number(1.0) + "</table:table-row>"
        '<table:table-row table:number-rows-repeated="100"><table:table-cell/></table:table-row>'
        "<table:table-row>" + number(1.0) + "</table:table-row>"
    )
    # A sparse sheet's extent is no limit for verify's reader (it keeps only the cells that
    # exist, which max_cells bounds), however small max_sheet_area is.
    checked = read_checked(ods(tmp_path / "wide.ods", table("S", wide)), Limits(max_sheet_area=10))
    assert checked.facts.cells < 300


def test_unusual_prefixes_are_read_by_namespace(tmp_path: Path) -> None:
    root = (
        '<o:document-content xmlns:o="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:t="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:x="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:f="urn:oasis:names:tc:opendocument:xmlns:of:1.2">'
    )
    body = (
        '<t:table t:name="S"><t:table-row>'
        '<t:table-cell o:value-type="float" o:value="3"/>'
        '<t:table-cell t:formula="f:=[.A1]*2" o:value-type="float" o:value="6"/>'
        '<t:table-cell o:value-type="string"><x:p>hi</x:p></t:table-cell>'
        "</t:table-row></t:table>"
    )
    path = tmp_path / "p.ods"
    content = f"{root}<o:body><o:spreadsheet>{body}</o:spreadsheet></o:body></o:document-content>"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", content)
    cells = read_checked(path).book.sheets[0].cells
    assert cells == {"A1": Cell(3.0), "B1": Cell(6.0, "=A1*2"), "C1": Cell("hi")}


def test_linked_sheets_and_macros_are_noticed_never_followed(tmp_path: Path) -> None:
    linked = (
        '<table:table table:name="Copy"><table:table-source xlink:href="file:///etc/other.ods" '
        'table:table-name="Secret"/><table:table-row>' + number(1.0) + "</table:table-row>"
        "</table:table>"
    )
    path = ods(
        tmp_path / "m.ods",
        table("S", "<table:table-row>" + number(1.0) + "</table:table-row>") + linked,
        extra={"Basic/Standard/Module1.xml": b"<module/>", "Basic/script-lc.xml": b"<x/>"},
    )
    checked = read_checked(path)
    assert [s.title for s in checked.book.sheets] == ["S"]  # the linked copy is not a sheet
    assert checked.facts.external_links == ("file:///etc/other.ods",)
    assert checked.facts.has_macros


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]>', "XML entity"),
        ('<!DOCTYPE x SYSTEM "file:///etc/passwd">', "document type"),
    ],
)
def test_xml_bombs_are_refused(tmp_path: Path, body: str, fragment: str) -> None:
    path = tmp_path / "bomb.ods"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", f'<?xml version="1.0"?>{body}{ROOT}</office:document-content>')
    with pytest.raises(UnsafeFileError, match=fragment):
        read_checked(path)


def test_a_zip_bomb_is_refused_before_it_inflates(tmp_path: Path) -> None:
    path = ods(tmp_path / "zb.ods", "", extra={"Thumbnails/big.xml": b"<a>" + b" " * 50_000_000})
    with pytest.raises(UnsafeFileError, match="zip bomb"):
        read_checked(path)


def test_commands_that_write_xlsx_still_refuse_ods_with_a_remedy(tmp_path: Path) -> None:
    path = ods(tmp_path / "a.ods", table("S", ""))
    with pytest.raises(InputFileError, match=r"save it as \.xlsx"):
        check_file(path)


def test_a_password_protected_ods_is_named(tmp_path: Path) -> None:
    path = tmp_path / "secret.ods"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", bytes(range(256)) * 4)  # what encryption leaves: not XML
        zf.writestr(
            "META-INF/manifest.xml",
            MANIFEST.replace(
                'manifest:media-type="text/xml"/>',
                'manifest:media-type="text/xml"><manifest:encryption-data/></manifest:file-entry>',
            ),
        )
    with pytest.raises(InputFileError, match="password-protected"):
        read_checked(path)


def test_other_opendocument_files_get_a_clear_sentence(tmp_path: Path) -> None:
    path = tmp_path / "letter.odt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(InputFileError, match=r"text document \(\.odt\), not a spreadsheet"):
        read_checked(path)


# --------------------------------------------------------------------------- verify and grade


def article_as_ods(path: Path, layout: Layout, changes: dict[str, str] | None = None) -> Path:
    """The article's sheet written as an .ods by hand: every cell of the layout with its
    formula translated back to OpenFormula (what LibreOffice would save)."""
    import re

    from sheetgen.workbook.safety import read_checked as read

    book = read(build(path.with_suffix(".xlsx"))).book
    sheet = book.sheet(layout.sheet)
    assert sheet is not None
    cells = dict(sheet.cells)
    for at, formula in (changes or {}).items():
        cells[at] = Cell(None, formula)
    from sheetgen import a1

    grid: dict[int, dict[int, Cell]] = {}
    for at, given in cells.items():
        row, column = a1.split(at)
        grid.setdefault(row, {})[column] = given
    rows = []
    for row in range(1, max(grid) + 1):
        out = []
        for column in range(1, max(grid.get(row, {0: Cell()})) + 1):
            cell = grid.get(row, {}).get(column)
            if cell is None:
                out.append("<table:table-cell/>")
            elif cell.formula:
                odf = re.sub(r"(\$?[A-Z]{1,3}\$?\d+)", r"[.\1]", cell.formula[1:])
                odf = odf.replace(",", ";").replace('"', "&quot;")
                out.append(f'<table:table-cell table:formula="of:={odf}"/>')
            elif isinstance(cell.value, str):
                out.append(text(cell.value))
            else:
                out.append(number(float(cell.value)))  # type: ignore[arg-type]
        rows.append("<table:table-row>" + "".join(out) + "</table:table-row>")
    names = "".join(
        f'<table:named-range table:name="{name}" table:base-cell-address="$Neuron.$A$1" '
        f'table:cell-range-address="${target.replace("!", ".")}"/>'
        for name, target in book.names.items()
        if "!" in target
    )
    body = table(layout.sheet, "".join(rows) + REST)
    return ods(path, body + f"<table:named-expressions>{names}</table:named-expressions>")


def test_verify_reads_an_ods_as_its_xlsx(tmp_path: Path, layout: Layout) -> None:
    path = article_as_ods(tmp_path / "a.ods", layout)
    ods_report = json.loads(to_json(verify_workbook(path)))
    xlsx_report = json.loads(to_json(verify_workbook(path.with_suffix(".xlsx"))))
    assert ods_report.pop("path") != xlsx_report.pop("path")
    assert ods_report == xlsx_report
    assert verify_workbook(path).ok


def test_a_wrong_formula_in_an_ods_is_named(tmp_path: Path, layout: Layout) -> None:
    net = layout.by_quantity["net"].at
    weight = layout.by_quantity["weight"].at
    path = article_as_ods(tmp_path / "w.ods", layout, {net: f"={weight}*2"})
    report = verify_workbook(path)
    assert not report.ok
    assert [c.cell for c in report.roots] == [net]


def test_grade_collects_ods_and_xlsm_beside_xlsx(tmp_path: Path) -> None:
    for name in ("a.xlsx", "b.ods", "c.xlsm", "d.XLSX", "e.csv", "~$a.xlsx", ".hidden.ods"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in collect([tmp_path])] == ["a.xlsx", "b.ods", "c.xlsm", "d.XLSX"]


def test_grade_grades_ods_and_xlsm_with_the_xlsx(tmp_path: Path, layout: Layout) -> None:
    from sheetgen import grade_class

    hand_in = tmp_path / "class"
    hand_in.mkdir()
    article_as_ods(hand_in / "ann.ods", layout)
    (hand_in / "ann.xlsx").rename(hand_in / "bob.xlsx")
    xlsm = hand_in / "cat.xlsm"
    xlsm.write_bytes((hand_in / "bob.xlsx").read_bytes())
    result = grade_class([hand_in], workers=1, variants=0)
    assert [Path(g.path).name for g in result.graded] == ["ann.ods", "bob.xlsx", "cat.xlsm"]
    assert result.ok


def test_annotate_refuses_an_ods_before_verifying(tmp_path: Path, layout: Layout) -> None:
    path = article_as_ods(tmp_path / "a.ods", layout)
    result = subprocess.run(
        [sys.executable, "-m", "sheetgen", "verify", str(path), "--annotate", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the checkout: the installed sheetgen is what runs
        check=False,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "--annotate" in result.stderr and ".xlsx" in result.stderr
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- hostile, end to end


def huge_repeat(directory: Path) -> Path:
    flood = (
        '<table:table-row table:number-rows-repeated="1048576">'
        + number(1.0, number_columns_repeated="16384")
        + "</table:table-row>"
    )
    return ods(directory / "flood.ods", table("S", flood))


def entity(directory: Path) -> Path:
    path = directory / "entity.ods"
    laughs = '<!DOCTYPE x [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", f"{laughs}{ROOT}&b;</office:document-content>")
    return path


def bomb(directory: Path) -> Path:
    return ods(directory / "bomb.ods", "", extra={"styles.xml": b"<a>" + b" " * 200_000_000})


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        pytest.param(huge_repeat, "more than 300,000 cells", id="repeated rows"),
        pytest.param(entity, "XML entity", id="billion laughs"),
        pytest.param(bomb, "zip bomb", id="zip bomb"),
    ],
)
def test_hostile_ods_exit_2_with_one_sentence(tmp_path: Path, make: object, fragment: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    line = one_sentence(verify_bounded(path, timeout=60))
    assert fragment in line
