"""sheetgen.workbook.xlsx reads what openpyxl reads (cells, formulas, names), and what not.

The verifier no longer loads workbooks with openpyxl; these tests hold the reader to
openpyxl's reading of every kind of file the suite has (built, LibreOffice-saved, edited by a
learner), and to the file format's corners one by one: shared and array formulas, cells and
rows without addresses, inline and rich text, chart sheets, sheet-scoped names.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from sheetgen.check.verify import verify_workbook
from sheetgen.engine.evaluate import Evaluator
from sheetgen.workbook.book import Book, Cell, CellError, stored_cells
from sheetgen.workbook.xlsx import ReadError, read_book, shift

GOLDEN = Path(__file__).parent / "golden" / "single_neuron.libreoffice.xlsx"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def same_as_openpyxl(path: Path) -> None:
    """Every cell openpyxl reads, the reader reads alike (formula cells: the formula)."""
    ours = read_book(path.read_bytes())
    theirs = Book.of(openpyxl.load_workbook(path))
    assert [s.title for s in ours.sheets] == [s.title for s in theirs.sheets]
    assert dict(ours.names) == dict(theirs.names)
    for mine, other in zip(ours.sheets, theirs.sheets, strict=True):
        assert set(mine.cells) == set(other.cells)
        assert dict(mine.notes) == dict(other.notes)
        for at, cell in other.cells.items():
            if cell.formula is not None:
                assert mine.cells[at].formula == cell.formula, at
            else:
                assert mine.cells[at] == cell, at


def test_built_workbooks_read_as_openpyxl_reads_them(article: Path, tmp_path: Path) -> None:
    from sheetgen.writer.build import build

    network = build(tmp_path / "network.xlsx", "network:layers=2-3-1")
    training = build(tmp_path / "training.xlsx", "training:steps=5")
    trained_network = build(tmp_path / "trained.xlsx", "training:layers=2-2-1,steps=3")
    variant = build(tmp_path / "variant.xlsx", "neuron:activation=sigmoid,inputs=2")
    for path in (article, network, training, trained_network, variant):
        same_as_openpyxl(path)


def test_a_libreoffice_saved_workbook_reads_as_openpyxl_reads_it() -> None:
    same_as_openpyxl(GOLDEN)


def test_an_edited_workbook_reads_as_openpyxl_reads_it(make: Callable[..., Path]) -> None:
    edits = {"E2": "=B2*C2-D2", "F2": ("text", "=TANH(E2)"), "B2": "text", "C3": True}
    same_as_openpyxl(make("edited", edits))


def test_cached_values_are_read_with_the_formulas(article: Path) -> None:
    """Built files save each formula's value; the stale-cache check reads it from here."""
    sheet = read_book(article.read_bytes()).sheets[0]
    assert sheet.cells["E2"].formula == "=B2*C2+D2"
    assert sheet.cells["E2"].value == pytest.approx(0.4 * 0.5 + 0.6, rel=1e-15)


# ---------------------------------------------------------------------------------------------
# The format's corners, in files written by hand


