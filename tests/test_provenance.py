"""Grades a teacher can stand behind: each hand-out signed for its learner, every file scored out
of its learner's hand-out, what is not theirs flagged with evidence, every learner of the roster
accounted for, and nothing of the teacher's or other learners' in what a learner sees."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import stat
import subprocess
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from sheetgen import build, learner_by_code, learner_code, read_codes, verify_workbook
from sheetgen.cli import main
from sheetgen.errors import UsageError
from sheetgen.teacher import exercise
from sheetgen.teacher.exercise import build_class
from sheetgen.teacher.grade import grade_class
from sheetgen.teacher.provenance import class_key, read_found, read_manifest
from sheetgen.writer.cached_values import save_with_cached_values

ROSTER = "id,name\ns001,José Núñez\ns002,Björn Þórsson\nu12,Øystein Ærø\ns004,Ann Lee\n"
CODE = re.compile(r"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")


@pytest.fixture(scope="module")
def term(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A roster build: ``hand-out/`` and ``hand-out-keys/`` (hints off)."""
    base = tmp_path_factory.mktemp("term")
    (base / "class.csv").write_text(ROSTER, encoding="utf-8")
    build_class(base / "class.csv", base / "hand-out", hints=False)
    return base


def _copy_of(term: Path, tmp_path: Path) -> Path:
    base = tmp_path / "term"
    shutil.copytree(term, base)
    return base


def _fill_right(path: Path, key_path: Path) -> None:
    """Every blank of a single-neuron hand-out filled in with the key's formula."""
    key = openpyxl.load_workbook(key_path)
    wb = openpyxl.load_workbook(path)
    for row in (3, 4):
        for col in "BCDEF":
            wb.active[f"{col}{row}"] = key.active[f"{col}{row}"].value
    wb.save(path)


def _notes(path: Path) -> list[str]:
    ws = openpyxl.load_workbook(path).active
    return [c.comment.text for row in ws.iter_rows() for c in row if c.comment]


def test_names_are_transliterated_not_dropped(term: Path) -> None:
    names = sorted(p.name for p in (term / "hand-out").iterdir())
    assert names == [
        "s001-Jose_Nunez.xlsx",
        "s002-Bjorn_Thorsson.xlsx",
        "s004-Ann_Lee.xlsx",
        "u12-Oystein_Aero.xlsx",  # anyascii: Ø -> O, Æ -> Ae
    ]


def test_codes_csv_columns_are_found_by_name_as_a_rosters(tmp_path: Path) -> None:
    codes = tmp_path / "codes.csv"  # a teacher's spreadsheet edit: columns moved, one added
    codes.write_text(
        "\ufeff Code ,Section,ID,Name\nknqc ysaa,A,s001,Ada\n,,,\nKNQC-YSAB,B,s002,\n", "utf-8"
    )
    assert read_codes(tmp_path) == read_codes(codes)  # the keys folder, or the file itself
    assert [(c.id, c.name, c.code) for c in read_codes(codes)] == [
        ("s001", "Ada", "KNQC-YSAA"),
        ("s002", "s002", "KNQC-YSAB"),  # a blank name is the id
    ]
    assert learner_by_code(tmp_path, "KNQCYSAB") == read_codes(codes)[1]
    codes.write_text("id;name;code\ns001;José;KNQC-YSAA\n", encoding="cp1252")  # Excel, de_DE
    assert [(c.id, c.name, c.code) for c in read_codes(codes)] == [("s001", "José", "KNQC-YSAA")]
    for text, message in [
        ("id,name\ns001,Ada\n", "id,name,code"),
        ("", "id,name,code"),
        ("id,name,code\ns001,Ada\n", "Line 2 .* needs an id and a code"),
        ("id,name,code\n\n", "no learner"),
    ]:
        codes.write_text(text)
        with pytest.raises(UsageError, match=message):
            read_codes(codes)
    with pytest.raises(UsageError, match=r"No codes\.csv"):
        read_codes(tmp_path / "elsewhere")


