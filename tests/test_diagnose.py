"""Diagnosis: what each wrong cell holds, what it should be, and whether it is the cause."""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from sheetgen import verify_workbook
from sheetgen.check.verify import CellResult, Report
from sheetgen.layouts.families import resolve_layout
from sheetgen.report.render import to_dict, to_text
from sheetgen.writer.build import build

from .support import libreoffice as lo

Make = Callable[..., Path]

# The article's numbers, computed here from its maths rather than taken from sheetgen.
NET = 0.4 * 0.5 + 0.6
OUT = math.tanh(NET)
ERR = OUT - 0.7
LOCAL_NET = 1 - OUT**2


def check(path: Path, variants: int = 0) -> Report:
    return verify_workbook(path, variants=variants)


def by_cell(report: Report) -> dict[str, CellResult]:
    return {c.cell: c for c in report.cells}


def said(c: CellResult) -> str:
    """Everything a learner reads about a cell: the verdict and its explanation."""
    return f"{c.message} {c.explanation}"


def test_a_right_workbook_passes_every_check(make: Make) -> None:
    report = check(make(), variants=3)
    assert report.ok, to_text(report, only_wrong=True)
    assert report.warnings == ()


def test_wrong_formula_is_the_root_and_its_dependents_are_grouped_under_it(make: Make) -> None:
    report = check(make(edits={"E3": "=1-F2"}))  # forgot the square
    cells = {c.cell: c for c in report.cells}
    e3 = cells["E3"]
    assert e3.status == "wrong" and e3.root
    assert e3.expected == pytest.approx(LOCAL_NET)
    assert e3.found == pytest.approx(1 - OUT)
    assert "=1-F2" in e3.holds
    # The global gradients all go through E4 = E3 * F4, so they are wrong because of E3 only.
    inherited = {c.cell for c in report.inherited_from("E3")}
    assert inherited == {"B4", "C4", "D4", "E4"}
    assert all(cells[c].causes == ("E3",) and not cells[c].root for c in inherited)
    assert [c.cell for c in report.roots] == ["E3"]
    text = to_text(report)
    assert text.index("To fix first (1 root cause)") < text.index("Wrong because of it: B4")


def test_a_cell_wrong_in_itself_and_downstream_of_a_wrong_one_is_a_root_too(make: Make) -> None:
    report = check(make(edits={"E3": "=1-F2", "C4": "=C3+E4"}))
    cells = {c.cell: c for c in report.cells}
    assert cells["C4"].root  # with E3 right, C3+E4 is still not C3*E4
    assert cells["B4"].causes == ("E3",)
    assert {c.cell for c in report.roots} == {"E3", "C4"}


def test_inherited_causes_are_followed_to_the_root(make: Make) -> None:
    report = check(make(edits={"E2": "=B2*C2-D2"}))  # minus the bias: everything follows
    cells = {c.cell: c for c in report.cells}
    assert [c.cell for c in report.roots] == ["E2"]
    for far in ("I2", "E3", "B4", "K6", "K10"):
        assert cells[far].causes == ("E2",), far


def test_typed_number_reference_free_formula_and_formula_text_are_flagged(make: Make) -> None:
    report = check(make(edits={"E2": NET, "C4": "=-0.00804", "H2": ("text", "=F2-G2")}))
    cells = {c.cell: c for c in report.cells}
    assert cells["E2"].status == "typed" and "typed number" in said(cells["E2"])
    assert cells["C4"].status == "typed"
    assert "refers to no cell" in said(cells["C4"])
    h2 = cells["H2"]
    assert h2.status == "text"
    assert "stored as text" in said(h2) and "never computed" in said(h2)
    # Excel does not compute the text, so what uses the error is wrong because of H2.
    assert cells["I2"].causes == ("H2",) and cells["F3"].causes == ("H2",)


def test_circular_reference_names_the_cycle(make: Make) -> None:
    report = check(make(edits={"E3": "=1-F3^2", "F3": "=E3*H2"}))
    cells = {c.cell: c for c in report.cells}
    assert cells["E3"].root and cells["F3"].root
    assert "E3 → F3 → E3" in cells["E3"].explanation
    assert "F3 → E3 → F3" in cells["F3"].explanation
    assert set(cells["E4"].causes) == {"E3", "F3"}


def test_unknown_function_is_named_never_a_pass_or_a_crash(make: Make) -> None:
    report = check(make(edits={"F2": "=TANHH(E2)"}))
    cells = {c.cell: c for c in report.cells}
    assert cells["F2"].status == "unsupported" and cells["F2"].root
    assert "TANHH" in cells["F2"].explanation and "#NAME?" in cells["F2"].explanation
    assert cells["H2"].causes == ("F2",)
    assert not report.ok


