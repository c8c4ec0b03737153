"""The fast verification path computes what ``formulas.ExcelModel`` computes, only faster.

The fast path loads only the engine's function modules a workbook uses and calls compiled
formulas' functions directly; these tests hold it to the engine's own answers.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sheetgen import a1, build, verify_workbook
from sheetgen.engine.evaluate import CellError, Evaluator, compile_formula
from sheetgen.layouts.layout import load_layout
from sheetgen.workbook.safety import open_workbook, read_checked

from .conftest import edit

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "TQDM_DISABLE": "1"}

# Edits a learner might make, written like the templates: {quantity} names a cell.
EDITS: dict[str, dict[str, str | float | None]] = {
    "article": {},
    "other inputs": {"input": -1.3, "weight": 2.5, "bias": -0.7, "target": 0.1, "tiny": 1e-6},
    "large inputs": {"input": 3e5, "weight": -2e-3, "bias": 41.0, "target": -0.9},
    "broken formulas": {
        "net": "={input}*{weight}+{bias}+1",
        "output": "=SINH({net})",
        "loss": "={error}^2/0",
        "local.net": "=TAHN({output})",
        "local.output": '="abc"',
        "global.output": None,
        "global.bias": 0.25,
        "nudge.net.gradient": "=({nudge.net.loss}-{loss})/Tiny+{nudge.net.gradient}",
    },
    "other functions": {
        "output": "=(EXP(2*{net})-1)/(EXP(2*{net})+1)",
        "loss": "=POWER({error},2)/2",
        "local.net": "=1-POWER({output},2)",
        "error": "=IF({output}>={target},{output}-{target},-({target}-{output}))",
        "net": "=SUM({input}:{bias})-{input}-{weight}-{bias}+{input}*{weight}+{bias}",
        "local.input": "=MAX({weight}:{weight})",
        "local.output": "=SQRT({error}^2)*SIGN({error})",
        "global.bias": "=MIN({global.net},1E+300)",
        "nudge.output.loss": "=SUMPRODUCT({nudge.output.error}:{nudge.output.error},"
        "{nudge.output.error})^2/2",
        "nudge.input.loss": "=AVERAGE({nudge.input.error}^2,{nudge.input.error}^2)/2",
    },
    "bad inputs": {"weight": "oops", "tiny": 0.0},
}


def make_workbook(folder: Path, name: str, edits: dict[str, str | float | None]) -> Path:
    """The article's workbook as ``sheetgen build`` writes it, then edited in openpyxl."""
    layout = load_layout()
    path = build(folder / f"{name.replace(' ', '_')}.xlsx")
    return edit(path, path, layout, edits) if edits else path


