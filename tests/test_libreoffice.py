"""LibreOffice as the independent judge: recompute, edit and render through a real app.

Values are read back with ``openpyxl.load_workbook(data_only=True)`` and compared with
Python's own floating-point maths. LibreOffice stores 15 significant digits, hence the
relative tolerance of 1e-14 instead of exact equality.

Without LibreOffice the module is skipped, unless SHEETGEN_REQUIRE_LIBREOFFICE=1 (CI),
where a missing LibreOffice must be an error and not a quiet skip.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from sheetgen.errors import InputFileError, UsageError

from .support import libreoffice as lo

pytestmark = pytest.mark.libreoffice

REL = 1e-14
SHEET = "Neuron"


# --------------------------------------------------------------------------- the sheet


def build_neuron(path: Path) -> Path:
    """A cut-down version of the article's sheet: inputs, forward pass, gradients, faux row."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    cells: dict[str, object] = {
        "B2": 0.4, "C2": 0.5, "D2": 0.6, "G2": 0.7,
        "E2": "=B2*C2+D2", "F2": "=TANH(E2)", "H2": "=F2-G2", "I2": "=H2^2/2",
        "B3": "=C2", "C3": "=B2", "E3": "=1-F2^2", "F3": "=H2",
        "B4": "=B3*E4", "C4": "=C3*E4", "D4": "=E4", "E4": "=E3*F4", "F4": "=F3",
        "E7": "=E2+Tiny", "F7": "=TANH(E7)", "G7": "=G2", "H7": "=F7-G7", "I7": "=H7^2/2",
        "K7": "=(I7-I2)/Tiny",
        "A11": "Tiny", "B11": 0.0001,
    }  # fmt: skip
    for ref, value in cells.items():
        ws[ref] = value
    wb.defined_names["Tiny"] = DefinedName("Tiny", attr_text=f"{SHEET}!$B$11")
    wb.save(path)
    return path


def neuron_maths(
    b2: float = 0.4,
    c2: float = 0.5,
    d2: float = 0.6,
    g2: float = 0.7,
    tiny: float = 0.0001,
    f2: float | None = None,
    e3: Callable[[float], float] = lambda out: 1 - out**2,
) -> dict[str, float]:
    """The same sheet in Python, formula by formula, in the same order of operations."""
    e2 = b2 * c2 + d2
    f2 = math.tanh(e2) if f2 is None else f2
    h2 = f2 - g2
    i2 = h2**2 / 2
    e3v = e3(f2)
    e4 = e3v * h2
    e7 = e2 + tiny
    h7 = math.tanh(e7) - g2
    i7 = h7**2 / 2
    return {
        "E2": e2, "F2": f2, "H2": h2, "I2": i2, "E3": e3v, "E4": e4,
        "B4": c2 * e4, "C4": b2 * e4, "D4": e4, "E7": e7, "I7": i7, "K7": (i7 - i2) / tiny,
    }  # fmt: skip