def test_div0_because_tiny_is_zero(make: Make) -> None:
    report = check(make(edits={"B11": 0}))
    cells = {c.cell: c for c in report.cells}
    assert [c.cell for c in report.roots] == ["B11"]
    assert "must not be 0" in said(cells["B11"])
    k6 = cells["K6"]
    assert k6.found is not None and str(k6.found) == "#DIV/0!"
    assert k6.causes == ("B11",)
    assert re.search(r"#DIV/0!.*divides by Tiny \(B11\), which is 0", k6.explanation)


def test_div0_by_an_empty_cell_names_it(make: Make) -> None:
    report = check(make(edits={"K6": "=(I6-I2)/J6"}))
    assert "divides by J6, which is empty" in by_cell(report)["K6"].explanation


def test_value_error_because_an_input_is_text(make: Make) -> None:
    report = check(make(edits={"B2": "abc"}))
    cells = {c.cell: c for c in report.cells}
    assert [c.cell for c in report.roots] == ["B2"]
    assert "the text 'abc'" in said(cells["B2"])
    e2 = cells["E2"]
    assert str(e2.found) == "#VALUE!" and e2.causes == ("B2",)
    assert "input (B2) holds the text 'abc'" in e2.explanation


def test_ref_error_and_errors_passed_along(make: Make) -> None:
    report = check(make(edits={"E3": "=1-#REF!^2"}))
    cells = {c.cell: c for c in report.cells}
    assert cells["E3"].root and "#REF!" in cells["E3"].explanation
    assert "no longer exists" in cells["E3"].explanation
    assert cells["E4"].causes == ("E3",)
    assert "because d output/d net (E3) does" in cells["E4"].explanation


def test_empty_cell_is_a_root_with_what_it_should_hold(make: Make) -> None:
    report = check(make(edits={"F4": None}))
    f4 = {c.cell: c for c in report.cells}["F4"]
    assert f4.status == "empty" and f4.root and f4.holds == "nothing"
    assert "empty" in said(f4) and f"{ERR:.6f}"[:8] in said(f4)


def test_a_sheet_right_only_for_its_own_inputs_fails_naming_the_cell(make: Make) -> None:
    # Each reads every cell its quantity is computed from (so its structure is sound) and
    # hides a typed number besides.
    path = make(edits={"E2": "=B2*C2+D2*0+0.6", "K9": "=(I9-I2)/(Tiny*0+0.0001)"})
    assert check(path, variants=0).ok  # right for the numbers it was handed...
    report = check(path, variants=3)  # ...but not for any others
    cells = {c.cell: c for c in report.cells}
    assert {c.cell for c in report.roots} == {"E2", "K9"}
    assert cells["E2"].status == "fragile" and cells["K9"].status == "fragile"
    assert "own inputs only" in said(cells["E2"])
    assert cells["F2"].ok  # its dependents are right whenever E2 is


def test_robustness_check_is_reproducible(make: Make) -> None:
    path = make(edits={"E2": "=B2*0.5+D2"})
    first, second = check(path, variants=2), check(path, variants=2)
    assert first.cells == second.cells


def test_robustness_uses_the_sheets_own_parameters(make: Make) -> None:
    # A learner who changed the inputs is judged from theirs, and a sound sheet stays sound.
    assert check(make(input=-1.5, weight=2.0, bias=0.0, target=-0.3, tiny=1e-6), variants=3).ok


def _with_cache(path: Path, cached: dict[str, float]) -> None:
    """Give formula cells saved values, as Excel or LibreOffice would write them."""
    member = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts[member].decode()
    for cell, value in cached.items():
        xml, n = re.subn(
            rf'(<c r="{cell}"[^>]*>\s*<f>[^<]*</f>)\s*(?:<v\s*/>|<v></v>)',
            rf"\g<1><v>{value!r}</v>",
            xml,
        )
        assert n == 1, cell
    parts[member] = xml.encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_stale_cached_values_give_a_warning_not_a_failure(make: Make) -> None:
    path = make()
    _with_cache(path, {"E2": NET, "F2": 0.5, "E3": 0.25})  # F2 and E3 were saved for other inputs
    report = check(path)
    assert report.ok
    assert len(report.warnings) == 1 and "stale" in report.warnings[0]
    assert "F2 saved 0.5" in report.warnings[0] and "E3 saved 0.25" in report.warnings[0]
    assert "E2 saved" not in report.warnings[0]
    assert f"the values saved in {path} are stale" in report.warnings[0]  # as the user gave it
    assert "stale" in to_text(report) and to_dict(report)["warnings"] == list(report.warnings)


