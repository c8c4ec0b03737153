"""Our files in readers other than LibreOffice: a schema validator, Gnumeric, ExcelJS, SheetJS.

Excel cannot run here, so the proof that a file opens without repair comes from the schema
(openxml-audit, from PyPI) and from independent applications: Gnumeric (``ssconvert``, from
Debian) recalculates every formula, and the Node libraries ExcelJS 4.4 and SheetJS (npm, into
``tests/js``) open the file and read every formula cell. Each family's build, an exercise
and an annotated copy are checked. A missing tool skips these tests, or fails them where CI
sets ``SHEETGEN_REQUIRE_READERS=1``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetgen import a1, annotate, build, verify_workbook
from sheetgen.check.diagnose import recorded_todo
from sheetgen.check.verify import tolerance
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.layouts.layout import SPEC_NAME, Layout
from sheetgen.teacher.exercise import build_class, build_exercise
from sheetgen.teacher.roster import Learner
from sheetgen.workbook.book import TEXT_LIMIT, Book, text_constant, text_formula
from sheetgen.workbook.xlsx import read_book

from .conftest import require_libreoffice
from .support import libreoffice as lo

JS = Path(__file__).parent / "js"
FAMILIES = {
    "single": "single_neuron",
    "neuron": "neuron:inputs=2,activation=sigmoid,difference=central",
    "network": "network:layers=2-3-1",
    "training": "training:steps=5",
    "network_training": "training:layers=2-2-1,steps=3",
    "adam_training": "training:layers=2-2-1,steps=3,optimizer=adam",
    "data_training": "training:layers=2-2-1,examples=4,batch=3,steps=3",
    "classifier": "network:layers=2-3-3,loss=cross-entropy",
    "classifier_training": "training:layers=2-2-1,steps=3,loss=cross-entropy",
    "data_classifier": "training:layers=2-2-1,examples=4,steps=3,loss=cross-entropy",
    "data_softmax": "training:layers=2-3-2,examples=4,batch=2,steps=2,loss=cross-entropy"
    ",optimizer=adam",
}
"""A small spec of every family: what the golden files and the reader checks are made of."""
EXERCISE = "network:layers=3-4-2"  # its blanks once took 432 characters to record
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"

FALSE_POSITIVES = {
    ("/xl/styles.xml", "Unexpected element 'b' found"),
    ("/xl/styles.xml", "Unexpected element 'i' found"),
    ("/xl/styles.xml", "Unexpected element 'color' found"),
}
"""openxml-audit findings that are the validator's mistake, not the file's: ECMA-376's
CT_Font is ``<xsd:choice maxOccurs="unbounded">`` (name, b, i, color, sz... in any order),
and openxml-audit checks it as a sequence; Excel's own files put ``<b/>`` before ``<sz>``."""