def excelmodel_values(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """The engine's own values, computed in a process that never imported sheetgen."""
    out = subprocess.run(
        [sys.executable, str(HERE / "excelmodel_values.py"), *map(str, paths)],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
        timeout=600,
    )
    result: dict[str, dict[str, Any]] = json.loads(out.stdout)
    return result


def same(ours: object, theirs: object) -> bool:
    if isinstance(ours, CellError):
        return isinstance(theirs, dict) and theirs.get("error") == ours.code
    if isinstance(ours, float) and not isinstance(ours, bool):
        if not isinstance(theirs, float):
            return False
        return ours == theirs or abs(ours - theirs) <= 1e-12 * max(abs(ours), abs(theirs))
    return ours == theirs


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("agreement")
    return {name: make_workbook(folder, name, edits) for name, edits in EDITS.items()}


@pytest.fixture(scope="module")
def engine(workbooks: dict[str, Path]) -> dict[str, dict[str, Any]]:
    return excelmodel_values(list(workbooks.values()))


@pytest.mark.parametrize("name", list(EDITS))
@pytest.mark.parametrize("reader", ["sheetgen.workbook.xlsx", "openpyxl"])
def test_fast_path_agrees_with_excelmodel(
    name: str, reader: str, workbooks: dict[str, Path], engine: dict[str, dict[str, Any]]
) -> None:
    """What verify computes (from its own reader, or from an openpyxl workbook a script hands
    it) is what ExcelModel computes from the same file."""
    layout = load_layout()
    path = workbooks[name]
    source = read_checked(path).book if reader == "sheetgen.workbook.xlsx" else open_workbook(path)
    ev = Evaluator(source)
    cells = [c for c in layout.cells if c.kind != "text"]
    ours = ev.evaluate((layout.sheet, c.at) for c in cells)
    theirs = engine[str(path)]
    differ = {
        c.at: (ours[(layout.sheet, c.at)], theirs.get(f"{layout.sheet.upper()}!{c.at}"))
        for c in cells
        if not same(ours[(layout.sheet, c.at)], theirs.get(f"{layout.sheet.upper()}!{c.at}"))
        # Excel and the engine show a circular reference as 0; we refuse to evaluate it.
        and getattr(ev.problems.get((layout.sheet, c.at)), "kind", "") != "circular"
    }
    assert differ == {}


def test_unknown_function_is_reported_as_such(workbooks: dict[str, Path]) -> None:
    layout = load_layout()
    report = verify_workbook(workbooks["broken formulas"])
    at = layout.by_quantity["local.net"].at
    (cell,) = [c for c in report.cells if c.cell == at]
    assert cell.status == "unsupported"
    assert "TAHN" in cell.message and "no spreadsheet application knows" in cell.message


def test_article_and_equivalent_formulas_verify(workbooks: dict[str, Path]) -> None:
    assert verify_workbook(workbooks["article"]).ok
    assert verify_workbook(workbooks["other inputs"]).ok
    report = verify_workbook(workbooks["other functions"])
    # Every rewrite is an equivalent formula but the SUMPRODUCT, which squares twice.
    assert {c.quantity for c in report.wrong} == {"nudge.output.loss", "nudge.output.gradient"}


# --- direct calls replay the engine's pipe exactly ------------------------------------------

FORMULAS = [
    "=TANH(B2*C2+D2)-E2^2/Tiny",
    "=IF(A1>0,SUM(A1:B3),-A1)",
    "=MAX(A1:A3)+MIN(1,2)",
    '=A1&"x"',
    "=-A1%",
    "=IFERROR(1/A1,2)",
    "=A1+A1*A1",
    "=SUMPRODUCT(A1:A3,B1:B3)",
    "=INDEX(A1:B3,2,1)",
    "=AND(A1,B1)",
    "=CHOOSE(2,A1,B1)",
    "=EXP(A1)",
    "=SQRT(A1)",
    "=POWER(A1,B1)",
    "=A1/B1",
    "=IF(A1,B1)",
    "=(1-TANH(A1)^2)*B1",
    "=LN(A1)",
    "=ISNUMBER(A1)",
    "=A1=B1",
    "=AVERAGE(A1:B3)",
]


def _arguments(inputs: tuple[str, ...], values: tuple[object, ...]) -> list[object]:
    import numpy as np
    from formulas import Ranges
    from openpyxl.utils.cell import range_boundaries

    args: list[object] = []
    for name, value in zip(inputs, itertools.cycle(values), strict=False):
        if ":" in name:
            c1, r1, c2, r2 = range_boundaries(name)
            assert c1 and r1 and c2 and r2
            shape = (r2 - r1 + 1, c2 - c1 + 1)
            array = np.array([value] * (shape[0] * shape[1]), dtype=object).reshape(shape)
            args.append(Ranges().push(name, array))
        else:
            args.append(value)
    return args


def _outcome(fn: Any, args: list[object]) -> tuple[str, str]:
    import numpy as np

    try:
        with np.errstate(all="ignore"):  # overflows are among the inputs; the engine says #NUM!
            result = fn(*args)
    except Exception as exc:
        return ("raises", type(exc).__name__)
    if isinstance(result, np.ndarray):
        return ("returns", repr(result.tolist()))
    return ("returns", repr(result))


@pytest.mark.parametrize("text", FORMULAS)
def test_direct_calls_match_the_engines_pipe(text: str) -> None:
    import schedula as sh
    from formulas.tokens.operand import XlError

    from sheetgen.engine.replay import Straight

    compiled = compile_formula(text)
    assert isinstance(compiled.function, Straight), "every formula here should be replayed"
    pipe = compiled.function.pipe
    values = [0.5, -2.0, 0.0, "x", True, XlError("#DIV/0!"), sh.EMPTY, 1e308]
    for combo in itertools.product(values, repeat=min(2, len(compiled.inputs))):
        args = _arguments(compiled.inputs, combo)
        assert _outcome(compiled.function, args) == _outcome(pipe, args), combo


def verified_in_a_fresh_process(path: Path, show: str) -> list[str]:
    """Verify ``path`` in a new interpreter (it must pass), then print ``show`` there."""
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('error')\n"
        "from sheetgen import verify_workbook\n"
        f"assert verify_workbook({str(path)!r}).ok\n"
        f"print({show})\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True
    )
    return out.stdout.split()


