"""What a user trial found users trip over, each test the smallest reproducer of one problem:
a damaged file's sentence, roster-made file names, the figure `--limit` suggests."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.parsers import expat

import pytest

from sheetgen import build
from sheetgen.cli import main
from sheetgen.serve import work
from sheetgen.workbook.safety import configured_limits

from .learner_views import moodle_feedback, web_page


def _cut(keep: Callable[[bytes], bytes]) -> Callable[[Path, Path], None]:
    """A hand-in made from a right workbook's bytes (a download cut short, bytes lost)."""

    def make(right: Path, path: Path) -> None:
        path.write_bytes(keep(right.read_bytes()))

    return make


def _zip(**parts: str) -> Callable[[Path, Path], None]:
    def make(_right: Path, path: Path) -> None:
        with zipfile.ZipFile(path, "w") as z:
            for name, text in parts.items():
                z.writestr(name.replace("__", "/"), text)

    return make


def _bytes(data: bytes) -> Callable[[Path, Path], None]:
    def make(_right: Path, path: Path) -> None:
        path.write_bytes(data)

    return make


def _part_broken(part: str, broken: Callable[[bytes], bytes]) -> Callable[[Path, Path], None]:
    """The right workbook with one of its XML parts' bytes broken, the zip itself whole."""

    def make(right: Path, path: Path) -> None:
        with zipfile.ZipFile(right) as old, zipfile.ZipFile(path, "w") as new:
            for info in old.infolist():
                data = old.read(info)
                new.writestr(info, broken(data) if info.filename == part else data)

    return make


def _ods_broken(_right: Path, path: Path) -> None:
    """An .ods whose content.xml stops mid-element."""
    from .test_ods import number, ods, table

    ods(path, table("S", f"<table:table-row>{number(1.0)}</table:table-row>"), end="<office:")


