"""What a new user trips over, found by using sheetgen as its users do (an installed wheel,
the README's commands, then further): each test the smallest reproducer of one problem."""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

import sheetgen
from sheetgen import build, progress, verify_workbook
from sheetgen.cli import main
from sheetgen.errors import SheetgenError
from sheetgen.layouts.families import resolve_layout
from sheetgen.maths.dataset import parse_csv
from sheetgen.teacher.autograder import cell_group
from sheetgen.teacher.gather import gather
from sheetgen.teacher.roster import read_roster

from .data_twins import trained_cells
from .test_progress import Terminal


def _notes(spec: str) -> int:
    return sum(1 for c in resolve_layout(spec) if c.note)


def test_a_data_sets_notes_grow_with_its_data_table_only() -> None:
    """A few explained examples are enough: a note on every cell of a 1,000-example batch made
    32,000 notes, which LibreOffice saves as a drawing that `verify` then refused as a
    possible zip bomb. The data table keeps a note per example (its three cells' own names)."""
    small, large = (_notes(f"training:layers=2-2-1,examples={m},steps=2") for m in (4, 1000))
    assert large - small == 996 * 3


@pytest.mark.libreoffice
def test_a_thousand_examples_saved_by_libreoffice_verify(tmp_path: Path) -> None:
    from .support.libreoffice import recalculate

    built = build(tmp_path / "big.xlsx", "training:layers=2-2-1,examples=1000,batch=5,steps=1")
    saved = tmp_path / "saved.xlsx"
    recalculate(built, saved)
    assert verify_workbook(saved, variants=0).ok


def test_settings_unchecked_from_step_1_are_not_told_to_use_fewer_than_1_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An epsilon so large that RMSProp's steps are rounding noise from the first step on was
    refused with "use fewer than 1 steps": advice no one can follow."""
    argv = ["build", "training", "--data", "xor", "--optimizer", "rmsprop", "--epsilon", "1e300"]
    assert main([*argv, "--steps", "20", "-o", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "step 1" in err and "fewer than 1" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t.xlsx").exists()


XOR_CSV = "x1,x2,target\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"


@pytest.mark.parametrize(
    "raw",
    [
        # Excel's "Unicode Text (*.txt)": UTF-16 little-endian with a BOM, tab-separated.
        "\ufeff" + XOR_CSV.replace(",", "\t"),
        "\ufeff" + XOR_CSV,
    ],
    ids=["unicode-text-tabs", "utf16-commas"],
)
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_a_utf16_data_file_trains_as_its_utf8_twin(tmp_path: Path, raw: str, codec: str) -> None:
    """A UTF-16 file was read as Windows-1252: "column 'ÿþx\\x001\\x00': '\\x000\\x00' is not a
    number"."""
    (tmp_path / "u16.csv").write_bytes(raw.encode(codec))
    (tmp_path / "u8.csv").write_text(XOR_CSV, encoding="utf-8")
    u16, u8 = trained_cells(tmp_path, "u16", "u8")
    assert u16 == u8


def test_a_utf16_roster_is_read(tmp_path: Path) -> None:
    roster = tmp_path / "class.csv"
    roster.write_bytes("id\tname\ns001\tBjörn Þórsson\n".encode("utf-16"))
    assert [(r.id, r.name) for r in read_roster(roster)] == [("s001", "Björn Þórsson")]


# One note's drawing as LibreOffice 7 saves it in an .xlsx (legacy VML, about 950 bytes; every
# shape's id is shape_0 and its anchor the same, only its row and column change).
_LO_NOTE_SHAPE = (
    '<v:shape id="shape_0" fillcolor="#ffffe1" stroked="t" type="#_x0000_t202" '
    'o:allowincell="f" style="position:absolute;margin-left:59.25pt;margin-top:1.5pt;'
    'width:194.9pt;height:52.45pt;mso-wrap-style:none;v-text-anchor:middle;visibility:hidden">'
    '<v:shadow on="t" obscured="t" color="black"/><v:fill o:detectmouseclick="t" type="solid" '
    'color2="#00001e"/><v:stroke color="black" startarrow="block" startarrowwidth="medium" '
    'startarrowlength="medium" joinstyle="miter" endcap="flat"/><x:ClientData '
    'ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/><x:Anchor>0, 79, 0, 2, 2, 58, 3, 12'
    "</x:Anchor><x:AutoFill>False</x:AutoFill><x:TextVAlign>Top</x:TextVAlign><x:TextHAlign>"
    "Left</x:TextHAlign><x:Row>{row}</x:Row><x:Column>{column}</x:Column></x:ClientData>"
    "</v:shape>"
)