def test_scipy_free_sheet_never_imports_scipy(tmp_path: Path) -> None:
    loaded = verified_in_a_fresh_process(build(tmp_path / "n.xlsx"), "'scipy' in sys.modules")
    assert loaded == ["False"]


def test_a_relu_sheet_uses_max_without_importing_scipy(tmp_path: Path) -> None:
    """MAX lives in the engine's statistics module, which imports scipy at its top."""
    path = build(tmp_path / "relu.xlsx", "neuron:activation=relu")
    shown = "'formulas.functions.stat' in sys.modules, [m for m in sys.modules if 'scipy' in m]"
    assert verified_in_a_fresh_process(path, shown) == ["True", "[]"]


def test_statistics_functions_still_load_scipy_when_called() -> None:
    """Deferred is not missing: each function gets the real scipy when it runs."""
    code = (
        "import sys\n"
        "from sheetgen.engine.evaluate import compile_formula\n"
        "from formulas import Ranges\n"
        "import numpy as np\n"
        "print(compile_formula('=MAX(0,A1)').function(-2.0))\n"
        "print('scipy.stats' in sys.modules)\n"
        "print(compile_formula('=KURT(A1,B1,C1,D1,E1)').function(1.0, 2.0, 3.0, 4.0, 9.0))\n"
        "r = Ranges().push('A1:A5', np.array([[1.0], [2.0], [3.0], [4.0], [9.0]], object))\n"
        "print(compile_formula('=PERCENTILE.INC(A1:A5,0.3)').function(r))\n"
        "import scipy.stats, scipy.interpolate\n"
        "print(type(scipy.stats).__name__, type(scipy.interpolate).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True
    )
    lines = out.stdout.split("\n")
    assert lines[0] in ("0", "0.0", "[[0]]", "[[0.0]]")
    assert lines[1] == "False"
    xs = [1.0, 2.0, 3.0, 4.0, 9.0]  # Excel's KURT, from its documented formula
    n, mean = len(xs), sum(xs) / len(xs)
    s2 = sum((x - mean) ** 2 for x in xs) / (n - 1)
    kurt = n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * sum((x - mean) ** 4 for x in xs) / s2**2
    kurt -= 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))
    assert float(lines[2].strip("[]")) == pytest.approx(kurt, rel=1e-12)
    assert float(lines[3].strip("[]")) == pytest.approx(2.2)  # Excel: PERCENTILE.INC = 2.2
    assert lines[4] == "module module"  # everyone else gets the real scipy


# --- the engine's own function table ------------------------------------------------------


def _eager_table() -> dict[str, Any]:
    """The table as ``formulas.functions.get_functions()`` builds it, rebuilt independently."""
    import importlib

    import formulas.functions as base

    table: dict[str, Any] = {}
    for module in base.SUBMODULES:
        table.update(importlib.import_module(module, base.__name__).FUNCTIONS)
    table.update(base.FUNCTIONS)
    return table