def _zeroed(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(200) + data[middle + 200 :]


_DAMAGED = {
    "first-100-bytes": _cut(lambda d: d[:100]),
    "half": _cut(lambda d: d[: len(d) // 2]),
    "end-cut": _cut(lambda d: d[:-100]),
    "bytes-zeroed": _cut(_zeroed),
    "empty": _bytes(b""),
    "renamed-csv": _bytes(b"x,y\n0.5,1\n"),
    "renamed-pdf": _bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
    "renamed-docx": _zip(**{"[Content_Types].xml": "<Types/>", "word__document.xml": "<w/>"}),
    "zip-of-other-files": _zip(notes__a="txt", **{"b.png": "png"}),
    "sheet-xml-cut": _part_broken("xl/worksheets/sheet1.xml", lambda d: d[: len(d) // 2]),
    "sheet-xml-bad-ref": _part_broken(
        "xl/worksheets/sheet1.xml", lambda d: d.replace(b'<c r="B1"', b'<c r="B0"', 1)
    ),
    "workbook-xml-cut": _part_broken("xl/workbook.xml", lambda d: d[:-20]),
    "ods-content-cut": _ods_broken,
}


@pytest.fixture(scope="module")
def right(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("right") / "right.xlsx", "single_neuron")


def _verify(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["verify", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (code, out, err)
    return err.strip().removeprefix("sheetgen: ")


@pytest.mark.parametrize("kind", _DAMAGED, ids=list(_DAMAGED))
def test_a_file_that_is_no_workbook_says_what_is_wrong_and_what_to_do(
    kind: str, right: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A download cut short was told "is a damaged zip archive and cannot be read
    (BadZipFile: File is not a zip file)": a learner does not know their workbook is a zip
    archive, nor what to do. Every such file says, in plain words, to save the work again from
    the spreadsheet application as .xlsx or .ods and hand that in: verify, grade's row and the
    web page alike."""
    path = tmp_path / "hw" / "hw.xlsx"
    path.parent.mkdir()
    _DAMAGED[kind](right, path)
    said = _verify(path, capsys)
    for jargon in ("BadZipFile", "Error -3", "inflate", "header", "zip file"):
        assert jargon not in said, said
    assert said.startswith(str(path)), said
    for words in ("save", "spreadsheet application", ".xlsx or .ods", "hand in that file"):
        assert words in said, said
    named = said.replace(str(path), "hw.xlsx")
    assert web_page(path) == named
    assert named in moodle_feedback(path)


_SHEET = "xl/worksheets/sheet1.xml"


def _sheet(old: bytes, new: bytes) -> Callable[[Path, Path], None]:
    """The right workbook with ``old`` in its worksheet's XML written ``new`` (once)."""

    def broken(data: bytes) -> bytes:
        assert old in data, old
        return data.replace(old, new, 1)

    return _part_broken(_SHEET, broken)


def _part_removed(part: str) -> Callable[[Path, Path], None]:
    def make(right: Path, path: Path) -> None:
        with zipfile.ZipFile(right) as old, zipfile.ZipFile(path, "w") as new:
            for info in old.infolist():
                if info.filename != part:
                    new.writestr(info, old.read(info))

    return make


def _ods_row(row: str) -> Callable[[Path, Path], None]:
    """An .ods of one sheet, S, whose one row is ``row``."""

    def make(_right: Path, path: Path) -> None:
        from .test_ods import ods, table

        ods(path, table("S", row))

    return make


def _ods_null_date(_right: Path, path: Path) -> None:
    from .test_ods import number, ods, table

    settings = (
        '<table:calculation-settings><table:null-date table:date-value="yesterday"/>'
        "</table:calculation-settings>"
    )
    ods(path, settings + table("S", f"<table:table-row>{number(1.0)}</table:table-row>"))


_C1 = b'<c r="C1" s="1" t="inlineStr"><is><t>Weight</t></is></c>'
_UNREADABLE = {  # what the reader trips on, and what the sentence says of it
    "row-0": (
        _sheet(b'<row r="1">', b'<row r="0">'),
        "in the sheet 'Neuron', a row is numbered '0', but rows are",
    ),
    "row-not-a-number": (_sheet(b'<row r="1">', b'<row r="x1">'), "a row is numbered 'x1'"),
    "cell-address": (_sheet(b'<c r="C1"', b'<c r="C1x"'), "a cell is addressed 'C1x', which is"),
    "number-holds-text": (_sheet(b"<v>", b"<v>abc"), "is saved as a number but holds 'abc"),
    "boolean-holds-text": (
        _sheet(_C1, b'<c r="C1" t="b"><v>yes</v></c>'),
        "cell C1 is saved as TRUE or FALSE but holds 'yes'",
    ),
    "shared-text-missing": (
        _sheet(_C1, b'<c r="C1" t="s"><v>99</v></c>'),
        "cell C1 refers to entry 99 of the workbook's shared text",
    ),
    "part-missing": (_part_removed(_SHEET), f"the part {_SHEET}, which it refers to, is missing"),
    "not-utf-8": (
        _sheet(b"Weight", b"W\xe9ight"),
        "the file's XML for the sheet 'Neuron' holds bytes that are not UTF-8 text, at line 1",
    ),
    "unknown-encoding": (
        _sheet(b"<worksheet", b'<?xml version="1.0" encoding="klingon"?><worksheet'),
        "declares a text encoding (klingon) that this reader does not read",
    ),
    "zip-that-is-not": (_bytes(b"PK\x03\x04" + bytes(200)), "is damaged or incomplete"),
    "ods-repeat-count": (
        _ods_row('<table:table-row table:number-rows-repeated="x"/>'),
        "could not be read as an .ods spreadsheet: on sheet 'S', a row repeats 'x' times",
    ),
    "ods-value": (
        _ods_row(
            '<table:table-row><table:table-cell office:value-type="float" '
            'office:value="abc"/></table:table-row>'
        ),
        "cell A1 of sheet 'S' is saved as a number but holds 'abc'",
    ),
    "ods-null-date": (_ods_null_date, "its settings count dates from 'yesterday'"),
}

_CLASS_NAME = re.compile(r"[A-Za-z]*(?:Error|Exception|ZipFile)\b|Traceback")


@pytest.mark.parametrize("kind", _UNREADABLE, ids=list(_UNREADABLE))
def test_a_file_the_reader_cannot_make_sense_of_says_what_in_plain_words(
    kind: str, right: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A worksheet with `<row r="0">` was told "could not be read as an .xlsx workbook
    (ReadError: 0 is not a row number)", a row numbered "x1" that it was "cut short while it
    was downloaded": the exception's name means nothing to a learner or a teacher. Each
    reader failure says what is wrong where, in words, and what to do, with no exception's
    name: verify, grade's row and the web page alike (the exit code stays 2)."""
    make, fragment = _UNREADABLE[kind]
    path = tmp_path / "hw" / ("hw.ods" if kind.startswith("ods") else "hw.xlsx")
    path.parent.mkdir()
    make(right, path)
    said = _verify(path, capsys)
    assert _CLASS_NAME.search(said) is None, said
    assert said.startswith(str(path)) and fragment in said, said
    assert "save it again as .xlsx or .ods" in said and said.endswith("hand in that file."), said
    named = said.replace(str(path), path.name)
    assert web_page(path) == named
    assert named in moodle_feedback(path)


def _first_in_zip(part: str) -> Callable[[Path, Path], None]:
    """The right workbook with ``part`` moved to the front of the zip (the workbook part and
    its relationships, which openpyxl writes last, then come after it)."""

    def make(right: Path, path: Path) -> None:
        with zipfile.ZipFile(right) as old, zipfile.ZipFile(path, "w") as new:
            infos = sorted(old.infolist(), key=lambda info: info.filename != part)
            for info in infos:
                data = old.read(info)
                if info.filename == _SHEET:
                    data = data.replace(b"</row>", b"</rox>", 1)
                new.writestr(info, data)

    return make


def _expat_place(path: Path, part: str) -> str:
    """Where expat alone finds ``part`` of ``path`` broken: line and column, counted from 1
    as a text editor counts them."""
    parser = expat.ParserCreate()
    with zipfile.ZipFile(path) as z, pytest.raises(expat.ExpatError) as caught:
        parser.Parse(z.read(part), True)
    return f"line {caught.value.lineno:,}, column {caught.value.offset + 1:,}"


_BROKEN_XML = {  # the damage, the part it is in, and the part in the learner's words
    "sheet-mismatched-tag": (
        _sheet(b"</row>", b"</rox>"),
        _SHEET,
        "the file's XML for the sheet 'Neuron' is broken at ",
    ),
    "sheet-cut-short": (
        _part_broken(_SHEET, lambda d: d[: len(d) // 2]),
        _SHEET,
        "the file's XML for the sheet 'Neuron' stops unfinished at ",
    ),
    "sheet-before-workbook-in-zip": (
        _first_in_zip(_SHEET),
        _SHEET,
        "the file's XML for the sheet 'Neuron' is broken at ",
    ),
    "workbook-part": (
        _part_broken("xl/workbook.xml", lambda d: d.replace(b"</sheets>", b"</sheet>", 1)),
        "xl/workbook.xml",
        "the file's XML for the workbook's list of sheets and names is broken at ",
    ),
    "content-types": (
        _part_broken("[Content_Types].xml", lambda d: d[:-9]),
        "[Content_Types].xml",
        "the file's XML for the list of what the file holds stops unfinished at ",
    ),
}


@pytest.mark.parametrize("kind", _BROKEN_XML, ids=list(_BROKEN_XML))
def test_broken_xml_is_told_by_the_sheets_title_and_where_in_plain_words(
    kind: str, right: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A worksheet whose XML was edited by hand was told "is damaged and cannot be read (its
    part xl/worksheets/sheet1.xml is not well-formed XML: mismatched tag at line 1)": the
    learner knows their sheet as 'Neuron', never the zip's part, and expat's words say
    nothing to them. The sheet is named by its title (read from the workbook part even where
    that comes after the sheet in the zip, as openpyxl writes it), another part by what it
    is for; the place is expat's, counted from 1 (a column too: the whole sheet is on one
    line), with the usual cause: in verify, the web page and grade's feedback alike."""
    make, part, words = _BROKEN_XML[kind]
    path = tmp_path / "hw" / "hw.xlsx"
    path.parent.mkdir()
    make(right, path)
    said = _verify(path, capsys)
    assert f"{words}{_expat_place(path, part)} (the usual cause is a file " in said, said
    assert "xl/" not in said and "part" not in said and "XML:" not in said, said
    assert _CLASS_NAME.search(said) is None, said
    assert "save it again as .xlsx or .ods" in said and said.endswith("hand in that file."), said
    named = said.replace(str(path), path.name)
    assert web_page(path) == named
    assert named in moodle_feedback(path)


def _out_of_memory(*_args: object, **_kwargs: object) -> None:
    raise MemoryError


_MEMORY_RUNS_OUT = {  # where reading a file may run out of memory
    "opening the zip": "sheetgen.workbook.safety.vet.container_kind",
    "scanning a part": "sheetgen.workbook.safety.xmlscan.XmlScan.parse",
    "reading rows": "sheetgen.workbook.safety.sheetpass.read_rows",
    "reading the book": "sheetgen.workbook.safety.vet.read_book",
    "checking the cells": "sheetgen.check.verify.check",
    "evaluating the cells": "sheetgen.engine.evaluate.Evaluator.fill",
    "diagnosing the verdicts": "sheetgen.check.verify.diagnose",
}


@pytest.mark.parametrize("where", _MEMORY_RUNS_OUT.values(), ids=list(_MEMORY_RUNS_OUT))
def test_a_file_too_large_for_the_memory_is_not_called_damaged(
    where: str,
    right: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory running out while the file was scanned said it "is damaged or incomplete
    (perhaps cut short while it was downloaded)", while it was read that it "needs more
    memory to load than is available" (as a hostile file's refusal), and while its cells
    were checked "internal error (MemoryError: )": a learner would save and hand in a whole
    file again, in vain. It is told as a file too large to check on
    this machine, not damaged (exit 2: it could not be checked); on the web page, as the
    server's cap on one check, which the teacher can raise."""
    path = tmp_path / "hw" / "hw.xlsx"
    path.parent.mkdir()
    path.write_bytes(right.read_bytes())
    monkeypatch.setattr(where, _out_of_memory)
    said = _verify(path, capsys)
    assert said == (
        f"{path} is too large to check on this machine: checking it needs more memory than "
        "is free (the file itself is not damaged); check it where more memory is free "
        "(close other programs, or use a larger computer)."
    )
    assert web_page(path) == (
        "hw.xlsx is a large sheet that needs more memory than the server gives one check: "
        "the teacher can raise it with --check-memory."
    )
    assert said.replace(str(path), path.name) in moodle_feedback(path)


def test_roster_file_names_drop_emoji_and_symbols_rather_than_spell_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A roster name with an emoji made `s003-Zoe_slight_smile_Aero.xlsx` (anyascii spells
    🙂 ":slight_smile:", © "(C)", ★ "*", a flag its letters): emoji and symbols are no part
    of a name; its letters are still transliterated (Zoë -> Zoe, 李 -> Li)."""
    roster = tmp_path / "class.csv"
    roster.write_text(
        "id,name\ns003,Zoë 🙂 Ærø\ns004,李 Wei 👩‍💻\ns005,★ Renée© 🇫🇷 ½\ns006,🙂🙂\n",
        encoding="utf-8",
    )
    out = tmp_path / "hand-out"
    code = main(["build", "--exercise", "--roster", str(roster), "-o", str(out), "-q"])
    assert code == 0, capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == [
        "s003-Zoe_Aero.xlsx",
        "s004-Li_Wei.xlsx",
        "s005-Renee_1_2.xlsx",
        "s006.xlsx",
    ]


def _merged(path: Path) -> None:
    """Few cells, one merged range covering many (openpyxl makes a cell of each)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = 1
    sheet.merge_cells("C3:L52")
    book.save(path)


def _rows(path: Path) -> None:
    """More rows than cells: rows that only have a height."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = 1
    for row in range(2, 400):
        sheet.row_dimensions[row].height = 20
    book.save(path)


def _network(path: Path) -> None:
    build(path, "network:layers=4-8-1")


def _suggested(capsys: pytest.CaptureFixture[str], path: Path, limit: int) -> int | None:
    """The figure `verify --limit max_cells=limit` suggests, or None when it is not refused
    for max_cells."""
    import re

    main(["verify", str(path), "--variants", "0", "--limit", f"max_cells={limit}"])
    err = capsys.readouterr().err
    found = re.search(r"--limit max_cells=(\S+?)\)", err)
    if found is None:
        assert "max_cells" not in err, err
        return None
    return int(found.group(1))


@pytest.mark.parametrize("make", [_network, _merged, _rows])
def test_the_cells_a_refusal_suggests_are_what_lets_the_file_through(
    make: Callable[[Path], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`verify BIG.xlsx --limit max_cells=100` was told "a file you trust passes with --limit
    max_cells=N": the scan stops at the first cell past the limit, so the figure it needs was
    never known. It is the exact figure: that many lets it through, one fewer does not."""
    path = tmp_path / "big.xlsx"
    make(path)
    needed = _suggested(capsys, path, 100)
    assert needed is not None and needed > 100
    assert _suggested(capsys, path, needed) is None
    assert _suggested(capsys, path, needed - 1) == needed


def _suggests(
    capsys: pytest.CaptureFixture[str], path: Path, name: str, limit: float
) -> float | None:
    """The figure `verify --limit name=limit` suggests for ``name``, or None when it is not
    refused for ``name``."""
    import re

    main(["verify", str(path), "--variants", "0", "--limit", f"{name}={limit}"])
    err = capsys.readouterr().err
    assert err.count("\n") <= 1, err
    found = re.search(rf"--limit {name}=(\S+?)\)", err)
    if found is None:
        assert name not in err, err
        return None
    return float(found.group(1))


def _ods_cells(path: Path) -> None:
    """Repeated rows of repeated cells, as LibreOffice writes a filled-down block."""
    from .test_ods import number, ods, table

    cells = number(1.0, number_columns_repeated="3") + number(2.0)
    ods(
        path,
        table("S", f'<table:table-row table:number-rows-repeated="40">{cells}</table:table-row>'),
    )


def _hostile(make: str, **options: int) -> Callable[[Path], None]:
    def made(path: Path) -> None:
        from . import hostile

        built: Path = getattr(hostile, make)(path.parent, **options)
        built.rename(path)

    return made


_PASSES_STOP = {
    "ods-cells": ("max_cells", _ods_cells, 100),
    "ods-rows": ("max_cells", _ods_cells, 30),
    "elements": ("max_xml_elements", _network, 100),
    "ods-elements": ("max_xml_elements", _ods_cells, 5),
    "depth": ("max_xml_depth", _hostile("deep_nesting", depth=150), 100),
    "text-in-runs": ("max_text_chars", _hostile("many_runs_string", runs=6, run_chars=900), 1000),
    "total-bytes": ("max_total_bytes", _network, 1000),
    "shared-formulas": (
        "max_shared_formula_chars",
        _hostile("shared_formula_flood", cells=50, length=100),
        1000,
    ),
    "merged-links": ("max_merge_link_pairs", _hostile("merges_and_links", count=40), 100),
}


@pytest.mark.parametrize("case", _PASSES_STOP, ids=list(_PASSES_STOP))
def test_every_limit_a_refusal_names_suggests_the_figure_that_lets_the_file_through(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`max_cells` of an .ods, `max_xml_elements`, `max_xml_depth`, `max_text_chars`,
    `max_total_bytes`, `max_shared_formula_chars` and `max_merge_link_pairs` suggested
    "--limit NAME=N": the pass stops where the file breaches the limit. The figure is counted
    (the limit lifted or measured, every other holding): that much lets the file through,
    and it is exact (one less is refused with the same figure)."""
    name, make, limit = _PASSES_STOP[case]
    path = tmp_path / "big.xlsx"
    make(path)
    needed = _suggests(capsys, path, name, limit)
    assert needed is not None and needed > limit
    assert _suggests(capsys, path, name, needed) is None
    assert _suggests(capsys, path, name, needed - 1) == needed


def test_a_string_too_long_to_measure_safely_gets_a_figure_that_surely_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A string whose raw bytes run on past what expat may buffer between two `>` is not
    measured (its tag could be that long, all held in memory): the largest part stands for
    it, which lets the file through."""
    from . import hostile

    path = hostile.long_incompressible_string(tmp_path, chars=700_000)
    needed = _suggests(capsys, path, "max_text_chars", 1000)
    assert needed is not None and needed >= 700_000
    assert _suggests(capsys, path, "max_text_chars", needed) is None


def test_an_ods_over_a_limit_is_told_to_a_learner_as_the_teachers_to_raise(
    tmp_path: Path,
) -> None:
    """An .ods past max_cells was worded apart ("counting repeated ones; --limit
    max_cells=N raises the limit"): the web page told a learner a flag to pass, where an
    .xlsx's refusal says the limit is the teacher's to raise."""
    from .test_ods import number, ods, table

    row = '<table:table-row table:number-rows-repeated="4">' + number(1.0) + "</table:table-row>"
    path = ods(tmp_path / "upload-1.ods", table("S", row))
    job = {"do": "check", "path": str(path), "name": "mine.ods"}
    said = work.handle(job, configured_limits(["max_cells=3"]))["error"]
    assert said.startswith("mine.ods has more than 3 cells"), said
    assert said.endswith("which your teacher can raise: --limit max_cells=4)."), said
    assert "raises the limit" not in said and "you trust" not in said, said


def test_a_learner_with_two_copies_of_the_sheet_is_not_told_a_flag(
    right: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A workbook holding the sheet twice told the web page's learner "(--sheet NAME judges
    another)", an option they cannot pass: they are told what they can do instead; the
    command line still names the option."""
    import openpyxl

    book = openpyxl.load_workbook(right)
    book.copy_worksheet(book.worksheets[0])
    path = tmp_path / "twice.xlsx"
    book.save(path)
    main(["verify", str(path)])
    assert "(--sheet NAME judges another)" in capsys.readouterr().out
    job = {"do": "check", "path": str(path), "name": "mine.xlsx"}
    noted = work.handle(job, configured_limits())["report"]["sheet_choice"]
    assert "also holds the layout" in noted and "--" not in noted, noted
    assert noted.endswith(
        "(to have another judged, delete the copies you did not mean to hand in)."
    ), noted


def test_a_learner_past_several_limits_is_told_them_all_as_the_teachers_to_raise(
    tmp_path: Path,
) -> None:
    """The web page tells a learner each limit their file is past, in one sentence, as the
    teacher's to raise (the options a teacher's one run passes them all with)."""
    from . import hostile

    path = hostile.cells_and_a_long_string(tmp_path, "upload-1.xlsx")
    job = {"do": "check", "path": str(path), "name": "mine.xlsx"}
    said = work.handle(job, configured_limits(["max_cells=100", "max_text_chars=1000"]))["error"]
    assert said.startswith("mine.xlsx has, in the sheet 'Sheet', a piece of text longer"), said
    assert said.endswith(
        "(the limits max_text_chars and max_cells, which your teacher can raise: "
        "--limit max_text_chars=5000 --limit max_cells=201)."
    ), said
    assert "you trust" not in said and said.count("\n") == 0, said
