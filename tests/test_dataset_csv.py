"""The CSV files a teacher writes for ``--data`` are read as the spreadsheet that wrote them
meant them: Excel's UTF-8 export (a BOM, CRLF), its export in a locale whose decimal separator
is a comma (semicolons between the columns, ``0,5`` a number), its plain "CSV" (Windows-1252),
trailing empty columns, tabs; what stays ambiguous or is no number is one sentence, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from sheetgen import verify_workbook
from sheetgen.cli import main
from sheetgen.maths.dataset import parse_csv

XOR_ROWS = ((0.0, 0.0, 0.0), (0.0, 1.0, 1.0), (1.0, 0.0, 1.0), (1.0, 1.0, 0.0))

READ = {
    "excel utf-8 (bom, crlf)": "\ufeffx1,x2,target\r\n0,0,0\r\n0,1,1\r\n1,0,1\r\n1,1,0\r\n",
    "semicolons": "x1;x2;target\n0;0;0\n0;1;1\n1;0;1\n1;1;0\n",
    "tabs": "x1\tx2\ttarget\n0\t0\t0\n0\t1\t1\n1\t0\t1\n1\t1\t0\n",
    "trailing empty columns": "x1,x2,target,,\n0,0,0,,\n0,1,1,,\n1,0,1\n1,1,0,,\n",
    "quoted numbers": 'x1,x2,target\n"0","0","0"\n"0",1,"1"\n1,0,1\n1,1,0\n',
    "blank lines": "x1,x2,target\n\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n\n\n",
}


@pytest.mark.parametrize("case", READ)
def test_a_teachers_csv_is_read(case: str) -> None:
    data = parse_csv(READ[case].lstrip("\ufeff"), "d.csv", None)
    assert (data.inputs, data.outputs, data.rows) == (2, 1, XOR_ROWS)


def test_decimal_commas_between_semicolons_are_numbers() -> None:
    data = parse_csv("x1;x2;target\n0,5;-1,25;1\n1e-3;2,5E2;0\n", "d.csv", None)
    assert data.rows == ((0.5, -1.25, 1.0), (0.001, 250.0, 0.0))


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("x1,x2,target\n0,5,1,0\n", "row 2 has 4 values"),  # a decimal comma between commas
        ("x1;x2;target\n1.000,5;0;1\n", "'1.000,5' is not a number"),
        ("x1,x2,target,,\n0,0,0,,7\n", "first row should name every column"),
        ("x1,x2,target\n1e309,0,0\n", "1e309 is too large"),
    ],
)
def test_what_stays_ambiguous_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, said: str
) -> None:
    data = tmp_path / "d.csv"
    data.write_text(text)
    out = tmp_path / "t.xlsx"
    assert main(["build", "training", "--data", str(data), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_excels_plain_csv_in_windows_1252_is_read(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_bytes("Größe;Höhe;target\r\n0,5;1;1\r\n1;0;0\r\n".encode("cp1252"))
    out = tmp_path / "t.xlsx"
    argv = ["build", "training", "--data", str(data), "--steps", "2", "-o", str(out), "-q"]
    assert main(argv) == 0 and out.exists()


def test_target_columns_are_named_target_label_or_y_not_year() -> None:
    for header, inputs in (
        ("year,age,target", 2),
        ("x,yield,y", 2),
        ("a,b,Y_class", 2),
        ("a,y1,y2", 1),
        ("a,b,Label", 2),
    ):
        data = parse_csv(f"{header}\n1,2,3\n", "d.csv", None)
        assert (data.inputs, data.outputs) == (inputs, 3 - inputs), header


@pytest.mark.parametrize(
    ("labels", "first"), [((0, 1, 2, 1), 0), ((1, 2, 3, 3), 1), ((2, 2, 1, 1), 1)]
)
def test_class_numbers_for_a_softmax_are_written_one_hot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], labels: tuple[int, ...], first: int
) -> None:
    rows = "".join(f"{m % 2},{m // 2},{label}\n" for m, label in enumerate(labels))
    data = tmp_path / "d.csv"
    data.write_text("x1,x2,label\n" + rows)
    out = tmp_path / "t.xlsx"
    argv = ["build", "training", "--layers", "2-3-3", "--data", str(data), "--steps", "2"]
    assert main([*argv, "--loss", "cross-entropy", "-o", str(out)]) == 0
    assert f"(class {first} is target 1, class {first + 2} target 3)" in capsys.readouterr().err
    report = verify_workbook(out, variants=0)
    assert report.ok
    targets = {
        (m, j): report.parameters[f"example{m}.target{j}"] for m in (1, 2, 3, 4) for j in (1, 2, 3)
    }
    assert targets == {
        (m, j): float(j == labels[m - 1] - first + 1) for m in (1, 2, 3, 4) for j in (1, 2, 3)
    }


@pytest.mark.parametrize("labels", ["0,1,3", "1,2,4", "0,0.5,1", "-1,0,1"])
def test_other_numbers_in_one_target_column_for_several_outputs_are_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], labels: str
) -> None:
    data = tmp_path / "d.csv"
    data.write_text(
        "x1,x2,label\n" + "".join(f"0,{m},{v}\n" for m, v in enumerate(labels.split(",")))
    )
    argv = ["build", "training", "--layers", "2-3-3", "--data", str(data), "--loss"]
    assert main([*argv, "cross-entropy", "-o", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "one-hot" in err and "class numbers, 0 to 2 or 1 to 3" in err
    assert len(err.strip().splitlines()) == 1


def test_the_inferred_network_is_said_in_good_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x,target\n0,0\n1,1\n")
    assert main(["build", "training", "--data", str(data), "-o", str(tmp_path / "t.xlsx")]) == 0
    assert "(1 input and 1 target in " in capsys.readouterr().err