def test_the_engine_keeps_its_own_function_table(article: Path) -> None:
    """Deferring scipy changes when it loads, never which function a name runs."""
    import formulas.functions as base

    assert verify_workbook(article).ok
    assert hasattr(base.get_functions, "cache_info")  # the engine's own, not a replacement
    table = base.get_functions()
    for name, fn in _eager_table().items():
        assert table[name] is fn, name


UNDEFERRED = """
import sys, warnings
from sheetgen.engine import function_table as functions
functions._DEFERRED = {}  # as if a formulas release took something else from scipy
from sheetgen import verify_workbook
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    assert verify_workbook(sys.argv[1]).ok
    assert verify_workbook(sys.argv[1]).ok
import formulas
print(len(caught), formulas.__version__ in str(caught[0].message), "scipy" in sys.modules)
"""


def test_a_formulas_that_imports_scipy_otherwise_is_one_warning_not_an_error(
    article: Path,
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", UNDEFERRED, str(article)],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
        cwd=article.parent,
    )
    assert out.stdout.split() == ["1", "True", "True"]


# --- start-up: each command imports what it needs -------------------------------------------


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True
    )
    return out.stdout.strip()


def test_importing_the_package_loads_nothing_heavy() -> None:
    code = (
        "import sys, sheetgen\n"
        "print(sorted(m for m in ('openpyxl', 'numpy', 'formulas', 'pandas') if m in sys.modules))"
    )
    assert _run(code) == "[]"


def test_public_names_still_resolve() -> None:
    import sheetgen

    for name in sheetgen.__all__:
        assert getattr(sheetgen, name) is not None
    importlib_build = sys.modules["sheetgen.writer.build"]
    assert sheetgen.build is importlib_build.build  # the function, not the submodule
    with pytest.raises(AttributeError):
        _ = sheetgen.no_such_name


def test_build_command_leaves_numpy_importable(tmp_path: Path) -> None:
    code = (
        "from sheetgen.cli import main\n"
        f"assert main(['build', '-o', {str(tmp_path / 'n.xlsx')!r}]) == 0\n"
        "import numpy\n"
        "from sheetgen import verify_workbook\n"
        f"print(verify_workbook({str(tmp_path / 'n.xlsx')!r}).ok)"
    )
    assert _run(code) == "True"


# --- batches ----------------------------------------------------------------------------------


def test_verify_each_streams_reports_and_errors_in_order(workbooks: dict[str, Path]) -> None:
    from sheetgen.check.batch import verify_each
    from sheetgen.errors import SheetgenError

    missing = workbooks["article"].with_name("missing.xlsx")
    paths = [workbooks["article"], missing, workbooks["broken formulas"]]
    results = list(verify_each(paths))
    assert [p for p, _ in results] == paths
    first, second, third = (r for _, r in results)
    assert not isinstance(first, SheetgenError) and first.ok
    assert isinstance(second, SheetgenError)
    assert not isinstance(third, SheetgenError) and not third.ok


# --- formulas filled down share one compilation ------------------------------------------------


def test_filled_formulas_compute_as_if_each_were_compiled_alone(tmp_path: Path) -> None:
    from sheetgen.engine import compiled, evaluate

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "S"
    for r in range(1, 6):
        ws[f"A{r}"] = r / 7
        ws[f"B{r}"] = -r
    ws["D1"] = 0.25
    fills = {
        "C": "=A{r}*B{r}+$D$1",  # relative and absolute
        "E": "=SUM(A{r}:B{r})-A$1",  # a range, a mixed reference
        "F": '=IF(A{r}>0.3,"A1",A{r}+B{r}^2)',  # text that looks like a reference
        "G": "=$A{r}+A{r}",  # the same cell twice, once anchored
        "H": "=G{r}*2+C{r}",  # reads other filled columns
    }
    for column, pattern in fills.items():
        for r in range(1, 6):
            ws[f"{column}{r}"] = pattern.format(r=r)
    ws["I1"] = "=$A1+A1"  # filled right: the anchored and relative references part ways
    ws["J1"] = "=$A1+B1"
    path = tmp_path / "filled.xlsx"
    wb.save(path)

    cells = [("S", f"{c}{r}") for c in fills for r in range(1, 6)] + [("S", "I1"), ("S", "J1")]
    compiled._compile_text.cache_clear()
    compiled.compile_formula.cache_clear()
    shared = Evaluator(open_workbook(path)).evaluate(cells)
    # formulas filled down share one compilation (those with ranges or text are compiled alone)
    assert compiled._compile_text.cache_info().currsize < len(cells)
    same = [compile_formula(fills["C"].format(r=r)).function for r in range(1, 6)]
    assert all(f is same[0] for f in same)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(evaluate, "compile_formula", compiled._compile_text)  # each text on its own
        alone = Evaluator(open_workbook(path)).evaluate(cells)
    assert shared == alone
    assert shared[("S", "J1")] == pytest.approx(1 / 7 - 1)