def test_codes_csv_and_the_class_key_are_the_teachers(term: Path) -> None:
    keys = term / "hand-out-keys"
    raw = (keys / "codes.csv").read_bytes()
    assert raw.startswith(b"id,name,code\n") and "Björn Þórsson".encode() in raw  # UTF-8
    codes = read_codes(keys)
    assert [c.id for c in codes] == ["s001", "s002", "u12", "s004"]
    assert all(CODE.match(c.code) for c in codes) and len({c.code for c in codes}) == 4
    secret = class_key(keys)
    assert all(learner_code(secret, c.id) == c.code for c in codes)
    assert learner_by_code(keys, codes[1].code.lower().replace("-", " ")) == codes[1]
    assert learner_by_code(keys, "2222-2222") is None
    assert stat.S_IMODE((keys / "class.key").stat().st_mode) == 0o600
    # The learner's hand-out carries their code, in the title cell's note; nobody else's.
    (note,) = [n for n in _notes(term / "hand-out" / "s002-Bjorn_Thorsson.xlsx") if "code" in n]
    assert codes[1].code in note and "Björn Þórsson" in note
    assert not any(c.code in note for c in codes if c.id != "s002")


def test_a_rerun_reuses_the_class_key_and_codes(term: Path, tmp_path: Path) -> None:
    base = _copy_of(term, tmp_path)
    before = (base / "hand-out-keys" / "class.key").read_bytes()
    codes = (base / "hand-out-keys" / "codes.csv").read_bytes()
    args = ["build", "--exercise", "--roster", str(base / "class.csv"), "-o"]
    assert main([*args, str(base / "hand-out")]) == 2  # exists: refused, whole
    assert main([*args, str(base / "hand-out"), "--force"]) == 0
    assert (base / "hand-out-keys" / "class.key").read_bytes() == before
    assert (base / "hand-out-keys" / "codes.csv").read_bytes() == codes


def test_a_roster_build_writes_all_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roster = tmp_path / "class.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    (tmp_path / "file").write_text("x")
    args = ["build", "--exercise", "--roster", str(roster), "-o", str(tmp_path / "ho")]
    assert main([*args, "--keys", str(tmp_path / "file" / "keys")]) == 2
    assert main([*args, "--keys", str(tmp_path / "ho" / "keys")]) == 2  # would be handed out
    assert not (tmp_path / "ho").exists()

    calls = []
    real = save_with_cached_values

    def failing(*a: object, **k: object) -> None:
        calls.append(1)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(exercise, "save_with_cached_values", failing)  # where it is used
    assert main(args) == 2
    assert not (tmp_path / "ho").exists() and not (tmp_path / "ho-keys").exists()
    monkeypatch.setattr(exercise, "save_with_cached_values", real)
    assert main(args) == 0  # nothing left behind blocks the retry
    assert len(list((tmp_path / "ho").iterdir())) == 4


def _submissions(term: Path, tmp_path: Path) -> Path:
    """s001 hands in a complete sheet, s002 another learner's hand-out, u12 their own filled
    in, with a parameter changed; s004 nothing; and a junk file that is no learner's."""
    down = tmp_path / "down"
    for who in ("s001", "s002", "u12"):
        (down / who).mkdir(parents=True)
    build(down / "s001" / "cheat.xlsx", input=0.34, weight=0.27, bias=0.38, target=0.39)
    shutil.copy(term / "hand-out" / "u12-Oystein_Aero.xlsx", down / "s002" / "mine.xlsx")
    own = down / "u12" / "neuron.xlsx"
    shutil.copy(term / "hand-out" / "u12-Oystein_Aero.xlsx", own)
    _fill_right(own, term / "hand-out-keys" / "u12-Oystein_Aero-key.xlsx")
    wb = openpyxl.load_workbook(own)
    wb.active["B2"] = 0.5  # the input: not the hand-out's
    wb.save(own)
    (down / "random.xlsx").write_text("junk")
    return down


def test_grading_flags_what_is_not_the_learners_own_and_scores_on_the_hand_out(
    term: Path, tmp_path: Path
) -> None:
    down = _submissions(term, tmp_path)
    result = grade_class(
        [down],
        workers=1,
        variants=0,
        roster=term / "class.csv",
        keys=term / "hand-out-keys",
    )
    rows = {r["id"]: r for r in result.rows()}
    assert set(rows) == {"s001", "s002", "u12", "s004"}
    cheat = rows["s001"]
    assert (cheat["points_possible"], cheat["score"]) == (10.0, 100.0)  # not 52
    assert "a complete sheet" in cheat["flags"] and "from no hand-out" in cheat["flags"]
    assert "input 0.34 (hand-out 0.29)" in cheat["flags"]
    assert "it is the hand-out of Øystein Ærø" in rows["s002"]["flags"]
    assert rows["u12"]["score"] == 100.0 and "input 0.5 (hand-out" in rows["u12"]["flags"]
    assert rows["s004"]["status"] == "missing" and rows["s004"]["points_possible"] == 10.0
    (junk,) = result.unmatched_rows()
    assert junk["status"] == "unmatched" and junk["points_possible"] == 10.0

    text = result.to_text()
    assert "Warning: José Núñez: a complete sheet" in text
    assert "1 learner of the roster handed in nothing: Ann Lee (s004)." in text
    assert "1 file matching no learner" in text and "3 workbooks:" in text
    doc = json.loads(result.to_json())
    assert [m["id"] for m in doc["missing"]] == ["s004"] and len(doc["unmatched"]) == 1
    assert any("complete sheet" in f["flags"] for f in doc["files"])
    table = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert [r["status"] for r in table][-2:] == ["missing", "unmatched"]

    canvas = list(csv.reader(io.StringIO(result.to_gradebook("canvas", points=10))))
    assert ["Ann Lee", "", "s004", "", "", ""] in canvas  # no grade, not a 0
    assert not any("random" in line for row in canvas for line in row)
    moodle = list(csv.reader(io.StringIO(result.to_gradebook("moodle"))))
    assert ["s004", "Ann Lee", "-", "No submission was received."] in moodle
    feedback = {row[0]: row[3] for row in moodle[1:]}
    assert all(str(down) not in f and "/" not in f for f in feedback.values())
    assert "Øystein" not in feedback["s002"] and "complete" not in feedback["s001"]


