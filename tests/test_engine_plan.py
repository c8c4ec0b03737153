"""What the evaluator keeps of a book's structure: a plain formula's dependencies are not stored
but read back from its compiled inputs, a name that reads one cell is kept as that reference.
These tests hold what it derives to an independent reading of the formulas (the engine's own
parser, ranges and names expanded here), and its values to what a what-if computes."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula

from sheetgen import a1, build
from sheetgen.engine.evaluate import Evaluator, Ref
from sheetgen.engine.values import Values
from sheetgen.workbook.safety import open_workbook, read_checked


def _named_cells(text: str, sheet: str, names: dict[str, str]) -> list[Ref]:
    """The cells ``text`` reads, sorted: ranges row by row, defined names (``names``: name ->
    ``Sheet!$A$1``) where they point."""
    import formulas

    inputs = formulas.Parser().ast(text)[1].compile().inputs
    cells: list[Ref] = []
    for name in inputs:
        on, at = sheet, names.get(name.upper(), name)
        if "!" in at:
            on, at = at.rsplit("!", 1)
            on = on.strip("'")
        min_col, min_row, max_col, max_row = a1.bounds(at.replace("$", ""))
        assert min_col and min_row and max_col and max_row
        for r in range(min_row, max_row + 1):
            cells += [(on, a1.name(r, c)) for c in range(min_col, max_col + 1)]
    return sorted(cells)


@pytest.mark.parametrize("spec", ["single_neuron", "network:layers=2-3-1,faux=all"])
def test_dependencies_are_the_cells_each_formula_names(tmp_path: Path, spec: str) -> None:
    """Asked before and after the cell is computed (the first time works them out, the second
    reads a plain formula's back from its inputs), and from a what-if child that shares them."""
    path = build(tmp_path / "x.xlsx", spec)
    wb = openpyxl.load_workbook(path)
    names = {n.upper(): d.attr_text for n, d in wb.defined_names.items()}
    ws = wb.worksheets[0]
    texts = {
        (ws.title, c.coordinate): c.value
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith("=")
    }
    ev = Evaluator(read_checked(path).book)
    first = {ref: ev.dependencies(ref) for ref in texts}
    ev.evaluate(texts)
    child = ev.with_overrides({next(iter(texts)): 0.5})
    for ref, text in texts.items():
        want = _named_cells(text, ws.title, names)
        assert sorted(first[ref]) == want, ref
        assert ev.dependencies(ref) == first[ref], ref
        assert child.dependencies(ref) == first[ref], ref
        assert ev.formula(ref) == text
    assert ev.dependencies((ws.title, "ZZ999")) == []


def test_a_name_of_one_cell_and_a_range_of_one_cell(tmp_path: Path) -> None:
    """A defined name that points to one cell is read as that cell (a plain formula); a range
    of one cell (``B1:B1``) is handed over as a range. Both compute what a what-if does."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "S"
    ws["B1"] = 3.0
    ws["C1"] = "=One*2+B1"
    ws["C2"] = "=SUM(B1:B1,B1)+One"
    ws["C3"] = "=C1*C2"
    wb.defined_names["One"] = openpyxl.workbook.defined_name.DefinedName("One", attr_text="S!$B$1")
    path = tmp_path / "one.xlsx"
    wb.save(path)
    refs = [("S", "C3"), ("S", "C1"), ("S", "C2")]
    ev = Evaluator(open_workbook(path))
    assert ev.evaluate(refs) == {("S", "C3"): 81.0, ("S", "C1"): 9.0, ("S", "C2"): 9.0}
    assert ev.dependencies(("S", "C1")) == [("S", "B1"), ("S", "B1")]
    assert set(ev.dependencies(("S", "C2"))) == {("S", "B1")}
    assert ev.what_if({("S", "B1"): 2.0}, refs) == {
        ("S", "C3"): 36.0,
        ("S", "C1"): 6.0,
        ("S", "C2"): 6.0,
    }


def test_an_array_formulas_cells_keep_its_text_and_values(tmp_path: Path) -> None:
    """A cell an array formula fills reads the formula's cells, but is never plain: its
    formula is its top-left cell's, and its value that formula's element."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "S"
    ws["A1"], ws["A2"] = 2.0, 5.0
    ws["B1"] = openpyxl.worksheet.formula.ArrayFormula("B1:B2", "=A1:A2*3")
    ws["C1"] = "=B2+1"
    ws["D1"] = openpyxl.worksheet.formula.ArrayFormula("D1:D2", "=A1*3")  # one cell, repeated
    ws["E1"] = "=D2-1"
    path = tmp_path / "array.xlsx"
    wb.save(path)
    ev = Evaluator(open_workbook(path))
    for ref in [("S", "B2"), ("S", "B1"), ("S", "C1"), ("S", "D2"), ("S", "E1")]:
        ev.dependencies(ref)
    assert ev.formula(("S", "B2")) == "=A1:A2*3"
    assert ev.formula(("S", "D2")) == "=A1*3"
    assert ev.dependencies(("S", "D2")) == [("S", "A1")]
    assert ev.evaluate([("S", "C1"), ("S", "B1"), ("S", "B2"), ("S", "E1"), ("S", "D2")]) == {
        ("S", "C1"): 16.0,
        ("S", "B1"): 6.0,
        ("S", "B2"): 15.0,
        ("S", "E1"): 5.0,
        ("S", "D2"): 6.0,
    }


def test_a_books_own_formulas_keep_no_plain_text_twice(tmp_path: Path) -> None:
    """A plain formula's compilation is kept with its cell; formulas shared with other books
    (``grade``) keep every text as well, for the next book, and compute the same values."""
    from sheetgen.engine.compiled import FormulaCache

    path = build(tmp_path / "x.xlsx", "network:layers=2-3-1,faux=all")
    book = read_checked(path).book
    sheet = book.sheets[0]
    refs = [(sheet.title, at) for at, c in sheet.cells.items() if c.formula]
    texts = {sheet.cells[at].formula for _, at in refs}
    own = Evaluator(book)
    values = own.evaluate(refs)
    assert len(own.formulas) < len(texts) // 10  # the few that are not plain
    shared = FormulaCache()
    assert Evaluator(book, formulas=shared).evaluate(refs) == values
    assert len(shared) == len(texts)
    assert Evaluator(book, formulas=shared).evaluate(refs) == values  # from what it kept


def test_values_are_kept_by_sheet_and_address_and_no_reference_per_cell(tmp_path: Path) -> None:
    """``fill`` keeps a value under its cell's address in its sheet's dict (``Values``), never
    under a tuple, the caller's or its own: a check asking for 85,000 cells by tuples it makes
    on the fly does not keep them alive, and the names formulas read that are cells of their
    own sheet are not kept in the resolved names at all (their addresses say where they are).
    Values equal ``evaluate``'s, read by reference as from a dict."""
    path = build(tmp_path / "x.xlsx", "network:layers=2-3-1")
    book = read_checked(path).book
    sheet = book.sheets[0]
    ats = [at for at, c in sheet.cells.items() if c.formula]
    ev = Evaluator(book)
    ev.fill((sheet.title, at) for at in ats)  # each tuple made here and dropped
    assert list(ev.values.sheets) == [sheet.title]
    held = ev.values.sheets[sheet.title]
    assert set(ats) <= set(held) and all(type(at) is str for at in held)
    by_name = ev.where.resolved[sheet.title]
    assert 0 < len(by_name) < 3 and not any(n in sheet.cells for n in by_name), by_name
    keys = list(ev.values)
    assert len(keys) == len(ev.values) == len(held)
    assert {r: ev.values[r] for r in keys} == Evaluator(book).evaluate(keys)
    assert (sheet.title, "ZZ999") not in ev.values and ev.values.get((sheet.title, "ZZ999")) is None
    with pytest.raises(KeyError):
        ev.values[("nowhere", ats[0])]
    # A dict's ways, for a script that held the values as the dict they were.
    whole = dict(ev.values)
    mine = ev.values.copy()
    mine[(sheet.title, ats[0])] = "changed"
    assert type(mine) is Values and ev.values == whole and mine != whole
    extra = {("other", "A1"): 1.0}
    assert ev.values | extra == {**whole, **extra} and extra | ev.values == {**extra, **whole}
    assert type(ev.values | extra) is Values and type(extra | ev.values) is dict
    mine |= extra
    assert mine[("other", "A1")] == 1.0 and ("other", "A1") not in ev.values


def test_a_cell_of_its_own_sheet_is_resolved_to_its_address_until_a_reference_is_asked(
    tmp_path: Path,
) -> None:
    """``References.resolve`` keeps nothing for a name that is a cell the sheet it is read on
    holds, and an empty cell of it as its address; ``single`` makes the reference when it is
    asked for and keeps it (a held cell's in ``singles``, never in ``resolved``), so that every
    list of dependencies asked for holds the one tuple.
    A name read on a sheet named otherwise, or that names another cell, is kept as its
    reference at once."""
    from sheetgen.engine.plan import Plan
    from sheetgen.engine.references import References

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "S"
    ws["A1"], ws["B1"], ws["C1"] = 2.0, "=A1*3", "=B1+A1"
    wb.defined_names["Two"] = DefinedName("Two", attr_text="'S'!$A$1")
    path = tmp_path / "one.xlsx"
    wb.save(path)
    where = References(read_checked(path).book, Plan())
    assert where.resolve("S", "B1") == [("S", "B1")] and "B1" not in where.resolved["S"]
    made = where.single("S", "B1")
    kept: object = where.singles["S"]["B1"]
    assert made == ("S", "B1") and kept is made
    again = where.resolve("S", "B1")
    assert where.single("S", "B1") is made and isinstance(again, list) and again[0] is made
    assert where.resolve("s", "A1") == [("S", "A1")] and where.resolved["s"]["A1"] == ("S", "A1")
    assert where.resolve("S", "Two") == [("S", "A1")] and where.resolved["S"]["Two"] == ("S", "A1")
    assert where.resolve("S", "Z9") == [("S", "Z9")]  # a cell the sheet does not hold, as ever
    assert where.resolved["S"]["Z9"] == "Z9"
    assert where.resolve("S", "C1") == [("S", "C1")]
    assert set(where.resolved["S"]) == {"Two", "Z9"} and set(where.singles["S"]) == {"B1"}
    made_z = where.single("S", "Z9")
    kept_z: object = where.resolved["S"]["Z9"]
    assert made_z == ("S", "Z9") and kept_z is made_z  # an empty cell's in ``resolved``
    ev = Evaluator(read_checked(path).book)
    deps = ev.dependencies(("S", "C1"))
    assert deps == [("S", "B1"), ("S", "A1")]
    again = ev.dependencies(("S", "C1"))
    assert all(a is b for a, b in zip(deps, again, strict=True))  # the one tuple per cell


@pytest.mark.parametrize("asked_first", [False, True])
def test_a_formulas_inputs_are_its_sheets_cells_only_where_the_sheet_holds_them(
    tmp_path: Path, asked_first: bool
) -> None:
    """A first visit takes an input that is a cell the sheet holds as that cell, by its
    address; any other (an empty cell, another sheet's, a defined name, ``B01``, a cell past
    the grid) as ``where.resolve`` resolves it. The same values when the diagnosis's
    references were made first (``dependencies``: some inputs then held as references)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "S"
    other = wb.create_sheet("T")
    other["A1"] = 5.0
    ws["A1"], ws["B1"], ws["C1"], ws["D1"] = 2.0, "=A1*3", "=B1+A1+Z9", "=T!A1*B1"
    ws["E1"], ws["F1"], ws["G1"] = "=B01+1", "=Two*B1", "=XFE1+1"
    wb.defined_names["Two"] = DefinedName("Two", attr_text="'S'!$A$1")
    path = tmp_path / "mixed.xlsx"
    wb.save(path)
    ev = Evaluator(read_checked(path).book)
    refs = [("S", at) for at in ("B1", "C1", "D1", "E1", "F1", "G1")]
    if asked_first:
        deps = {ref: ev.dependencies(ref) for ref in refs}
        assert deps[("S", "C1")] == [("S", "B1"), ("S", "A1"), ("S", "Z9")]
        assert deps[("S", "E1")] == [("S", "B1")]
        assert sorted(deps[("S", "F1")]) == [("S", "A1"), ("S", "B1")]
    values = ev.evaluate(refs)
    assert [values[r] for r in refs[:5]] == [6.0, 8.0, 30.0, 7.0, 12.0]
    assert ev.problems[("S", "G1")].kind == "reference"
    held = set(ev.where.resolved.get("S", {}))
    assert held == {"Z9", "T!A1", "B01", "TWO", "XFE1"}, held


@pytest.mark.parametrize(
    "spec", ["training:layers=2-2-1,examples=4,steps=3,optimizer=adam", "network:layers=2-3-1"]
)
def test_fills_first_visit_keeps_what_the_general_path_keeps(tmp_path: Path, spec: str) -> None:
    """``fill`` finds, compiles and resolves a usual cell on its first visit itself; what it
    keeps (each formula's entry, the dependencies of those that are not plain, the values)
    is what ``dependencies`` works out cell by cell. On the built sheet and on one with odd
    formulas: ranges, a defined name of a range, an array formula, errors, text, an empty
    cell, a whole column, a sheet named in lower case, a cell read before it is computed."""
    path = build(tmp_path / "x.xlsx", spec)
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row]
    formulas = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    odd = [
        "=SUM(B2:C3)",
        "=1/0",
        '="x"',
        None,
        f"=SUM({ws.title.lower()}!B2,1)",
        "=TANH(E:E)",
        "=Square*2",
        "=" + formulas[-1].coordinate + "*2",  # a cell computed later
    ]
    for k, cell in enumerate(formulas[3::5]):
        cell.value = odd[k % len(odd)]
    wb.defined_names["Square"] = DefinedName("Square", attr_text=f"'{ws.title}'!$B$2:$C$3")
    ws["AZ1"] = ArrayFormula("AZ1:BA2", "=B2:C3*2")
    below = ws.max_row + 2  # read after the cell it reads: a plain formula but for its array
    ws[f"A{below}"] = ArrayFormula(f"A{below}:B{below}", f"={formulas[2].coordinate}*2")
    wb.save(tmp_path / "odd.xlsx")
    for book_path in (path, tmp_path / "odd.xlsx"):
        book = read_checked(book_path).book
        sheet = book.sheets[0]
        refs = [(sheet.title, at) for at in sheet.cells] + [(sheet.title, "BA2")]
        refs += [(sheet.title, f"B{ws.max_row}")]
        filled = Evaluator(book)
        filled.fill(refs)
        walked = Evaluator(book)
        for ref in refs:  # the general path, cell by cell, then the values
            walked.dependencies(ref)
        walked.fill(refs)
        plan, general = filled._plan, walked._plan
        # What ``fill`` keeps is the general path's; a cell holding a value that a formula
        # read it finds itself, without an entry.
        for title, forms in general.formulas.items():
            kept = plan.formulas.get(title, {})
            assert all(forms[at] is None for at in forms.keys() - kept.keys()), title
            assert {at: forms[at] for at in kept} == kept
        assert plan.formulas.keys() <= general.formulas.keys()
        assert plan.deps == general.deps
        assert {r: repr(v) for r, v in filled.values.items()} == {
            r: repr(v) for r, v in walked.values.items()
        }
        assert filled.problems == walked.problems