def test_a_named_cell_is_a_plain_cell_within_the_grid() -> None:
    """``a1.named_cell`` (the evaluator's and the layouts' test of a cell's name) says what
    ``PLAIN_CELL`` and ``within`` say together."""
    letters = [
        "A",
        "Z",
        "AA",
        "ZZ",
        "AAA",
        "XFC",
        "XFD",
        "XFE",
        "XGA",
        "YAA",
        "ZZZ",
        "AAAA",
        "a",
        "xfd",
    ]
    rows = ["0", "1", "01", "9", "10", "999999", "1048576", "1048577", "9999999", "10000000"]
    texts = [f"{c}{r}" for c in letters for r in rows]
    texts += ["", "A", "1", "$A$1", "A1:B2", "A1#", " A1", "A1 ", "Sheet1!A1", "TINY", "Aé1"]
    for text in texts:
        slow = bool(a1.PLAIN_CELL.fullmatch(text)) and a1.within(text)
        assert a1.named_cell(text) == slow, text


def test_a_formulas_shape_names_its_cells_in_order() -> None:
    assert a1.shape("=$b$5*C5+B5") == ("=A1*A2+A1", {"B5": "A1", "C5": "A2"})
    many = "=" + "+".join(f"B{r}" for r in range(1, 301)) + "+B1"
    shape, cells = a1.shape(many)
    assert shape == "=" + "+".join(f"A{n}" for n in range(1, 301)) + "+A1"
    assert cells == {f"B{r}": f"A{r}" for r in range(1, 301)}
    assert a1.shape("=Sheet1!B2*C2") == ("=Sheet1!B2*C2", {})


@pytest.mark.parametrize(
    "spec",
    [
        "single_neuron",
        "training:layers=2-2-1,examples=4,steps=3,optimizer=adam",
        "network:layers=2-3-1,activation=relu",
    ],
)
def test_the_usual_formulas_shortcut_computes_what_compute_does(tmp_path: Path, spec: str) -> None:
    """The evaluator's one-step computation of a formula whose inputs are plain numbers gives
    what its general path (``what_if``, which computes each asked cell's own formula that
    way) gives from the same inputs: on right sheets, and with errors, text, an empty cell
    and a division by zero among the inputs."""
    path = build(tmp_path / "x.xlsx", spec)
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    formulas = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    formulas = [c for c in formulas if c.value.startswith("=")]
    for k, cell in enumerate(formulas[1::7]):  # some cells' inputs turned odd
        cell.value = ["=1/0", '="x"', None, "=-1E308*10", "=0/0"][k % 5]
    wb.save(tmp_path / "odd.xlsx")
    for book in (path, tmp_path / "odd.xlsx"):
        ev = Evaluator(read_checked(book).book)
        title = ev.book.sheets[0].title
        refs = [(title, at) for at, c in ev.book.sheets[0].cells.items() if c.formula]
        found = ev.evaluate(refs)
        again = ev.what_if({}, refs)
        assert [repr(found[r]) for r in refs] == [repr(again[r]) for r in refs]