def test_the_html_report_shows_flags_missing_and_unmatched(term: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    down = _submissions(term, tmp_path)
    page = grade_class(
        [down], workers=1, variants=0, roster=term / "class.csv", keys=term / "hand-out-keys"
    ).to_html()
    assert "a complete sheet, not a hand-out" in page
    assert "Handed in nothing" in page and "Ann Lee" in page
    assert "match no learner of the roster" in page and "random.xlsx" in page


def _rewrite(path: Path, change: dict[str, bytes | None]) -> None:
    """Replace (bytes) or drop (None) parts of a workbook's zip."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for name, data in change.items():
        if data is None:
            parts.pop(name, None)
        else:
            parts[name] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def _part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def test_one_surviving_carrier_names_the_hand_out(term: Path, tmp_path: Path) -> None:
    manifest = read_manifest(term / "hand-out-keys")
    hand = term / "hand-out" / "s001-Jose_Nunez.xlsx"
    # As ExcelJS or a copied sheet: the custom properties and the note gone, the range name left.
    names_only = tmp_path / "names.xlsx"
    shutil.copy(hand, names_only)
    comments = [n for n in zipfile.ZipFile(hand).namelist() if n.startswith("xl/comments")]
    _rewrite(names_only, {"docProps/custom.xml": None, **dict.fromkeys(comments, None)})
    assert [(k, e.learner_id) for k, e in manifest.whose(read_found(names_only))] == [
        ("hand-out", "s001")
    ]
    # As Google Sheets: names and custom properties gone, the note left.
    note_only = tmp_path / "note.xlsx"
    shutil.copy(hand, note_only)
    workbook = re.sub(
        rb"<definedName name=\"SHEETGEN_SIG_[^<]*</definedName>",
        b"",
        _part(hand, "xl/workbook.xml"),
    )
    _rewrite(note_only, {"docProps/custom.xml": None, "xl/workbook.xml": workbook})
    found = read_found(note_only)
    assert not found.signatures and [e.learner_id for _, e in manifest.whose(found)] == ["s001"]
    assert read_found(note_only.read_bytes()) == found  # the bytes, when already read
    assert read_found(hand.read_bytes()) == read_found(hand) != found
    assert verify_workbook(note_only, variants=0).todo  # still a workbook to check


def test_an_edited_record_is_flagged_as_altered(term: Path, tmp_path: Path) -> None:
    down = tmp_path / "down" / "s001"
    down.mkdir(parents=True)
    forged = down / "neuron.xlsx"
    shutil.copy(term / "hand-out" / "s001-Jose_Nunez.xlsx", forged)
    (name,) = [n for n in zipfile.ZipFile(forged).namelist() if n.startswith("xl/comments")]
    xml = _part(forged, name)
    m = re.search(rb"sheetgen:1:([A-Za-z0-9_-]+)\.([0-9a-f]{32})", xml)
    assert m is not None
    record = json.loads(base64.urlsafe_b64decode(m[1] + b"=" * (-len(m[1]) % 4)))
    record["blanks"] = record["blanks"][:1]  # one cell to do instead of ten
    body = base64.urlsafe_b64encode(json.dumps(record).encode()).rstrip(b"=")
    _rewrite(forged, {name: xml.replace(m[1], body)})
    result = grade_class(
        [down.parent], workers=1, variants=0, roster=term / "class.csv", keys=term / "hand-out-keys"
    )
    (row,) = [r for r in result.rows() if r["id"] == "s001"]
    assert "altered, made up" in row["flags"] and row["points_possible"] == 10.0
    # Without the keys the record is not checked, but it stands out from the class's.
    for other in ("s002-Bjorn_Thorsson.xlsx", "u12-Oystein_Aero.xlsx"):
        shutil.copy(term / "hand-out" / other, down.parent / other)
    rows = grade_class([down.parent], workers=1, variants=0).rows()
    (row,) = [r for r in rows if r["id"] == "s001"]
    assert "its record names 1 cell to fill in, the class's hand-outs 10" in row["flags"]


def test_the_answer_key_handed_in_is_flagged(term: Path, tmp_path: Path) -> None:
    down = tmp_path / "down" / "s002"
    down.mkdir(parents=True)
    shutil.copy(term / "hand-out-keys" / "s002-Bjorn_Thorsson-key.xlsx", down / "n.xlsx")
    result = grade_class(
        [down.parent], workers=1, variants=0, roster=term / "class.csv", keys=term / "hand-out-keys"
    )
    (row,) = [r for r in result.rows() if r["id"] == "s002"]
    assert "the answer key of Björn Þórsson (s002)" in row["flags"]
    assert (row["score"], row["points_possible"]) == (100.0, 10.0)


def test_a_no_hints_hand_out_stays_hint_free_unless_the_teacher_asks(
    term: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wrong.xlsx"
    shutil.copy(term / "hand-out" / "s001-Jose_Nunez.xlsx", path)
    wb = openpyxl.load_workbook(path)
    wb.active["E3"] = "=1-F2"  # wrong: d output / d net
    wb.save(path)
    report = verify_workbook(path, variants=0)
    assert not any("Hint:" in c.explanation for c in report.cells)
    assert any(
        "Hint:" in c.explanation for c in verify_workbook(path, variants=0, hints=True).cells
    )
    feedback = tmp_path / "feedback.xlsx"
    assert main(["verify", str(path), "--annotate", str(feedback)]) == 1
    assert "Hint:" not in capsys.readouterr().out
    notes = [
        c.comment.text
        for row in openpyxl.load_workbook(feedback).active.iter_rows()
        for c in row
        if c.comment
    ]
    assert notes and not any("Hint:" in n or "1 - output" in n for n in notes)
    e3 = openpyxl.load_workbook(feedback).active["E3"].comment.text
    assert "should be" in e3 and "Hint" not in e3
    assert main(["verify", str(path), "--hints"]) == 1
    assert "Hint:" in capsys.readouterr().out


def test_the_record_survives_a_gnumeric_save(term: Path, tmp_path: Path) -> None:
    from .test_interop import needs

    ssconvert = shutil.which("ssconvert")
    needs("Gnumeric's ssconvert (apt install gnumeric)", ssconvert)
    assert ssconvert is not None
    out = tmp_path / "saved.xlsx"
    subprocess.run(
        [ssconvert, str(term / "hand-out" / "s002-Bjorn_Thorsson.xlsx"), str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    found = read_found(out)
    assert found.records and found.signatures and dict(found.properties)
    manifest = read_manifest(term / "hand-out-keys")
    assert [(k, e.learner_id) for k, e in manifest.whose(found)] == [("hand-out", "s002")]
    assert not manifest.forged(found)


def test_a_hand_out_that_lost_its_blank_marks_is_still_the_learners_own(
    term: Path, tmp_path: Path
) -> None:
    down = tmp_path / "down" / "u12"
    down.mkdir(parents=True)
    path = down / "neuron.xlsx"
    shutil.copy(term / "hand-out" / "u12-Oystein_Aero.xlsx", path)
    _fill_right(path, term / "hand-out-keys" / "u12-Oystein_Aero-key.xlsx")
    wb = openpyxl.load_workbook(path)
    del wb.defined_names["SHEETGEN_TODO"]
    for row in wb.active.iter_rows():
        for cell in row:
            if cell.comment is not None and cell.comment.text.startswith("To do:"):
                cell.comment = None
    wb.save(path)
    assert not verify_workbook(path, variants=0).exercise  # nothing marks the blanks now
    result = grade_class(
        [down.parent], workers=1, variants=0, roster=term / "class.csv", keys=term / "hand-out-keys"
    )
    (row,) = [r for r in result.rows() if r["id"] == "u12"]
    assert (row["score"], row["points_possible"], row["flags"]) == (100.0, 10.0, "")


def test_the_record_survives_an_exceljs_save(term: Path, tmp_path: Path) -> None:
    """ExcelJS keeps notes and range names and drops the custom properties: the hand-out is
    still its learner's, and still without hints."""
    from .test_interop import JS, needs

    node = shutil.which("node")
    needs("Node.js", node)
    needs("ExcelJS (npm ci --prefix tests/js)", (JS / "node_modules" / "exceljs").is_dir())
    assert node is not None
    out = tmp_path / "saved.xlsx"
    src = term / "hand-out" / "s001-Jose_Nunez.xlsx"
    subprocess.run(
        [node, str(JS / "save_workbook.js"), str(src), str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    found = read_found(out)
    assert found.records and found.signatures and not found.properties
    manifest = read_manifest(term / "hand-out-keys")
    assert [(k, e.learner_id) for k, e in manifest.whose(found)] == [("hand-out", "s001")]
    wb = openpyxl.load_workbook(out)
    wb.active["E3"] = "=1-F2"
    wb.save(out)
    assert not any("Hint:" in c.explanation for c in verify_workbook(out, variants=0).cells)


def _crc_forged(data: bytes, crc: int) -> bytes:
    """``data`` with its last four bytes chosen so that its CRC-32 is ``crc``: CRC-32 is affine
    over GF(2) in those bytes, so 32 probes and an elimination find them."""
    head = data[:-4]

    def crc_of(tail: int) -> int:
        return zlib.crc32(head + tail.to_bytes(4, "little"))

    zero = crc_of(0)
    columns = [crc_of(1 << bit) ^ zero for bit in range(32)]  # the linear part, column by column
    rows = [(columns[bit], 1 << bit) for bit in range(32)]  # (image, which tail bits made it)
    basis: dict[int, tuple[int, int]] = {}
    for image, tail in rows:
        for top in sorted(basis, reverse=True):
            if image >> top & 1:
                image ^= basis[top][0]
                tail ^= basis[top][1]
        if image:
            basis[image.bit_length() - 1] = (image, tail)
    want, tail = crc ^ zero, 0
    for top in sorted(basis, reverse=True):
        if want >> top & 1:
            want ^= basis[top][0]
            tail ^= basis[top][1]
    assert want == 0
    return head + tail.to_bytes(4, "little")


def test_a_part_met_before_is_remembered_by_its_bytes_not_its_checksum(
    term: Path, tmp_path: Path
) -> None:
    """Two notes parts of one name, size and CRC-32 but other records: the second file is read
    as it is alone, never credited with the first one's records (read from its bytes, when
    parts met before are remembered, and from its path, when nothing is)."""
    hand = term / "hand-out" / "s001-Jose_Nunez.xlsx"
    other = term / "hand-out" / "s002-Bjorn_Thorsson.xlsx"
    (name,) = [n for n in zipfile.ZipFile(hand).namelist() if n.startswith("xl/comments")]
    mine, theirs = _part(hand, name), _part(other, name)
    assert mine != theirs and b"sheetgen:1:" in theirs
    # s002's notes, padded or cut to s001's length, then given its CRC-32
    twin = (theirs + b" " * max(0, len(mine) - len(theirs)))[: len(mine) - 8]
    twin = _crc_forged(twin + b"<!---->\x00", zlib.crc32(mine))
    assert len(twin) == len(mine) and zlib.crc32(twin) == zlib.crc32(mine) and twin != mine
    forged = tmp_path / "forged.xlsx"
    shutil.copy(hand, forged)
    _rewrite(forged, {name: twin})
    alone = read_found(forged)
    assert read_found(hand.read_bytes()) == read_found(hand)
    assert read_found(hand.read_bytes()) == read_found(hand)  # its parts remembered now
    assert read_found(forged.read_bytes()) == alone != read_found(hand)


@pytest.mark.parametrize(
    "text",
    ['{"learners": [{"id": "s001"}]}', "{not json", '["a list"]', "\udcff"],
    ids=["a field missing", "not json", "not a record", "not utf-8"],
)
def test_a_damaged_hand_outs_record_is_one_sentence_without_an_exception_name(
    term: Path, tmp_path: Path, text: str
) -> None:
    """It was "Cannot read hand-outs.json (KeyError).": the exception's name told the teacher
    nothing; the sentence says what the file is not, and what to do."""
    keys = tmp_path / "keys"
    shutil.copytree(term / "hand-out-keys", keys)
    (keys / "hand-outs.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(UsageError) as caught:
        read_manifest(keys)
    said = str(caught.value)
    assert "is not the record of hand-outs a roster build writes" in said, said
    assert "rebuild the hand-outs with --roster" in said and "Error" not in said, said
