"""Hostile and broken files, end to end through ``sheetgen verify``.

``test_safety.py`` holds the safety layer to its promises; these tests hold the command a
teacher runs on strangers' files to them: exit 2 and one sentence, or the correct verdict when
the hostile part lies outside the layout — in a child process with 1 GiB of address space and
a timeout, so a regression fails instead of eating the machine.
"""

from __future__ import annotations

import io
import os
import random
import re
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetgen import SheetgenError, build, verify_workbook
from sheetgen.layouts.layout import Layout

from . import hostile
from .conftest import edit

BOUNDED = (
    "import resource, sys\n"
    "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
    "from sheetgen.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def verify_bounded(path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``sheetgen verify PATH`` in a child limited to 1 GiB, as a teacher's machine runs it."""
    return subprocess.run(
        [sys.executable, "-c", BOUNDED, "verify", str(path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=path.parent,  # not the checkout: the installed sheetgen is what runs
        check=False,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout[-500:], result.stderr[-2000:])
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sheetgen: "), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return lines[0]


HOSTILE: list[tuple[str, Callable[[Path], Path], str]] = [
    ("zip bomb", hostile.sheet_zip_bomb, "zip bomb"),
    ("bzip2 bomb", hostile.bzip2_bomb, "bzip2"),
    ("huge shared string", hostile.huge_shared_string, "zip bomb"),
    # verify's reader keeps only the cells a sheet holds: a merge over the whole grid counts
    # as every cell it covers, and max_cells refuses it.
    ("whole-sheet merge", hostile.whole_sheet_merge, "more than 300,000 cells (counting merged"),
    ("billion laughs", hostile.xml_entity_bomb, "XML entity"),
    ("encrypted", hostile.encrypted, "password-protected"),
    ("odt", lambda d: hostile.other_zip(d, "odt"), "OpenDocument text document (.odt), not a"),
    ("docx", lambda d: hostile.other_zip(d, "docx"), "Word"),
]


@pytest.mark.parametrize(("make", "fragment"), [pytest.param(m, f, id=n) for n, m, f in HOSTILE])
def test_hostile_file_exit_2_with_one_sentence(
    tmp_path: Path, make: Callable[[Path], Path], fragment: str
) -> None:
    path = make(tmp_path)
    before = path.read_bytes()
    line = one_sentence(verify_bounded(path, timeout=30))
    assert fragment.lower() in line.lower()
    assert path.read_bytes() == before


def test_symlink_to_dev_zero_is_never_read(tmp_path: Path) -> None:
    link = tmp_path / "zero.xlsx"
    link.symlink_to("/dev/zero")
    assert "is a device" in one_sentence(verify_bounded(link, timeout=30))


def test_limits_can_be_raised_by_users_who_know_their_files(tmp_path: Path) -> None:
    path = build(tmp_path / "a.xlsx")
    assert "more than 10 cells" in one_sentence(verify_bounded(path, "--limit", "max_cells=10"))
    assert "Unknown limit" in one_sentence(verify_bounded(path, "--limit", "cells=10"))


# ---- hostile parts outside the layout: the right verdict, and a word about them -------------


def test_external_link_formula_is_reported_never_followed(
    article: Path, tmp_path: Path, layout: Layout
) -> None:
    # A workbook the formula names, planted where a naive engine would find and read it.
    planted = build(tmp_path / "other.xlsx")
    net = layout.by_quantity["net"].at
    weight, bias = layout.by_quantity["weight"].at, layout.by_quantity["bias"].at
    for formula in (
        f"=[1]Neuron!B2*{weight}+{bias}",
        f"='{planted}'!B2*{weight}+{bias}",
        f"='../other.xlsx'!B2*{weight}+{bias}",
    ):
        wb = openpyxl.load_workbook(article)
        wb[layout.sheet][net] = formula
        wb.save(tmp_path / "linked.xlsx")
        report = verify_workbook(tmp_path / "linked.xlsx")
        cell = next(c for c in report.cells if c.cell == net)
        # Never followed, and (openpyxl saved no value for it) never judged: not checked.
        assert cell.status == "uncomputed", formula
        assert "another workbook" in cell.message, cell.message


def test_active_content_in_a_label_leaves_the_verdict_and_is_named(
    article: Path, tmp_path: Path, layout: Layout
) -> None:
    wb = openpyxl.load_workbook(article)
    label = layout.labels[-1].at  # a note cell the verifier does not need
    wb[layout.sheet][label] = "=cmd|' /C calc'!A0"
    wb[layout.sheet].parent.create_sheet("Web")["A1"] = '=WEBSERVICE("http://127.0.0.1:9/x")'
    wb.save(tmp_path / "dde.xlsx")
    report = verify_workbook(tmp_path / "dde.xlsx")
    assert report.ok
    text = " ".join(report.warnings)
    assert "DDE" in text and label in text and "WEBSERVICE" in text


def test_webservice_in_a_checked_cell_is_never_executed(
    article: Path, tmp_path: Path, layout: Layout
) -> None:
    path = edit(
        article,
        tmp_path / "w.xlsx",
        layout,
        {"loss": '={error}^2/2+WEBSERVICE("http://127.0.0.1:9/")'},
    )
    cell = next(c for c in verify_workbook(path).cells if c.quantity == "loss")
    assert cell.status == "uncomputed" and "WEBSERVICE" in cell.message


def test_macros_are_named_and_never_run(article: Path, tmp_path: Path) -> None:
    out = tmp_path / "macros.xlsm"
    with zipfile.ZipFile(article) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really VBA")
    report = verify_workbook(out)
    assert report.ok
    assert any("macros" in w for w in report.warnings)


def test_many_unrelated_cells_still_verify(tmp_path: Path) -> None:
    """200,000 extra values (and unrelated formulas) beside the layout: the right verdict."""
    path = build(tmp_path / "big.xlsx")
    wb = openpyxl.load_workbook(path)
    data = wb.create_sheet("Data")
    for i in range(200_000):
        data.cell(row=i // 20 + 1, column=i % 20 + 1, value=i * 0.5)
    calc = wb.create_sheet("Calc")
    for i in range(2_000):
        calc.cell(row=i + 1, column=1, value=f"=Data!A{i + 1}*2+ROW()")
    wb.save(path)
    result = verify_bounded(path, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"ok": true' in result.stdout


# ---- the verifier never crashes on a mangled copy of the article's workbook -----------------

ARTICLE_BYTES = build(Path(tempfile.mkdtemp()) / "a.xlsx").read_bytes()


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    data = ARTICLE_BYTES
    kind = draw(st.sampled_from(["truncate", "flip", "drop", "duplicate", "corrupt"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    if kind == "flip":
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 6))):
            buf[draw(st.integers(0, len(buf) - 1))] ^= draw(st.integers(1, 255))
        return bytes(buf)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = [(i.filename, z.read(i)) for i in z.infolist()]
    i = draw(st.integers(0, len(parts) - 1))
    if kind == "drop":
        del parts[i]
    elif kind == "duplicate":
        parts.append(parts[i])
    else:
        name, xml = parts[i]
        at = draw(st.integers(0, len(xml)))
        junk = draw(st.sampled_from([b"<", b"&amp", b"</c>", b"<f>1/0</f>", b"<v>x</v>", b""]))
        parts[i] = (name, xml[:at] + junk + xml[at + draw(st.integers(0, 30)) :])
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as z:
        warnings.simplefilter("ignore")  # duplicate names are the point
        for name, blob in parts:
            z.writestr(name, blob)
    return out.getvalue()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(data=mangled())
def test_verify_never_crashes_on_mangled_workbooks(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "mangled.xlsx"
        path.write_bytes(data)
        try:
            report = verify_workbook(path, variants=0)
        except SheetgenError as exc:
            assert str(exc).strip() and "\n" not in str(exc).strip()
        else:
            assert report.cells
    random.seed()  # hypothesis derandomises; leave the global generator as we found it


@pytest.mark.parametrize("part", ["xl/styles.xml", "xl/charts/chart1.xml", "xl/theme/theme1.xml"])
def test_an_xml_bomb_in_a_part_verify_never_parses_is_still_refused(
    tmp_path: Path, part: str
) -> None:
    """verify parses only relationships, the workbook, strings and worksheets; a bomb in
    styles or a chart cannot go off, but a file carrying one is hostile and is told so."""
    article = build(tmp_path / "article.xlsx")
    parts = hostile.read_parts(article)
    assert part in parts
    body = re.sub(rb"^<\?xml[^>]*\?>", b"", parts[part])
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>' + body
    path = hostile.rebuild(article, tmp_path / "bomb.xlsx", replace_parts={part: bomb})
    assert "XML entity declaration" in one_sentence(verify_bounded(path))


def test_a_worksheet_kept_in_an_unusual_part_is_refused_not_read_unvetted(tmp_path: Path) -> None:
    article = build(tmp_path / "article.xlsx")
    parts = hostile.read_parts(article)
    rels = parts["xl/_rels/workbook.xml.rels"].replace(
        b"worksheets/sheet1.xml", b"media/sheet1.xml"
    )
    path = hostile.rebuild(
        article,
        tmp_path / "moved.xlsx",
        replace_parts={"xl/_rels/workbook.xml.rels": rels},
        add={"xl/media/sheet1.xml": parts["xl/worksheets/sheet1.xml"]},
    )
    assert "unusual place (xl/media/sheet1.xml)" in one_sentence(verify_bounded(path))