def test_up_to_date_cached_values_and_no_cached_values_give_no_warning(make: Make) -> None:
    fresh = make("fresh")
    _with_cache(fresh, {"E2": NET, "F2": OUT, "H2": ERR, "E3": LOCAL_NET})
    assert check(fresh).warnings == ()
    assert check(make("openpyxl")).warnings == ()  # openpyxl saves no values at all


def test_a_copy_of_numeric_text_saved_as_that_text_is_not_stale(make: Make) -> None:
    # C2 holds the text '0.5'; B3 = C2 is the same text to Excel, which saves it as such
    # (t="str"), and is judged as the number 0.5: the saved text is no stale value.
    path = make(edits={"C2": "0.5"})
    member = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml, n = re.subn(
        r'<c r="B3"([^>]*)>\s*(<f>[^<]*</f>)\s*(?:<v\s*/>|<v></v>)',
        r'<c r="B3"\g<1> t="str">\g<2><v>0.5</v>',
        parts[member].decode(),
    )
    assert n == 1
    parts[member] = xml.encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    report = check(path)
    assert by_cell(report)["B3"].ok
    assert not any("stale" in w for w in report.warnings), report.warnings
    # Saved text that differs from what the formula computes is still stale.
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            older = data.replace(b"<v>0.5</v>", b"<v>0.25</v>")
            z.writestr(name, older if name == member else data)
    assert any("B3 saved '0.25'" in w for w in check(path).warnings)


def test_json_carries_the_diagnosis(make: Make) -> None:
    doc = to_dict(check(make(edits={"E3": "=1-F2"})))
    assert doc["roots"] == ["E3"]
    e4 = next(c for c in doc["cells"] if c["cell"] == "E4")
    assert e4["causes"] == ["E3"] and e4["root"] is False and e4["explanation"]