def cached(path: Path) -> dict[str, Any]:
    """Every cached value LibreOffice stored, by cell reference."""
    ws = openpyxl.load_workbook(path, data_only=True)[SHEET]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def formulas(path: Path) -> dict[str, Any]:
    ws = openpyxl.load_workbook(path)[SHEET]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def assert_values(path: Path, expected: dict[str, float]) -> None:
    got = cached(path)
    wrong = {
        ref: (got.get(ref), want)
        for ref, want in expected.items()
        if not isinstance(got.get(ref), float | int)
        or not math.isclose(got[ref], want, rel_tol=REL, abs_tol=0.0)
    }
    assert not wrong, f"cell: (LibreOffice, Python) {wrong}"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def neuron(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_neuron(tmp_path_factory.mktemp("neuron") / "neuron.xlsx")


@pytest.fixture(scope="module")
def recalculated(neuron: Path) -> Path:
    dst = neuron.with_name("recalculated.xlsx")
    lo.recalculate(neuron, dst)
    return dst


@pytest.fixture
def office_groups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Record the process group of every soffice started, and prove none survives.

    Also checks that no ``OSL_PIPE_*`` socket of theirs is left in /tmp.
    """
    started: list[int] = []
    pipes: list[Path] = []
    original = lo._Office.__init__

    def recording_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        started.append(self._proc.pid)
        pipes.extend(Path("/tmp", f"OSL_PIPE_{os.getuid()}_{n}") for n in self._pipe_names)

    monkeypatch.setattr(lo._Office, "__init__", recording_init)
    yield started

    def left() -> list[str]:
        return [
            f"{pid} {comm} ({state})"
            for pgid in started
            for pid in lo._process_group(pgid)
            for comm, state in [_comm_state(pid)]
            # gpgme (used by LibreOffice) double-forks gpgconf/gpg, so those are orphaned
            # to PID 1 by design; when they show up here they are dead zombies waiting for
            # init to reap them, nothing we started and nothing we could reap.
            if state not in ("Z", "gone") or comm in ("soffice.bin", "oosplash")
        ]

    # On a loaded machine oosplash may not exit within the 2 s ``_kill_group`` gives it
    # to reap its killed soffice.bin; killed then, it orphans that (dead) child to PID 1,
    # which reaps it a moment later. Anything still there after 5 s was left behind.
    leftovers, give_up = left(), time.monotonic() + 5.0
    while leftovers and time.monotonic() < give_up:
        time.sleep(0.05)
        leftovers = left()
    assert not leftovers, f"soffice processes left behind: {leftovers}"
    assert not [p for p in pipes if p.exists()], "stale LibreOffice pipes left in /tmp"


def _comm_state(pid: int) -> tuple[str, str]:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "?", "gone"
    return stat[stat.find("(") + 1 : stat.rfind(")")], stat[stat.rfind(")") + 2]


def rewrite_cell_xml(src: Path, dst: Path, ref: str, new_value: str) -> None:
    """Copy an .xlsx, changing one cell's stored <v> in the XML and nothing else."""
    pattern = re.compile(rb'(<c r="' + ref.encode() + rb'"[^>]*>(?:<f[^<]*</f>)?<v>)[^<]*(</v>)')
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, n = pattern.subn(rb"\g<1>" + new_value.encode() + rb"\g<2>", data)
                assert n == 1, f"{ref} not found in {src.name}"
            zout.writestr(item, data)


# --------------------------------------------------------------------------- recalculate


def test_recalculate_matches_python(recalculated: Path) -> None:
    assert_values(recalculated, neuron_maths())
    assert cached(recalculated)["B11"] == 0.0001
    # Formulas and the defined name survive the round trip through LibreOffice.
    assert formulas(recalculated)["K7"] == "=(I7-I2)/Tiny"
    assert "Tiny" in openpyxl.load_workbook(recalculated).defined_names


def test_recalculate_ignores_stale_cached_values(recalculated: Path, tmp_path: Path) -> None:
    # B2's input becomes 0.9 while every formula cell still caches the 0.4 results:
    # exactly what a file saved by one app and edited by another can look like.
    stale = tmp_path / "stale.xlsx"
    rewrite_cell_xml(recalculated, stale, "B2", "0.9")
    assert cached(stale)["E2"] == pytest.approx(0.8), "the fixture must really be stale"

    fresh = tmp_path / "fresh.xlsx"
    lo.recalculate(stale, fresh)
    assert_values(fresh, neuron_maths(b2=0.9))


def test_recalculate_ignores_stale_formula_result(recalculated: Path, tmp_path: Path) -> None:
    stale = tmp_path / "stale.xlsx"
    rewrite_cell_xml(recalculated, stale, "F2", "42")
    assert cached(stale)["F2"] == 42
    fresh = tmp_path / "fresh.xlsx"
    lo.recalculate(stale, fresh)
    assert_values(fresh, neuron_maths())


def test_concurrent_calls_each_get_their_own_office(
    neuron: Path, tmp_path: Path, office_groups: list[int]
) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            lo.edit(neuron, tmp_path / f"out{i}.xlsx", {"B2": 0.1 * (i + 1)}, sheet=SHEET)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(office_groups)) == 3
    for i in range(3):
        assert_values(tmp_path / f"out{i}.xlsx", neuron_maths(b2=0.1 * (i + 1)))


def test_timeout_kills_libreoffice(neuron: Path, tmp_path: Path, office_groups: list[int]) -> None:
    dst = tmp_path / "never.xlsx"
    with pytest.raises(lo.LibreOfficeTimeoutError, match=r"within 0\.3 s"):
        lo.recalculate(neuron, dst, timeout=0.3)
    assert office_groups, "soffice should have been started"
    assert not dst.exists()


