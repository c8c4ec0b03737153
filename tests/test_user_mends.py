"""What a user trial found users trip over, each test the smallest reproducer of one problem:
a damaged file's sentence, roster-made file names, the figure `--limit` suggests."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

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
    assert "which your teacher can raise: --limit max_cells=" in said, said
    assert "raises the limit" not in said and "you trust" not in said, said