@pytest.mark.libreoffice
def test_a_file_saved_by_libreoffice_has_fresh_caches_until_an_input_is_edited_behind_its_back(
    make: Make, tmp_path: Path
) -> None:
    source = make()
    out = tmp_path / "saved"
    out.mkdir()
    lo.recalculate(source, out / source.name)
    saved = out / source.name
    report = check(saved)
    assert report.ok and report.warnings == ()  # LibreOffice's numbers agree with ours
    # Change the input in the file without recalculating, as a careless script would.
    member = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(saved) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml, n = re.subn(rb'(<c r="B2"[^>]*><v>)0\.4(</v>)', rb"\g<1>0.9\g<2>", parts[member])
    assert n == 1
    parts[member] = xml
    with zipfile.ZipFile(saved, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    report = check(saved)
    assert report.ok  # the formulas are right for the new input...
    assert len(report.warnings) == 1 and "E2 saved 0.8" in report.warnings[0]  # ...the cache not


def test_typed_copies_of_an_input_follow_the_articles_style_with_a_note(make: Make) -> None:
    # The article types the input again in its faux rows (B8 = 0.4): accepted, with a warning,
    # whether typed or written as a formula with no reference; robustness does not fail it.
    report = check(make(edits={"B8": 0.4, "C8": "=0.5"}), variants=3)
    assert report.ok, to_text(report, only_wrong=True)
    assert any("B8" in w for w in report.warnings) and any("C8" in w for w in report.warnings)


def _suspects(path: Path) -> set[str]:
    import openpyxl

    from sheetgen.check.diagnose import suspects
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.layouts.layout import load_layout

    layout = load_layout("single_neuron")
    return suspects(Evaluator(openpyxl.load_workbook(path)), layout.sheet, layout)


def test_only_cells_whose_own_formula_may_stray_are_re_evaluated(make: Make) -> None:
    """The robustness check re-evaluates only cells whose own formula is not the template's
    or that read cells outside the layout: the others follow any parameters."""
    assert _suspects(make()) == set()
    assert _suspects(make(edits={"E2": "=b2 * $C$2 + D2"})) == set()  # the same formula
    assert _suspects(make(edits={"E2": "=D2+B2*C2"})) == {"E2"}  # right, another formula
    assert check(make(edits={"E2": "=D2+B2*C2"}), variants=3).ok  # re-evaluated, and sound
    helper = make(edits={"E3": "=1-M5", "M5": "=F2^2"})  # a helper cell outside the layout
    assert _suspects(helper) == {"E3"}
    assert check(helper, variants=3).ok
    typed = make(edits={"E3": "=1-M5", "M5": OUT**2})  # the helper holds a typed number
    cells = by_cell(check(typed, variants=0))  # it reads no output: caught without variants
    assert cells["E3"].status == "structure" and "output (F2)" in cells["E3"].message
    typed = make(edits={"E3": "=1-M5+F2*0", "M5": OUT**2})  # reads it, and is still typed
    cells = by_cell(check(typed, variants=3))
    assert cells["E3"].status == "fragile" and "own inputs only" in cells["E3"].message


def test_tiny_is_read_where_its_name_points(make: Make) -> None:
    """The faux formulas divide by the name Tiny: wherever it points is the sheet's Tiny."""
    import openpyxl
    from openpyxl.workbook.defined_name import DefinedName

    path = make()
    wb = openpyxl.load_workbook(path)
    wb["Neuron"]["M1"] = 0.001  # another number, in another cell the name now names
    wb.defined_names["Tiny"] = DefinedName("Tiny", attr_text="'Neuron'!$M$1")
    wb.save(path)
    report = check(path, variants=3)
    assert report.parameters["tiny"] == 0.001 and report.ok
    assert any("M1" in w and "Tiny" in w for w in report.warnings)


def test_a_neighbour_read_in_place_of_the_template_quantity_is_said(make: Make) -> None:
    """d loss/d weight written with d loss/d output where d loss/d net (computed from it)
    belongs: the explanation names what the formula reads, and in place of what."""
    report = check(make(edits={"C4": "=C3*F4"}))
    c4 = by_cell(report)["C4"]
    assert c4.root and c4.status == "wrong"
    assert c4.explanation.startswith(
        "It uses d loss/d output (F4), not d loss/d net (E4) computed from it."
    )


def test_adam_without_bias_correction_says_the_moments_were_used(tmp_path: Path) -> None:
    """Adam's update from the moments instead of their bias-corrected values, on every step:
    each update is a root, told which moment it used in place of which corrected value."""
    layout = resolve_layout("training:steps=3,optimizer=adam")
    at = {q: c.at for q, c in layout.by_quantity.items()}
    wb_path = build(tmp_path / "adam.xlsx", layout)
    wb = openpyxl.load_workbook(wb_path)
    for k in (1, 2, 3):
        spec = layout.by_quantity[f"step{k}.new.weight"]
        formula = spec.formula or ""
        for moment in ("1", "2"):
            corrected, raw = (
                at[f"step{k}.corrected{moment}.weight"],
                at[f"step{k}.moment{moment}.weight"],
            )
            assert corrected in formula
            formula = formula.replace(corrected, raw)
        wb[layout.sheet][spec.at] = formula
    wb.save(wb_path)
    report = check(wb_path)
    updates = [at[f"step{k}.new.weight"] for k in (1, 2, 3)]
    assert [c.cell for c in report.roots] == updates
    for k, c in enumerate(report.roots, start=1):
        m1, c1, m2, c2 = (
            at[f"step{k}.{q}.weight"] for q in ("moment1", "corrected1", "moment2", "corrected2")
        )
        assert c.explanation.startswith(
            f"It uses first moment of weight ({m1}), not corrected first moment of weight ({c1})"
            f" computed from it, and second moment of weight ({m2}), not corrected second moment"
            f" of weight ({c2}) computed from it."
        )


def test_unedited_keeps_every_other_field() -> None:
    from dataclasses import fields, replace

    from sheetgen.check.results import CellResult

    c = CellResult("A1", "q", "m", "wrong", 1.0, 2.0, "=B1", "msg", "why", ("B1",), False, True)
    c = replace(c, saved=("C1",))
    assert c.unedited() == replace(c, edited=False)
    explained = c.unedited().explained(("D1",), "because")
    assert explained == replace(c, edited=False, causes=("D1",), explanation="because")
    # Each field is passed on by position: one added must be added there too.
    assert [f.name for f in fields(CellResult)][-2:] == ["edited", "saved"]
    assert len(fields(CellResult)) == 14


def test_verdicts_made_through_the_slots_are_the_dataclasses() -> None:
    import dataclasses
    import pickle

    from sheetgen.check.results import CellResult

    right = CellResult.right("B2", "q", "m", 1.0, 1.0 + 1e-15, "=A2")
    assert right == CellResult("B2", "q", "m", "ok", 1.0, 1.0 + 1e-15, "=A2")
    assert pickle.loads(pickle.dumps(right)) == right
    assert hash(right) == hash(CellResult("B2", "q", "m", "ok", 1.0, 1.0 + 1e-15, "=A2"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        right.status = "wrong"  # type: ignore[misc]