def needs(tool: str, found: object) -> None:
    """Skip without ``tool``, or fail where CI demands every reader."""
    if found:
        return
    if os.environ.get("SHEETGEN_REQUIRE_READERS") == "1":
        pytest.fail(f"SHEETGEN_REQUIRE_READERS=1 but {tool} is not installed", pytrace=False)
    pytest.skip(f"{tool} is not installed")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every family's build, an exercise (also as a roster's hand-out), and the exercise's
    annotated copy."""
    folder = tmp_path_factory.mktemp("interop")
    out = {key: build(folder / f"{key}.xlsx", spec) for key, spec in FAMILIES.items()}
    out["exercise"] = build_exercise(folder / "exercise.xlsx", EXERCISE)
    # A roster's hand-out: the learner and seed as custom document properties.
    learner = Learner("1001", "José Müller")
    out["roster"] = build_exercise(folder / "roster.xlsx", EXERCISE, learner=learner)
    # A signed roster hand-out without hints: the record in the title cell's note, the signature
    # as a named range and a custom property (sheetgen.teacher.provenance).
    roster = folder / "class.csv"
    roster.write_text("id,name\n1002,Zoë O'Brien\n", encoding="utf-8")
    build_class(roster, folder / "signed", EXERCISE, hints=False)
    out["signed"] = folder / "signed" / "1002-Zoe_O_Brien.xlsx"
    out["annotated"] = annotate(verify_workbook(out["exercise"]), folder / "annotated.xlsx")
    return out


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def book(path: Path) -> Book:
    return read_book(path.read_bytes())


def formula_cells(path: Path) -> Iterator[tuple[str, str, str, object]]:
    """(sheet, cell, formula, cached value) of every formula cell of ``path``."""
    for sheet in book(path).sheets:
        for at, cell in sheet.cells.items():
            if cell.formula:
                yield sheet.title, at, cell.formula, cell.value


# --------------------------------------------------------------------------- no external tool


def exercise_of(path: Path, spec: str) -> Path:
    """An exercise of ``spec``: its default blanks, or (a training run has none) two cells."""
    layout = resolve_layout(spec)
    default = "3,4" if any(a1.split(c.at)[0] == 3 for c in layout.checked) else None
    blanks = default or ",".join(c.at for c in layout.checked[:2])
    return build_exercise(path, spec, blanks=blanks)


def test_no_text_constant_passes_excels_limit(files: dict[str, Path]) -> None:
    """Excel (and Apache POI) refuse a text constant over 255 characters, in a cell's formula
    or a defined name; the specs and an exercise's blanks are recorded within it, readably."""
    exercises = {
        f"{key}.exercise": exercise_of(files[key].with_name(f"{key}.exercise.xlsx"), spec)
        for key, spec in FAMILIES.items()
    }
    for key, path in {**files, **exercises}.items():
        workbook = ElementTree.fromstring(parts(path)["xl/workbook.xml"])
        texts = [d.text or "" for d in workbook.iterfind("m:definedNames/m:definedName", NS)]
        texts += [f for _, _, f, _ in formula_cells(path)]
        for text in texts:
            for piece in re.findall(r'"((?:[^"]|"")*)"', text):
                assert len(piece.replace('""', '"')) <= TEXT_LIMIT, (key, text[:80])
        names = book(path)
        if key in FAMILIES or key in exercises:
            assert text_constant(names.name(SPEC_NAME)) is not None, key
    todo = recorded_todo(book(files["exercise"]))
    blanks = {
        c.at
        for c in resolve_layout(EXERCISE).checked
        if c.at not in book(files["exercise"]).sheets[0].cells
    }
    assert todo == blanks and len(todo) > 100


def test_package_is_laid_out_as_excel_lays_it_out(files: dict[str, Path]) -> None:
    for key, path in files.items():
        found = parts(path)
        names = set(found)
        assert "<workbookProtection/>" not in found["xl/workbook.xml"].decode(), key
        assert not any(n.startswith("xl/comments/") for n in names), key
        assert all(
            re.fullmatch(r"xl/comments\d+\.xml", n)
            for n in names
            if "comments" in n and n.endswith(".xml") and "_rels" not in n
        ), key
        for name, data in found.items():
            if name.endswith(".rels"):
                assert b'Target="/' not in data, (key, name)