def test_a_sheet_with_a_thousand_notes_saved_by_libreoffice_is_no_zip_bomb(
    tmp_path: Path,
) -> None:
    """`build network --layers 100,100,1 --faux none` (1,322 notes, within every limit),
    recalculated and saved by LibreOffice, was refused by `verify` as "a possible zip bomb":
    LibreOffice's drawing of the notes, 1.25 MB, compresses 108 to 1. Here the same drawing
    stands in for the sheet's own, on a small sheet, without LibreOffice."""
    from .hostile import rebuild

    built = build(tmp_path / "net.xlsx", "network:layers=2-3-1")
    with zipfile.ZipFile(built) as z:
        (vml,) = [n for n in z.namelist() if n.endswith(".vml")]
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xml xmlns:v="urn:schemas-'
        'microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:'
        'schemas-microsoft-com:office:excel">'
    )
    shapes = "".join(
        _LO_NOTE_SHAPE.format(row=2 + n // 200, column=1 + n % 200) for n in range(1700)
    )
    drawing = (head + shapes + "</xml>").encode()
    saved = rebuild(built, tmp_path / "saved.xlsx", replace_parts={vml: drawing})
    with zipfile.ZipFile(saved) as z:
        info = z.getinfo(vml)
    assert info.file_size > 1_000_000 and info.file_size > 100 * info.compress_size
    assert verify_workbook(saved, variants=0).ok


@pytest.mark.parametrize("head", ["class", "Class", "x3"])
def test_one_column_of_class_numbers_feeds_a_softmax(tmp_path: Path, head: str) -> None:
    """`--layers 2-3-3` on `x1,x2,class` was refused ("has 3 columns, too few for 2 inputs
    and 3 targets") though the README writes such a column one-hot: a column named `class`
    (or not named as a target at all) beside as many inputs as the network takes is it."""
    data = tmp_path / "classes.csv"
    data.write_text(f"x1,x2,{head}\n0,0,0\n0,1,1\n1,0,2\n1,1,1\n", encoding="utf-8")
    argv = ["build", "training", "--layers", "2-3-3", "--loss", "cross-entropy", "--steps", "2"]
    assert main([*argv, "--data", str(data), "-o", str(tmp_path / "t.xlsx")]) == 0
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    lay = resolve_layout("training:layers=2-3-3,examples=4,steps=2,loss=cross-entropy")
    targets = [
        [ws[lay.by_quantity[f"example{m}.target{j}"].at].value for j in (1, 2, 3)]
        for m in (1, 2, 3, 4)
    ]
    assert targets == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]]


def test_a_column_named_class_is_a_target() -> None:
    data = parse_csv("x1,x2,class\n0,0,0\n0,1,1\n", "c.csv", None)
    assert (data.inputs, data.outputs) == (2, 1)


def test_grade_leaves_the_servers_own_store_out_silently(tmp_path: Path) -> None:
    """`grade` of a `serve --collect` folder (and the teacher's pages) listed the server's
    own `.sheetgen` store as "Skipped 1 file: …/.sheetgen: a hidden or system folder", for
    every class; another hidden folder is still listed."""
    (tmp_path / ".sheetgen" / "versions").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    build(tmp_path / "s001-Ana" / "s001-Ana.xlsx", "single_neuron")
    got = gather([tmp_path])
    assert [p.name for p in got.files] == ["s001-Ana.xlsx"]
    assert [Path(s).name for s, _ in got.skipped] == [".git"]


