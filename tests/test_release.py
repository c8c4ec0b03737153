"""sheetgen behaves like a released tool: the files it writes, the names and encodings it meets,
the options it accepts, and the process it runs in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sheetgen import OutputExistsError, build
from sheetgen.cli import FAMILY_OPTIONS, build_spec, default_output, main, make_parser
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import Layout
from sheetgen.writer.files import write_atomically

from .conftest import edit

needs_posix = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and names")


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """``sheetgen ARGS`` in a fresh process (run from the temporary folder, so that the
    installed sheetgen runs, not the checkout's), its output as raw bytes."""
    return subprocess.run(
        [sys.executable, "-m", "sheetgen", *args],
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        cwd=tempfile.gettempdir(),
    )


# ------------------------------------------------------------------------------------------
# Written files


@needs_posix
def test_new_files_get_the_usual_permissions_and_force_keeps_the_replaced_files(
    tmp_path: Path, umask: None
) -> None:
    shared = build(tmp_path / "shared.xlsx")
    assert shared.stat().st_mode & 0o777 == 0o644
    os.umask(0o077)
    private = build(tmp_path / "private.xlsx")
    assert private.stat().st_mode & 0o777 == 0o600
    shared.chmod(0o640)
    build(shared, force=True, weight=0.5)
    assert shared.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["private.xlsx", "shared.xlsx"]


@needs_posix
def test_force_writes_through_a_symbolic_link(tmp_path: Path) -> None:
    real = build(tmp_path / "real.xlsx")
    link = tmp_path / "link.xlsx"
    link.symlink_to(real.name)
    with pytest.raises(OutputExistsError):
        build(link)
    before = real.stat().st_ino
    build(link, force=True, weight=0.123)
    assert link.is_symlink() and real.stat().st_ino != before  # the file it points to, replaced
    dangling = tmp_path / "dangling.xlsx"
    dangling.symlink_to("nowhere.xlsx")
    with pytest.raises(OutputExistsError):
        build(dangling)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "kept.txt"
    target.write_text("old")

    def fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_atomically(target, fail, force=True)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_any_name_the_file_system_takes_works_and_one_it_refuses_is_a_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    longest = tmp_path / ("n" * 250 + ".xlsx")  # 255 bytes, the usual limit
    assert main(["build", "-o", str(longest)]) == 0
    assert longest.is_file()
    too_long = tmp_path / ("n" * 300 + ".xlsx")
    capsys.readouterr()
    assert main(["build", "-o", str(too_long)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "longer than the file system allows" in err


# ------------------------------------------------------------------------------------------
# Outputs are settled before any work


def test_outputs_are_checked_before_any_work(
    article: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("x.csv", "x.ods", "x", "x.xlsm"):
        assert main(["build", "-o", str(tmp_path / name)]) == 2
        assert not (tmp_path / name).exists()
        assert "writes workbooks as .xlsx" in capsys.readouterr().err
    assert main(["build", "-o", ""]) == 2
    assert "empty name" in capsys.readouterr().err
    assert main(["build", "-o", str(tmp_path / "no" / "x.xlsx")]) == 2
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "no").exists()
    existing = tmp_path / "existing.csv"
    existing.write_text("mine")
    assert main(["grade", str(article), "-o", str(existing), "--no-progress"]) == 2
    assert main(["verify", str(article), "--annotate", str(article)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing was graded or verified first
    assert err.count("already exists. Pass --force") == 1
    assert "must not overwrite the learner's workbook" in err  # --force would not help there
    assert existing.read_text() == "mine"


# ------------------------------------------------------------------------------------------
# Flags and specs


def spec_of(*argv: str) -> str:
    return build_spec(make_parser().parse_args(["build", *argv]))


FLAG_VALUES = {
    "layers": "2,2,1",
    "steps": "3",
    "learning_rate": "0.5",
    "activation": "sigmoid",
    "loss": "squared",
    "difference": "central",
    "inputs": "2",
    "distance": None,
}


def test_every_family_option_has_a_flag_and_every_flag_an_option() -> None:
    """The families' own option lists and the command's flags agree, both ways."""
    from sheetgen.layouts import batch_training, network_training, training
    from sheetgen.layouts import network as network_layout
    from sheetgen.layouts import neuron as variants

    declared = {
        "network": set(network_layout.OPTIONS),
        "training": set(training.OPTIONS)
        | set(network_training.OPTIONS)
        | set(batch_training.BATCH_OPTIONS),
        "neuron": set(variants.Options.__dataclass_fields__),
    }
    assert {k: set(v) for k, v in FAMILY_OPTIONS.items()} == declared
    for family, options in FAMILY_OPTIONS.items():
        for option in FLAG_VALUES:
            flag = ["--" + option.replace("_", "-")]
            if FLAG_VALUES[option] is not None:
                flag.append(str(FLAG_VALUES[option]))
            if option in options:
                spec = spec_of(family, *flag)
                assert option in spec
                resolve_layout(spec)  # and it builds
            else:
                assert main(["build", family, *flag, "-o", "never.xlsx"]) == 2
    assert "loss=squared" in spec_of("network", "--loss", "squared")
    assert "loss=squared" in spec_of("training", "--loss", "squared")
    # --data sets examples (the data set's shape, never its file) as the build reads the data
    assert "batch=2" in spec_of("training", "--batch", "2")
    resolve_layout("training:layers=2-2-1,examples=4,batch=2")
    assert main(["build", "--steps", "3", "-o", "never.xlsx"]) == 2  # the article: no steps
    assert main(["build", "network:loss=squared", "--loss", "half-squared"]) == 2  # twice


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "x.xlsx", "--variants", "-1"],
        ["grade", "x", "--workers", "0"],
        ["grade", "x", "--workers", "-3"],
        ["build", "training", "--steps", "0"],
    ],
)
def test_numbers_are_range_checked(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2


def test_default_names_come_from_the_whole_spec() -> None:
    specs = [
        spec_of("training:steps=5,learning_rate=0.5"),
        spec_of("training:steps=5,learning_rate=0.1"),
        spec_of("network", "--layers", "2,3,1"),
        spec_of("network", "--layers", "2,3,1", "--activation", "relu"),
        spec_of("training", "--steps", "5"),
        spec_of("training", "--steps", "5", "--activation", "sigmoid"),
        spec_of("training", "--steps", "5", "--layers", "2,2,1"),
        spec_of("--activation", "sigmoid"),
        spec_of(),
    ]
    names = [default_output(spec).name for spec in specs]
    assert len(set(names)) == len(names), names
    assert len({*names, "exercise_single_neuron.xlsx"}) == len(names) + 1
    assert "0.5" in names[0] and "0.1" in names[1]
    assert names[-1] == "single_neuron.xlsx"


# ------------------------------------------------------------------------------------------
# Encodings and names


@pytest.fixture
def wrong(article: Path, layout: Layout) -> Path:
    """A learner's workbook with one wrong formula: its report has arrows and Greek."""
    return edit(article, article.with_name("wrong.xlsx"), layout, {"local.net": "=1-{output}^3"})


@pytest.mark.parametrize(
    "env",
    [
        {"PYTHONIOENCODING": "cp1252"},
        {"PYTHONIOENCODING": "ascii"},
        {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""},
    ],
)
def test_reports_print_whole_in_any_encoding(wrong: Path, env: dict[str, str]) -> None:
    utf8 = run("verify", str(wrong), env={"PYTHONIOENCODING": "utf-8"})
    shown = run("verify", str(wrong), env=env)
    assert (shown.returncode, utf8.returncode) == (1, 1), shown.stderr
    assert shown.stdout.count(b"\n") == utf8.stdout.count(b"\n")
    as_json = run("verify", str(wrong), "--json", env=env)
    assert as_json.returncode == 1 and as_json.stdout.isascii()
    assert json.loads(as_json.stdout)["roots"]
    grade = run("grade", str(wrong), "--no-progress", "--workers", "1", env=env)
    assert grade.returncode == 1 and b"wrong" in grade.stdout
    for command in (["templates"], ["reference", "--all"], ["build", "--help"]):
        done = run(*command, env=env)
        assert done.returncode == 0 and done.stdout and not done.stderr, (command, done.stderr)


@needs_posix
def test_non_utf8_names_never_raise(article: Path, tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9"
    learner = Path(os.fsdecode(raw + b".xlsx"))
    learner.write_bytes(article.read_bytes())
    as_json = run("verify", os.fsdecode(raw + b".xlsx"), "--json")
    assert as_json.returncode == 0 and as_json.stdout.isascii(), as_json.stderr
    assert json.loads(as_json.stdout)["path"].endswith("caf\\xe9.xlsx")
    report = os.fsdecode(raw + b"-report.csv")
    graded = run("grade", str(learner), "-o", report, "--no-progress")
    assert graded.returncode == 0, graded.stderr
    assert b"caf\\xe9" in Path(report).read_bytes() and b"Wrote" in graded.stderr
    Path(report).read_text(encoding="utf-8")  # valid UTF-8


def test_messages_show_the_path_as_typed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(tmp_path / "returned" / "alice.xlsx")]) == 2
    assert f"{tmp_path}/returned/alice.xlsx does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# The library leaves its host alone

HOST = """
import logging, os, sys
logging.basicConfig()  # a host that logs: the engine's errors must not reach its log
import formulas, formulas.functions
watched = ("", "schedula", "formulas", "schedula.utils.sol")
levels = {n: (logging.getLogger(n).level, logging.getLogger(n).disabled) for n in watched}
environ = dict(os.environ)
modules = {m: dict(vars(sys.modules[m])) for m in ("formulas", "formulas.functions")}

import sheetgen
from sheetgen import verify_workbook
report = verify_workbook(sys.argv[1])
assert not report.ok  # the sheet divides by zero somewhere: the engine had errors to log

assert dict(os.environ) == environ, set(os.environ.items()) ^ set(environ.items())
now = {n: (logging.getLogger(n).level, logging.getLogger(n).disabled) for n in watched}
assert now == levels, now
for name, before in modules.items():
    after = vars(sys.modules[name])
    changed = [k for k, v in before.items() if after.get(k) is not v]
    assert not changed, (name, changed)
stand_ins = [m for m, v in sys.modules.items() if type(v).__module__.startswith("sheetgen")]
assert not stand_ins, stand_ins
assert "Any" not in dir(sheetgen) and "sys" not in dir(sheetgen)
print("host untouched")
"""


def test_the_library_leaves_its_host_alone(article: Path, layout: Layout, tmp_path: Path) -> None:
    broken = edit(article, article.with_name("div0.xlsx"), layout, {"local.net": "=1/0"})
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    done = subprocess.run(
        [sys.executable, "-c", HOST, str(broken)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "host untouched\n" and done.stderr == ""


def test_a_host_that_makes_warnings_errors_gets_the_same_verdicts(
    article: Path, layout: Layout
) -> None:
    """numpy's overflow warning raised as an error would turn the engine's #NUM! into #VALUE!."""
    huge = edit(article, article.with_name("huge.xlsx"), layout, {"local.net": "=EXP(1000)"})
    plain = subprocess.run(
        [sys.executable, "-m", "sheetgen", "verify", str(huge), "--json"],
        capture_output=True,
        cwd=huge.parent,
    )
    strict = subprocess.run(
        [sys.executable, "-W", "error", "-m", "sheetgen", "verify", str(huge), "--json"],
        capture_output=True,
        cwd=huge.parent,
    )
    assert strict.stdout == plain.stdout and plain.stdout
    assert strict.stderr == plain.stderr == b""


# ------------------------------------------------------------------------------------------
# The README's Python examples run as written


def readme_examples() -> list[str]:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    library = readme.split("\n## Library\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", library, re.S)


@pytest.mark.parametrize("example", readme_examples())
def test_readme_examples_run_twice_in_an_empty_folder(example: str, tmp_path: Path) -> None:
    for attempt in (1, 2):  # the second run meets the first one's files
        done = subprocess.run(
            [sys.executable, "-c", example],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )
        assert done.returncode == 0, f"run {attempt}: {done.stderr}"
        assert done.stderr == "", f"run {attempt}: {done.stderr}"


def test_there_are_readme_examples() -> None:
    assert len(readme_examples()) >= 2


def test_grade_class_takes_limits_and_the_cli_passes_them_without_the_environment(
    article: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sheetgen import grade_class
    from sheetgen.workbook.safety import Limits

    before = dict(os.environ)
    twin = article.with_name("twin.xlsx")
    twin.write_bytes(article.read_bytes())
    tight = grade_class(  # two workers: the limits reach the worker processes
        [article, twin], workers=2, variants=0, limits=Limits(max_file_bytes=100)
    )
    assert [g.report for g in tight.graded] == [None, None]
    assert all("100" in (g.reason or "") for g in tight.graded)
    assert grade_class([article], workers=1, variants=0).ok
    assert main(["grade", str(article), "--limit", "max_file_bytes=100", "--no-progress"]) == 1
    assert "unreadable" in capsys.readouterr().out
    assert dict(os.environ) == before


def test_annotate_reads_within_the_limits_the_check_used(
    article: Path, layout: Layout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = edit(article, tmp_path / "wrong.xlsx", layout, {"local.net": "=1-{output}^3"})
    size = wrong.stat().st_size
    tight = ["--limit", f"max_file_bytes={size // 2}"]
    assert main(["verify", str(wrong), *tight]) == 2  # refused within the tight limit
    raised = ["--limit", f"max_file_bytes={size * 2}"]
    env = {"SHEETGEN_LIMITS": f"max_file_bytes={size // 2}"}
    out = tmp_path / "feedback.xlsx"
    done = run("verify", str(wrong), *raised, "--annotate", str(out), env=env)
    assert done.returncode == 1 and out.is_file(), done.stderr
    assert main(["verify", str(wrong), "--annotate", str(wrong), "--force"]) == 2
    assert capsys.readouterr().out == ""  # refused before the check