def test_charts_say_where_their_axes_are_and_cache_their_numbers(files: dict[str, Path]) -> None:
    for key, path in files.items():
        found = parts(path)
        charts = [n for n in found if n.startswith("xl/charts/")]
        if key in ("single", "training", "network_training"):
            assert charts, key
        cached = {(s, at): v for s, at, _, v in formula_cells(path)}
        sheet = book(path).sheets[0]
        for name in charts:
            root = ElementTree.fromstring(found[name])
            scatter = root.find(f".//{CHART}scatterChart")
            assert scatter is not None and scatter.find(f"{CHART}scatterStyle") is not None
            positions = [a.get("val") for a in root.iterfind(f".//{CHART}valAx/{CHART}axPos")]
            blanks = root.find(f".//{CHART}dispBlanksAs")
            spans = blanks is not None and blanks.get("val") == "span"
            assert positions == ["b", "l"], (key, positions)
            for ref in root.iterfind(f".//{CHART}numRef"):
                formula = ref.findtext(f"{CHART}f") or ""
                c1, r1, c2, r2 = a1.bounds(formula.rpartition("!")[2])
                assert c1 and r1 and c2 and r2
                cells = [a1.name(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
                points = {
                    int(p.get("idx", "-1")): float(p.findtext(f"{CHART}v") or "nan")
                    for p in ref.iterfind(f"{CHART}numCache/{CHART}pt")
                }
                want = {
                    i: v
                    for i, at in enumerate(cells)
                    if isinstance(v := cached.get((sheet.title, at), sheet.value(at)), float)
                }
                # openpyxl writes a chart's numbers with 16 significant digits (plenty to draw).
                # A chart drawn across blank rows (a data set's example rows between its
                # mean rows) leaves them out of the cache; its point count still covers them.
                count = ref.find(f"{CHART}numCache/{CHART}ptCount")
                assert count is not None and count.get("val") == str(len(cells)), key
                assert points.keys() == want.keys(), (key, formula)
                assert len(points) == len(cells) or spans, (key, formula)
                assert all(math.isclose(points[i], want[i], rel_tol=1e-15) for i in want), key


# --------------------------------------------------------------------------- openxml-audit


def test_every_file_passes_the_ooxml_schema(files: dict[str, Path]) -> None:
    # Its own venv (as .ci/run makes it): its lxml would change openpyxl in the other tests.
    audit = Path(os.environ.get("SHEETGEN_OPENXML_AUDIT") or shutil.which("openxml-audit") or "-")
    needs("openxml-audit (set SHEETGEN_OPENXML_AUDIT; see .ci/run)", audit.is_file())
    for key, path in files.items():
        done = subprocess.run(
            [str(audit), "-o", "json", "-m", "0", str(path)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        report = json.loads(done.stdout)[0]
        errors = {
            (e["part_uri"], e["description"]) for e in report["errors"] if e["severity"] == "error"
        }
        assert errors <= FALSE_POSITIVES, (key, sorted(errors - FALSE_POSITIVES))


# --------------------------------------------------------------------------- Gnumeric


def reference_for(path: Path) -> tuple[Layout, object]:
    """The layout a file records and the reference model at the parameters it holds."""
    found = book(path)
    layout = resolve_layout(text_constant(found.name(SPEC_NAME)) or "")
    sheet = found.sheet(layout.sheet)
    assert sheet is not None
    params = {c.quantity or "": float(sheet.value(c.at)) for c in layout.inputs}  # type: ignore[arg-type]
    return layout, model_for(layout.settings)(params, layout.settings)


def assert_agrees(path: Path, other: Path, who: str, source: Path | None = None) -> None:
    """Every formula cell of ``other`` (``path`` as ``who`` computed it) holds the number our
    file caches (the reference's) within verify's tolerance."""
    layout, ref = reference_for(source or path)
    quantity = {c.at: c.quantity for c in layout.checked}
    theirs = {(s, at): v for s, at, _, v in formula_cells(other)}
    ours = [(s, at, v) for s, at, _, v in formula_cells(source or path)]
    assert ours
    wrong = {}
    for sheet, at, want in ours:
        got = theirs.get((sheet, at))
        if not isinstance(want, float):  # an exercise caches nothing for cells reading a blank
            continue
        q = quantity.get(at)
        # verify's tolerance for a checked cell; a chart's helper cells (a tangent adds terms
        # larger than its result) within 1e-12 of numbers of order one.
        limit = tolerance(q, want, ref) if q else 1e-12 * (1.0 + abs(want))  # type: ignore[arg-type]
        if not isinstance(got, float) or not math.isfinite(got) or abs(got - want) > limit:
            wrong[at] = (got, want)
    assert not wrong, f"{who} differs from the reference at {dict(list(wrong.items())[:5])}"


def test_gnumeric_recalculates_every_formula_to_the_reference(
    files: dict[str, Path], tmp_path: Path
) -> None:
    ssconvert = shutil.which("ssconvert")
    needs("Gnumeric's ssconvert (apt install gnumeric)", ssconvert)
    assert ssconvert is not None
    for key, path in files.items():
        out = tmp_path / f"{key}.gnumeric.xlsx"
        subprocess.run(
            [ssconvert, "--recalc", str(path), str(out)],
            capture_output=True,
            timeout=300,
            check=True,
        )
        source = files["exercise"] if key == "annotated" else None
        assert_agrees(path, out, f"Gnumeric ({key})", source)


# --------------------------------------------------------------------------- ExcelJS, SheetJS


def test_exceljs_and_sheetjs_open_every_file_and_read_every_formula(files: dict[str, Path]) -> None:
    node = shutil.which("node")
    needs("Node.js", node)
    needs(
        "ExcelJS and SheetJS (npm ci --prefix tests/js)", (JS / "node_modules" / "exceljs").is_dir()
    )
    assert node is not None
    for key, path in files.items():
        done = subprocess.run(
            [node, str(JS / "read_workbook.js"), str(path)],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        seen = json.loads(done.stdout)
        ours = {(s, at): (f, v) for s, at, f, v in formula_cells(path)}
        for library in ("exceljs", "sheetjs"):
            assert "error" not in seen[library], (key, library, seen[library].get("error"))
            theirs = {
                (s, at): (f, v)
                for s, content in seen[library]["sheets"].items()
                for at, (f, v) in content["formulas"].items()
            }
            assert {k: f for k, (f, _) in theirs.items()} == {k: f for k, (f, _) in ours.items()}, (
                key,
                library,
            )
        # SheetJS shows the numbers we cached (the reference's) where we cached one.
        sheetjs = seen["sheetjs"]["sheets"]
        differ = [
            at
            for (s, at), (_, v) in ours.items()
            if isinstance(v, float) and sheetjs[s]["formulas"][at][1] != v
        ]
        assert not differ, (key, differ[:5])


# --------------------------------------------------------------------------- rendered charts


def words(pdf: Path) -> list[tuple[str, float, float, float, float]]:
    """(text, x0, y0, x1, y1) of every word on the PDF's first page (``pdftotext -bbox``)."""
    pdftotext = shutil.which("pdftotext")
    assert pdftotext is not None
    html = subprocess.run(
        [pdftotext, "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    pattern = (
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [
        (m[4], float(m[0]), float(m[1]), float(m[2]), float(m[3]))
        for m in re.findall(pattern, html)
    ]


def assert_x_axis_at_the_bottom(pdf: Path, who: str) -> None:
    """The chart's x axis is drawn along the bottom: its tick labels (two decimals, the
    axis's number format) form one horizontal row, and the title "Weight" lies horizontally
    just below that row, within its span. (Gnumeric drew the x axis on the left when the
    file said so: the title upright and a second column of ticks.)"""
    found = words(pdf)
    ticks: dict[int, list[tuple[float, float, float]]] = {}
    for text, x0, y0, x1, y1 in found:
        if re.fullmatch(r"-?\d\.\d\d", text):
            ticks.setdefault(round(y0), []).append((x0, x1, y1))
    rows = [r for r in ticks.values() if len(r) >= 4]
    assert rows, f"{who}: no row of x-axis tick labels in the rendered chart"
    row = max(rows, key=len)
    left, right = min(x0 for x0, _, _ in row), max(x1 for _, x1, _ in row)
    bottom = max(y1 for _, _, y1 in row)
    titles = [
        (x0, y0, x1, y1)
        for text, x0, y0, x1, y1 in found
        if text == "Weight" and y0 >= bottom - 1 and left <= (x0 + x1) / 2 <= right
    ]
    assert titles, f"{who}: no 'Weight' title below the x-axis tick labels"
    x0, y0, x1, y1 = min(titles, key=lambda t: t[1])
    assert x1 - x0 > y1 - y0, f"{who}: the 'Weight' title is not horizontal"
    upright = [t for t, a, b, c, d in found if t == "Weight" and d - b > 1.5 * (c - a)]
    assert not upright, f"{who}: a 'Weight' title is drawn upright (a second y axis)"


def test_gnumeric_and_libreoffice_draw_the_x_axis_at_the_bottom(
    files: dict[str, Path], tmp_path: Path
) -> None:
    ssconvert = shutil.which("ssconvert")
    needs("Gnumeric's ssconvert (apt install gnumeric)", ssconvert)
    needs("pdftotext (apt install poppler-utils)", shutil.which("pdftotext"))
    assert ssconvert is not None
    gnumeric = tmp_path / "gnumeric.pdf"
    subprocess.run(
        [ssconvert, str(files["single"]), str(gnumeric)],
        capture_output=True,
        timeout=300,
        check=True,
    )
    assert_x_axis_at_the_bottom(gnumeric, "Gnumeric")
    require_libreoffice()
    (tmp_path / "lo").mkdir()
    assert_x_axis_at_the_bottom(lo.render(files["single"], tmp_path / "lo"), "LibreOffice")


# --------------------------------------------------------------------------- golden files

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_FAMILIES: dict[str, str] = json.loads((GOLDEN / "families.json").read_text())


def chart_facts(path: Path) -> list[tuple[list[str | None], bool, int]]:
    """Per chart: its value axes' positions, whether it has a scatterStyle, its series count."""
    out = []
    for name, data in sorted(parts(path).items()):
        if re.fullmatch(r"xl/charts/chart\d+\.xml", name):
            root = ElementTree.fromstring(data)
            out.append(
                (
                    [a.get("val") for a in root.iterfind(f".//{CHART}valAx/{CHART}axPos")],
                    root.find(f".//{CHART}scatterStyle") is not None,
                    len(root.findall(f".//{CHART}ser")),
                )
            )
    return out


@pytest.mark.parametrize("app", ["libreoffice", "gnumeric"])
@pytest.mark.parametrize("key", sorted(GOLDEN_FAMILIES))
def test_golden_file_saved_by_an_application_agrees_with_ours(
    key: str, app: str, tmp_path: Path
) -> None:
    """A small workbook of each family as LibreOffice and Gnumeric recalculated and saved it
    (``scripts/refresh_artifacts.py``): same formulas, our numbers, same names and chart."""
    ours = build(tmp_path / f"{key}.xlsx", GOLDEN_FAMILIES[key])
    golden = GOLDEN / f"{key}.{app}.xlsx"
    mine = {(s, at): f for s, at, f, _ in formula_cells(ours)}
    theirs = {(s, at): f for s, at, f, _ in formula_cells(golden)}
    changed = sorted(k for k in mine if theirs.get(k, "").replace(" ", "") != mine[k])
    assert not changed, f"the layout changed: run scripts/refresh_artifacts.py ({changed[:5]})"
    assert_agrees(ours, golden, f"{app}'s golden {key}")
    ours_book, their_book = book(ours), book(golden)
    assert text_constant(their_book.name(SPEC_NAME)) == text_constant(ours_book.name(SPEC_NAME))
    assert {n.upper() for n in their_book.names} == {n.upper() for n in ours_book.names}
    if app == "libreoffice":  # Gnumeric writes its own charts; LibreOffice keeps ours
        assert chart_facts(golden) == chart_facts(ours)


# --------------------------------------------------------------------------- the encodings


@given(st.sets(st.tuples(st.integers(1, 40), st.integers(1, 30)), max_size=80))
def test_recorded_blocks_stand_for_exactly_the_cells(spots: set[tuple[int, int]]) -> None:
    cells = [a1.name(r, c) for r, c in spots]
    text = a1.compact(cells)
    assert sorted(a1.expand(text)) == sorted(cells)
    assert a1.expand(",".join(cells)) == cells  # the plain list older exercises recorded


@given(st.text(max_size=900))
def test_a_long_text_is_stored_in_pieces_excel_accepts(text: str) -> None:
    formula = text_formula(text)
    assert text_constant(formula) == text
    pieces = re.findall(r'"((?:[^"]|"")*)"', formula)
    assert all(len(p.replace('""', '"')) <= TEXT_LIMIT for p in pieces)
    assert text_constant('"' + text.replace('"', '""') + '"') == text  # the older form


def test_notes_are_written_in_runs_as_excel_writes_them(files: dict[str, Path]) -> None:
    """ExcelJS reads a note's text only from ``<r><t>``: a plain ``<t>`` comes back empty."""
    comments = parts(files["exercise"])["xl/comments1.xml"]
    notes = ElementTree.fromstring(comments).findall(".//m:comment", NS)
    assert notes and all(n.find("m:text/m:r/m:t", NS) is not None for n in notes)
    assert all(n.find("m:text/m:t", NS) is None for n in notes)


def test_an_exercise_saved_by_exceljs_is_still_to_do(tmp_path: Path) -> None:
    """ExcelJS drops the recorded blanks and layout (text-constant names); the blanks' notes
    survive, so the untouched hand-out still reads TO DO and scores nothing."""
    node = shutil.which("node")
    needs("Node.js", node)
    needs("ExcelJS (npm ci --prefix tests/js)", (JS / "node_modules" / "exceljs").is_dir())
    assert node is not None
    hand_out = build_exercise(tmp_path / "ex.xlsx", EXERCISE)
    saved = tmp_path / "exceljs.xlsx"
    subprocess.run(
        [node, str(JS / "save_workbook.js"), str(hand_out), str(saved)],
        capture_output=True,
        timeout=300,
        check=True,
    )
    assert not recorded_todo(book(saved))  # ExcelJS dropped the record
    before, after = verify_workbook(hand_out, variants=0), verify_workbook(saved, variants=0)
    assert [c.cell for c in after.todo] == [c.cell for c in before.todo]
    assert not after.roots and not after.attention