def test_momentum_is_not_told_about_an_epsilon_it_does_not_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Momentum on large inputs was refused with RMSProp's and Adam's reasons: "which the
    optimizer divides by its own root … or a larger epsilon" (momentum has neither)."""
    data = tmp_path / "big.csv"
    data.write_text("x1,x2,target\n1e8,0,0\n0,1,1\n1,0,1\n1,1,0\n", encoding="utf-8")
    argv = ["build", "training", "--data", str(data), "--optimizer", "momentum", "--steps", "30"]
    assert main([*argv, "-o", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # the path names an epsilon
    assert "could not be checked" in err and "epsilon" not in err and "root" not in err


def test_too_many_steps_says_how_many_fit(capsys: pytest.CaptureFixture[str]) -> None:
    """`--data xor --steps 2000` said "Use fewer steps" without how many: the user guessed."""
    argv = ["build", "training", "--data", "xor", "--steps", "2000", "-o", "never.xlsx"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    found = re.search(r"about ([\d,]+) cells; at most ([\d,]+) fit .* at most ([\d,]+) steps", err)
    assert found is not None, err
    cells, limit, fit = (int(n.replace(",", "")) for n in found.groups())
    assert fit * cells // 2000 <= limit < (fit + 1) * cells // 2000
    with pytest.raises(SheetgenError, match=f"at most {fit:,} steps"):
        resolve_layout(f"training:layers=2-2-1,examples=4,steps={fit + 1}")


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "a workbook, not a CSV file"),  # the learner's .xlsx given as --data
        (bytes(range(256)) * 8, "not a CSV file"),
        (b'x1,x2,target\n"0,0,0\n', "not a CSV file"),  # a quote never closed
    ],
    ids=["xlsx", "binary", "open-quote"],
)
def test_a_data_file_that_is_no_csv_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, said: str
) -> None:
    """A workbook or binary file given as --data was "internal error (Error: new-line
    character seen in unquoted field - do you need to open the file in universal-newline
    mode?)"."""
    data = tmp_path / "points.csv"
    if content is None:
        data = build(tmp_path / "points.xlsx", "single_neuron")
    else:
        data.write_bytes(content)
    argv = ["build", "training", "--data", str(data), "--steps", "2"]
    assert main([*argv, "-o", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err
    assert said in err and "internal error" not in err and len(err.strip().splitlines()) == 1


def test_a_specs_examples_against_the_data_names_data_not_a_flag_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`build training:layers=2-2-1,examples=5 --data xor` said "(5 in the spec, 4 as
    --examples)": there is no --examples; the 4 comes from the data."""
    argv = ["build", "training:layers=2-2-1,examples=5", "--data", "xor", "--steps", "2"]
    assert main([*argv, "-o", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "--examples" not in err and "4 in --data xor" in err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["serve", "--port", "99999"], "--port: must be at most 65535, not 99999"),
        (["grade", ".", "--points", "-1"], "--points: must be more than 0, not -1"),
        (["grade", ".", "--points", "inf"], "--points: must be a finite number"),
        (["grade", ".", "--roster", "nosuch.csv"], "The roster nosuch.csv does not exist."),
    ],
    ids=["port", "points", "points-inf", "roster"],
)
def test_bad_options_are_one_sentence(
    argv: list[str],
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`serve --port 99999` printed an asyncio traceback then "internal error (OverflowError:
    bind(): port must be 0-65535.)"; `grade --points -1` wrote a grade book out of -1
    points; a missing roster was "No the roster at nosuch.csv."."""
    monkeypatch.chdir(tmp_path)
    build(tmp_path / "learner.xlsx", "single_neuron")
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's refusal of an argument
        code = int(stop.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_long_builds_seconds_are_wiped_before_what_follows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a terminal, a long build left "Building big3.xlsx 00:06" on its line, and "Wrote
    big3.xlsx" was printed after it on the same line: tqdm clears at close only a line it
    drew itself, and the ticking thread drew it through refresh()."""
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(progress, "DELAY", 0.1)
    shown = Terminal()
    with progress.ticking("Building big.xlsx", stream=shown):
        time.sleep(0.5)
    text = shown.getvalue()
    assert "Building big.xlsx 00:00" in text
    *_, last, end = text.split("\r")
    assert end == "" and last.strip() == "" and len(last) >= len("Building big.xlsx 00:00")


