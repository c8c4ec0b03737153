"""LibreOffice's own .ods and .xlsm files verify exactly as its .xlsx files do.

Each family (the article, a variant, a network, a training run, exercises) is built, then
opened and saved by LibreOffice as .xlsx, .ods (filter ``calc8``) and .xlsm; the three
reports must be the same, statuses and numbers, bar the file name. The same learner edits
made in LibreOffice (a wrong formula, a typed number, a row inserted) get the same verdicts
whichever format the learner saves in.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from sheetgen import a1, build
from sheetgen.check.verify import verify_workbook
from sheetgen.cli import main
from sheetgen.errors import SheetgenError
from sheetgen.layouts.layout import Layout
from sheetgen.report.render import to_json
from sheetgen.workbook.openformula import EXCEL_NAMES, to_excel
from sheetgen.workbook.safety import read_checked

from .conftest import resolve
from .support import libreoffice as lo

pytestmark = pytest.mark.libreoffice

FAMILIES: dict[str, list[str]] = {
    "article": [],
    "variant": ["--difference", "central"],
    "network": ["network", "--layers", "2,3,1"],
    "training": ["training", "--steps", "4"],
    "data training": ["training", "--data", "xor", "--batch", "3", "--steps", "3"],
    "exercise": ["--exercise"],
    "network exercise": ["network", "--layers", "2,3,1", "--exercise"],
}


def report(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(to_json(verify_workbook(path)))
    out.pop("path")
    return out


def outcome(path: Path) -> dict[str, Any]:
    """The report, or the sentence verify refuses with (the file's name left out)."""
    try:
        return report(path)
    except SheetgenError as exc:
        return {"refused": str(exc).replace(str(path), "FILE"), "ok": False}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_verifies_the_same_in_every_format(tmp_path: Path, family: str) -> None:
    source = tmp_path / "built.xlsx"
    assert main(["build", *FAMILIES[family], "-o", str(source)]) == 0
    saved = {}
    for suffix in (".xlsx", ".ods", ".xlsm"):
        saved[suffix] = tmp_path / "saved" / f"{family.replace(' ', '_')}{suffix}"
        saved[suffix].parent.mkdir(exist_ok=True)
        lo.recalculate(source, saved[suffix])
    with zipfile.ZipFile(saved[".ods"]) as zf:
        assert zf.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
    expected = report(saved[".xlsx"])
    assert report(saved[".ods"]) == expected
    assert report(saved[".xlsm"]) == expected  # no macro part, so no word of macros
    assert not any("macro" in w for w in expected["warnings"])


def edited(tmp_path: Path, layout: Layout, suffix: str, **how: Any) -> Path:
    source = tmp_path / "article.xlsx"
    if not source.exists():
        build(source)
    out = tmp_path / f"{len(list(tmp_path.iterdir()))}{suffix}"
    lo.edit(source, out, how.get("edits", {}), insert_rows=how.get("insert_rows", ()))
    return out


def _edits(layout: Layout) -> dict[str, dict[str, Any]]:
    at = {q: c.at for q, c in layout.by_quantity.items()}
    below = a1.split(at["net"])[0] + 1
    return {
        "wrong formula": {"edits": {at["output"]: resolve(layout, "=TANH({net})*2")}},
        "typed number": {"edits": {at["net"]: 0.8}},
        "row inserted": {"insert_rows": [below]},
        "row inserted, then a wrong formula": {
            "insert_rows": [below],
            "edits": {at["loss"]: resolve(layout, "={error}^2")},
        },
    }


@pytest.mark.parametrize(
    "edit", ["wrong formula", "typed number", "row inserted", "row inserted, then a wrong formula"]
)
def test_the_same_edit_gets_the_same_verdict_in_ods(
    tmp_path: Path, layout: Layout, edit: str
) -> None:
    how = _edits(layout)[edit]
    as_xlsx = outcome(edited(tmp_path, layout, ".xlsx", **how))
    as_ods = outcome(edited(tmp_path, layout, ".ods", **how))
    assert as_ods == as_xlsx
    if edit != "row inserted":
        assert not as_xlsx["ok"]


def test_xlsm_warns_of_macros_only_when_a_macro_part_exists(tmp_path: Path) -> None:
    plain = tmp_path / "plain.xlsm"
    lo.recalculate(build(tmp_path / "a.xlsx"), plain)
    assert verify_workbook(plain).warnings == ()
    with_vba = tmp_path / "vba.xlsm"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(with_vba, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really VBA")
    checked = verify_workbook(with_vba)
    assert checked.ok
    assert checked.warnings == ("The file contains macros; they were neither loaded nor run.",)


def test_function_names_translate_as_libreoffice_writes_them_into_xlsx(tmp_path: Path) -> None:
    """An .ods with one call of each renamed function (and of the article's own), saved by
    LibreOffice as .xlsx: each name there is the one the translator gives."""
    names = [*sorted(EXCEL_NAMES), "TANH", "EXP", "MAX", "SUM", "IF", "POWER", "ABS", "SQRT"]
    rows = "".join(
        f'<table:table-row><table:table-cell table:formula="of:={name}(1)"/></table:table-row>'
        for name in names
    )
    from .test_ods import ods, table

    path = ods(tmp_path / "names.ods", table("F", rows))
    xlsx = tmp_path / "names.xlsx"
    lo.recalculate(path, xlsx)
    written = read_checked(xlsx).book.sheets[0].cells
    for row, name in enumerate(names, start=1):
        formula = written[a1.name(row, 1)].formula
        assert formula is not None
        ours = to_excel(f"of:={name}(1)")
        assert ours.partition("(")[0].upper() == formula.partition("(")[0].upper(), name


def test_a_link_to_another_file_in_an_ods_is_named_never_followed(
    tmp_path: Path, layout: Layout
) -> None:
    planted = build(tmp_path / "other.xlsx")
    free = a1.name(a1.split(layout.by_quantity["loss"].at)[0] + 40, 1)
    link = f"='{planted.parent.as_uri()}/[{planted.name}]{layout.sheet}'!A1*2"
    path = edited(tmp_path, layout, ".ods", edits={free: link})
    with zipfile.ZipFile(path) as zf:
        assert b"#$" in zf.read("content.xml")  # LibreOffice's own ['file:...'#$Sheet.A1]
    checked = verify_workbook(path)
    assert checked.ok
    assert any(free in w and "another workbook" in w for w in checked.warnings)