def workbook(
    sheet_xml: str,
    *,
    strings: str | None = None,
    names: str = "",
    extra_sheets: str = "",
    extra_rels: str = "",
    extra_parts: dict[str, str] | None = None,
    ns: str = MAIN,
    prolog: str = "",
) -> bytes:
    """A minimal .xlsx: one worksheet ``Data`` with ``<sheetData>`` content ``sheet_xml``."""
    rels = f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    if strings is not None:
        rels += f'<Relationship Id="rS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    parts = {
        "[Content_Types].xml": "<Types/>",
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="r" '
        f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{ns}" xmlns:r="{REL}"><sheets>'
        f'<sheet name="Data" sheetId="1" r:id="rId1"/>{extra_sheets}</sheets>'
        f"<definedNames>{names}</definedNames></workbook>",
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}">{rels}{extra_rels}'
        "</Relationships>",
        "xl/worksheets/sheet1.xml": f'{prolog}<worksheet xmlns="{ns}"><sheetData>{sheet_xml}'
        "</sheetData></worksheet>",
    }
    if strings is not None:
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{ns}">{strings}</sst>'
    parts.update(extra_parts or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()


def cells(data: bytes) -> dict[str, Cell]:
    return dict(read_book(data).sheets[0].cells)


def test_shared_formulas_move_with_their_cells() -> None:
    got = cells(
        workbook(
            '<row r="2"><c r="B2"><f t="shared" ref="B2:C3" si="0">A2*$A$1+SUM(A$1:A2)</f>'
            '<v>1</v></c><c r="C2"><f t="shared" si="0"/></c></row>'
            '<row r="3"><c r="B3"><f t="shared" si="0"/></c></row>'
        )
    )
    assert got["B2"].formula == "=A2*$A$1+SUM(A$1:A2)"
    assert got["C2"].formula == "=B2*$A$1+SUM(B$1:B2)"
    assert got["B3"].formula == "=A3*$A$1+SUM(A$1:A3)"


@pytest.mark.parametrize(
    ("formula", "rows", "columns", "moved"),
    [
        ("=A1+B2*$C$3", 2, 1, "=B3+C4*$C$3"),
        ("=SUM(A1:B2)+Sheet1!A1+'My s'!B3", 1, 0, "=SUM(A2:B3)+Sheet1!A2+'My s'!B4"),
        ('="A1"&A1', 1, 1, '="A1"&B2'),  # text stays text
        ("=LOG10(A1)+ATAN2(A1,B1)+Tiny", 0, 1, "=LOG10(B1)+ATAN2(B1,C1)+Tiny"),  # functions stay
        ("=SUM(A:A)+SUM(2:3)+SUM($A:B)", 2, 1, "=SUM(B:B)+SUM(4:5)+SUM($A:C)"),
        ("=A1-1E3+B$1+$A2", 1, 1, "=B2-1E3+C$1+$A3"),
        ("=A1+B2", -1, 0, "=#REF!+B1"),  # moved above row 1, as Excel shows it
        ("=XFD1", 0, 1, "=#REF!"),
    ],
)
def test_shift(formula: str, rows: int, columns: int, moved: str) -> None:
    assert shift(formula, rows, columns) == moved


def test_array_formulas_belong_to_their_first_cell() -> None:
    got = cells(
        workbook(
            '<row r="1"><c r="A1"><f t="array" ref="A1:A2">B1:B2*2</f><v>2</v></c>'
            '<c r="B1"><v>1</v></c></row><row r="2"><c r="A2"><v>4</v></c>'
            '<c r="B2"><v>2</v></c></row>'
        )
    )
    assert got["A1"] == Cell(2.0, "=B1:B2*2", "A1:A2")  # with the range it fills
    assert got["A2"] == Cell(4.0)  # the array's other cells keep their values, as in openpyxl


def test_cells_and_rows_without_addresses_follow_the_previous_ones() -> None:
    got = cells(
        workbook(
            "<row><c><v>1</v></c><c><v>2</v></c></row>"
            "<row><c r='C2'><v>3</v></c><c><v>4</v></c></row>"
        )
    )
    assert {at: c.value for at, c in got.items()} == {"A1": 1.0, "B1": 2.0, "C2": 3.0, "D2": 4.0}


def test_value_kinds() -> None:
    strings = (
        "<si><t>plain</t></si>"
        '<si><r><t xml:space="preserve">rich </t></r><r><t>text</t></r>'
        "<rPh><t>phonetic</t></rPh></si>"
        "<si><t>=B2*C2</t></si>"
    )
    got = cells(
        workbook(
            '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
            '<c r="C1" t="b"><v>1</v></c><c r="D1" t="e"><v>#DIV/0!</v></c>'
            '<c r="E1" t="inlineStr"><is><r><t>in</t></r><r><t>line</t></r></is></c>'
            '<c r="F1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>'
            '<c r="G1" s="1"><v>45000</v></c><c r="H1" t="s"><v>2</v></c><c r="I1"/></row>',
            strings=strings,
        )
    )
    assert got["A1"] == Cell("plain")
    assert got["B1"] == Cell("rich text")
    assert got["C1"] == Cell(True)
    assert got["D1"] == Cell(CellError("#DIV/0!"))
    assert got["E1"] == Cell("inline")
    assert got["F1"] == Cell("ab", '="a"&"b"')
    assert got["G1"] == Cell(45000.0)  # whatever its format: Excel's formulas see a number
    assert got["H1"] == Cell("=B2*C2")  # text that looks like a formula is text
    assert "I1" not in got  # an empty cell is no cell


def test_defined_names_by_scope_and_chart_sheets_left_out() -> None:
    book = read_book(
        workbook(
            '<row r="1"><c r="A1"><v>2</v></c><c r="B1"><f>Rate*3</f></c>'
            '<c r="C1"><f>Global+1</f></c></row>',
            names='<definedName name="Rate" localSheetId="0">Data!$A$1</definedName>'
            "<definedName name=\"Global\">'Data'!$A$1</definedName>",
            extra_sheets=f'<sheet name="Chart" sheetId="2" r:id="rC" xmlns:r="{REL}"/>',
            extra_rels=f'<Relationship Id="rC" Type="{REL}/chartsheet" Target="c.xml"/>',
        )
    )
    assert [s.title for s in book.sheets] == ["Data"]
    assert book.names == {"Global": "'Data'!$A$1"}
    assert book.sheets[0].names == {"Rate": "Data!$A$1"}
    values = Evaluator(book).evaluate([("Data", "B1"), ("Data", "C1")])
    assert values == {("Data", "B1"): 6.0, ("Data", "C1"): 3.0}


def test_strict_ooxml_namespace_is_read() -> None:
    strict = "http://purl.oclc.org/ooxml/spreadsheetml/main"
    assert cells(workbook('<row r="1"><c r="A1"><v>5</v></c></row>', ns=strict)) == {
        "A1": Cell(5.0)
    }


@pytest.mark.parametrize(
    "data",
    [
        workbook('<row r="1"><c r="A1" t="s"><v>3</v></c></row>', strings="<si><t>x</t></si>"),
        workbook('<row r="1"><c r="A1"><v>abc</v></c></row>'),
        workbook('<row r="1"><c r="ZZZZ1"><v>1</v></c></row>'),
        workbook('<row r="1.5"><c><v>1</v></c></row>'),
        workbook("<row><c>"),
    ],
    ids=["missing shared string", "text as a number", "bad address", "bad row", "bad xml"],
)
def test_broken_parts_raise_read_error(data: bytes) -> None:
    with pytest.raises(ReadError):
        read_book(data)


def test_a_document_type_is_refused_even_past_the_safety_layer() -> None:
    data = workbook("", prolog='<!DOCTYPE x [<!ENTITY a "b">]>')
    with pytest.raises(ReadError, match="document type"):
        read_book(data)


def test_a_broken_part_is_one_sentence_from_verify(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(workbook('<row r="1"><c r="A1"><v>abc</v></c></row>'))
    with pytest.raises(Exception, match=r"could not be read as an \.xlsx workbook"):
        verify_workbook(path)


def test_the_pass_that_vets_a_file_reads_the_same_cells(make: Callable[..., Path]) -> None:
    """verify reads worksheets during the safety layer's pass; the result is the same."""
    from sheetgen.workbook.safety import read_checked

    edited = make("edited", {"E2": "=B2*C2-D2", "F2": ("text", "=TANH(E2)"), "B2": "text"})
    for path in (GOLDEN, edited):
        assert read_checked(path).book == read_book(path.read_bytes())


def test_a_broken_worksheet_read_while_vetting_is_one_sentence(tmp_path: Path) -> None:
    from sheetgen.errors import InputFileError
    from sheetgen.workbook.safety import read_checked

    path = tmp_path / "broken.xlsx"
    path.write_bytes(workbook('<row r="1"><c r="A1" t="s"><v>7</v></c></row>', strings=""))
    # The sheet by its title and the entry in words (the sentence was "... (ReadError: cell A1
    # refers to shared string 7, which is missing)", then named the part sheet1.xml: neither
    # the exception's name nor the zip's part is anything its owner sees).
    said = r"could not be read .*: in the sheet 'Data', cell A1 refers to entry 7 of the workbook"
    with pytest.raises(InputFileError, match=said):
        read_checked(path)


@pytest.mark.parametrize(
    ("parts", "said"),
    [
        (
            {"xl/sharedStrings.xml": "<sst><si><t>x</t></sx></sst>"},
            "the file's XML for the workbook's shared text (the text its cells hold) is broken "
            "at line 1, column 20",
        ),
        (  # the workbook part's own damage: no title to name the sheet by, its part instead
            {
                "xl/workbook.xml": "<workbook",
                "xl/worksheets/sheet1.xml": "<worksheet><sheetData><row r='0'/>",
            },
            "the file's XML for the workbook's list of sheets and names stops unfinished at "
            "line 1, column 1",
        ),
    ],
    ids=["shared-text", "workbook-part"],
)
def test_a_part_that_is_no_sheet_is_named_by_what_it_is_for(
    tmp_path: Path, parts: dict[str, str], said: str
) -> None:
    """Broken XML in the shared text or the workbook part named the zip's part
    ("xl/sharedStrings.xml"), which its owner never sees: it is named by what it is for."""
    from sheetgen.errors import InputFileError
    from sheetgen.workbook.safety import read_checked

    path = tmp_path / "broken.xlsx"
    path.write_bytes(workbook("", strings="", extra_parts=parts))
    with pytest.raises(InputFileError) as caught:
        read_checked(path)
    assert f"could not be read as an .xlsx workbook: {said} (the usual" in str(caught.value)
    assert "xl/" not in str(caught.value)


def test_notes_are_read_and_a_damaged_comments_part_only_loses_them(
    article: Path, tmp_path: Path
) -> None:
    notes = read_book(article.read_bytes()).sheets[0].notes
    assert notes["E2"].startswith("Net")  # the article's notes, by cell
    with zipfile.ZipFile(article) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    comments = next(n for n in parts if n.startswith("xl/comments"))
    parts[comments] = parts[comments].replace(b"<comments", b"<comments q:x='1'", 1)
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(damaged, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    book = read_book(damaged.read_bytes())
    assert book.sheets[0].notes == {} and book.sheets[0].cells
    assert verify_workbook(damaged, variants=0).ok


def test_a_note_joins_its_runs_and_leaves_phonetic_runs_and_stray_text_out(
    article: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(article) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    comments = next(n for n in parts if n.startswith("xl/comments"))
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    parts[comments] = (
        f'<comments xmlns="{main}"><authors><author>me</author></authors><commentList>'
        '<comment ref="$e$2" authorId="0"><text><r><t xml:space="preserve">rich </t></r>'
        "<r><t>note</t></r><rPh><t>phonetic</t></rPh></text></comment>"
        "<t>stray</t>"
        '<comment ref="B3" authorId="0"><text><t>plain</t></text></comment>'
        '<comment ref="XFE1" authorId="0"><text><t>off the sheet</t></text></comment>'
        "</commentList></comments>"
    ).encode()
    edited = tmp_path / "notes.xlsx"
    with zipfile.ZipFile(edited, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    assert dict(read_book(edited.read_bytes()).sheets[0].notes) == {
        "E2": "rich note",
        "B3": "plain",
    }


def test_notes_are_parsed_only_for_an_exercise_that_lost_its_record(
    article: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sheetgen.teacher.exercise import build_exercise
    from sheetgen.workbook.book import LazyNotes

    hand_out = build_exercise(tmp_path / "ex.xlsx")
    looked: list[str] = []

    def refuse(_notes: LazyNotes, key: str) -> str:
        looked.append(key)
        raise KeyError(key)

    monkeypatch.setattr(LazyNotes, "__getitem__", refuse)
    assert verify_workbook(article, variants=0).ok  # notes on every cell, none a "To do" mark
    assert verify_workbook(hand_out, variants=0).todo  # its record of blanks is enough
    assert looked == []


def test_book_of_reads_only_the_stored_cells_of_a_sparse_sheet() -> None:
    """Walking the box A1:XFD1048576 would make 17 billion cells; Book.of must not, and must
    leave the caller's workbook as it was."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws["A1"] = 2
    ws["XFD1048576"] = "=A1*3"
    ws["XFD1048576"].comment = openpyxl.comments.Comment("far", "me")
    sheet = Book.of(wb).sheets[0]
    assert dict(sheet.cells) == {"A1": Cell(2.0), "XFD1048576": Cell(None, "=A1*3")}
    assert dict(sheet.notes) == {"XFD1048576": "far"}
    assert sorted(stored_cells(ws)) == [(1, 1), (1048576, 16384)]