def test_unreadable_input_is_an_input_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.xlsx"
    bogus.write_text("this is not a workbook\n")
    with pytest.raises(InputFileError, match="could not open"):
        lo.recalculate(bogus, tmp_path / "out.xlsx")
    with pytest.raises(InputFileError, match="does not exist"):
        lo.recalculate(tmp_path / "missing.xlsx", tmp_path / "out.xlsx")


# --------------------------------------------------------------------------- edit


def test_edit_changes_an_input(neuron: Path, tmp_path: Path, office_groups: list[int]) -> None:
    dst = tmp_path / "edited.xlsx"
    lo.edit(neuron, dst, {"C2": 1.5, "B11": 1e-6}, sheet=SHEET)
    assert_values(dst, neuron_maths(c2=1.5, tiny=1e-6))
    assert formulas(dst)["E2"] == "=B2*C2+D2"


def test_edit_sets_a_formula(neuron: Path, tmp_path: Path) -> None:
    # The learner breaks the local gradient; everything downstream follows it.
    dst = tmp_path / "broken.xlsx"
    lo.edit(neuron, dst, {"E3": "=1-F2^3", "J1": '=IF(B2>0,"pos, really",Tiny)'})
    assert_values(dst, neuron_maths(e3=lambda out: 1 - out**3))
    assert formulas(dst)["E3"] == "=1-F2^3"
    # Excel syntax (comma separators, string literals with commas) is what gets typed.
    assert cached(dst)["J1"] == "pos, really"


def test_edit_types_a_number_over_a_formula(neuron: Path, tmp_path: Path) -> None:
    dst = tmp_path / "hardcoded.xlsx"
    lo.edit(neuron, dst, {"F2": 0.5, "A1": "a note", "A11": ""}, sheet=SHEET)
    assert_values(dst, neuron_maths(f2=0.5))
    after = formulas(dst)
    assert after["F2"] == 0.5, "the formula must be gone, replaced by the typed number"
    assert after["F7"] == "=TANH(E7)"
    assert after["A1"] == "a note"
    assert "A11" not in after


def test_edit_rejects_bad_requests(neuron: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no sheet named 'Nope'"):
        lo.edit(neuron, tmp_path / "out.xlsx", {"B2": 1.0}, sheet="Nope")
    with pytest.raises(UsageError, match="cell address"):
        lo.edit(neuron, tmp_path / "out.xlsx", {"B2:C3": 1.0})
    with pytest.raises(UsageError, match="finite"):
        lo.edit(neuron, tmp_path / "out.xlsx", {"B2": math.nan})
    assert not (tmp_path / "out.xlsx").exists()


# --------------------------------------------------------------------------- render


def test_render_produces_a_pdf(neuron: Path, tmp_path: Path) -> None:
    pdf = lo.render(neuron, tmp_path)
    assert pdf == tmp_path / "neuron.pdf"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 1000
    if lo.find_pdftoppm() is None:
        pytest.skip("pdftoppm not installed (poppler-utils); PDF checked, PNG not")
    png = lo.pdf_to_png(pdf, tmp_path / "neuron.png")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_recalculate_many_recomputes_every_file_in_one_run(
    recalculated: Path, tmp_path: Path, office_groups: list[int]
) -> None:
    """One LibreOffice for a batch, and stale caches ignored in each file (with LibreOffice's
    default profile a file that carries values keeps them: the batch would show ours)."""
    stale_input = tmp_path / "stale_input.xlsx"
    rewrite_cell_xml(recalculated, stale_input, "B2", "0.9")
    stale_result = tmp_path / "stale_result.xlsx"
    rewrite_cell_xml(recalculated, stale_result, "F2", "42")
    out = tmp_path / "out"
    out.mkdir()
    fresh = lo.recalculate_many([stale_input, stale_result], out)
    assert [p.name for p in fresh] == ["stale_input.xlsx", "stale_result.xlsx"]
    assert len(office_groups) == 1
    assert_values(fresh[0], neuron_maths(b2=0.9))
    assert_values(fresh[1], neuron_maths())