def test_a_batch_larger_than_one_example_is_said_in_good_english() -> None:
    """ "batch must be between 1 and the 1 examples of the data, not 2"."""
    with pytest.raises(SheetgenError) as refused:
        resolve_layout("training:layers=2-2-1,examples=1,batch=2,steps=2")
    assert str(refused.value) == "batch must be 1 (the data has 1 example), not 2."


@pytest.mark.parametrize(
    ("quantity", "group"),
    [
        ("step1.example1.global.n2_1.output", "step 1: global gradients"),
        ("step2.example3.local.n1_1.net", "step 2: local gradients"),
        ("step1.example1.n1_1.net", "step 1: forward pass"),
        ("step1.moment1.w1_1_1", "step 1: optimizer state"),
        ("step3.velocity.b2_1", "step 3: optimizer state"),
        ("step1.global.w1_1_1", "step 1: global gradients"),
        ("step1.new.w1_1_1", "step 1: update"),
        ("local.net", "local gradients"),
    ],
)
def test_the_autograders_tests_name_what_their_cells_are(quantity: str, group: str) -> None:
    """A data set's hand-out graded on Gradescope showed learners "step 1: forward pass (X17,
    Y17, …)" for each example's backpropagation, and Adam's moments as a forward pass too."""
    assert cell_group(quantity) == group


def test_a_teachers_script_builds_from_a_csv_what_the_command_line_builds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A script could build a data set's sheet only through private modules (the CSV was read
    inside the command line's code): `read_data` is the command line's own reading."""
    points = tmp_path / "classes.csv"
    points.write_text("x1,x2,class\n0,0,0\n0,1,1\n1,0,2\n1,1,1\n", encoding="utf-8")
    argv = ["build", "training", "--data", str(points), "--layers", "2-3-3", "--steps", "3"]
    assert main([*argv, "-o", str(tmp_path / "cli.xlsx")]) == 0
    said = capsys.readouterr().err
    data = sheetgen.read_data(points, "2-3-3")
    assert data.notes[0] in said and data.examples == 4
    lib = build(tmp_path / "lib.xlsx", data.spec(steps=3), **data.values)  # type: ignore[arg-type]
    cells = [
        [(c.coordinate, c.value) for row in openpyxl.load_workbook(p).active for c in row]
        for p in (tmp_path / "cli.xlsx", lib)
    ]
    assert cells[0] == cells[1]
    assert verify_workbook(lib, variants=0).ok


@pytest.mark.parametrize(("given", "rows"), [("ALL", None), ("None", ()), (" all ", None)])
def test_faux_all_and_none_in_any_case(given: str, rows: tuple[str, ...] | None) -> None:
    """`--faux ALL` was refused as "no weight or bias 'ALL'"."""
    from sheetgen.maths.network import parse_faux

    assert parse_faux(given, (2, 2, 1)) == rows


def test_a_negative_number_of_faux_rows_is_said_so() -> None:
    """`--faux -3` said "no weight or bias '-3'"."""
    from sheetgen.errors import UsageError
    from sheetgen.maths.network import parse_faux

    with pytest.raises(UsageError, match=r"0 or more, not -3\."):
        parse_faux("-3", (2, 2, 1))


def test_too_many_steps_of_a_network_says_how_many_fit() -> None:
    """A network's training that is too large said "Use fewer steps or neurons." alone; the
    number that fits is what the learner needs (as `--data`'s refusal gives it)."""
    import re

    from sheetgen.errors import UsageError
    from sheetgen.layouts.network_training import MAX_CELLS

    with pytest.raises(UsageError) as refused:
        resolve_layout("training:layers=10-10-1,steps=10000")
    said = re.search(r"make ([\d,]+) cells.*Use at most ([\d,]+) steps", str(refused.value))
    assert said is not None
    cells, most = (int(n.replace(",", "")) for n in said.groups())
    width = cells // 10000
    assert most * width <= MAX_CELLS < (most + 1) * width
