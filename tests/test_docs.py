"""The README stays true: its commands are the ones CI runs, its pasted output is real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sheetgen.cli import main, make_parser
from sheetgen.layouts.layout import Layout

from .conftest import edit

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def console_blocks() -> dict[str, str]:
    """``$ command`` -> the output pasted under it, from the README's console blocks."""
    out = {}
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        command, _, output = block.partition("\n")
        out[command.removeprefix("$ ")] = output
    return out


def test_quick_start_has_two_commands_and_ci_runs_the_test_one() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick, re.S)
    assert len(commands) == 2
    assert "sheetgen build" in commands[0] and "sheetgen verify" in commands[0]
    assert "pytest" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_every_command_is_documented() -> None:
    sub = next(a for a in make_parser()._actions if a.dest == "command")
    for name, parser in sub.choices.items():  # type: ignore[union-attr]
        assert f"### `sheetgen {name}" in README, name
        assert parser.description or parser.format_help()


def test_pasted_reference_output_is_real(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reference"]) == 0
    assert capsys.readouterr().out == console_blocks()["sheetgen reference"]


def test_pasted_verify_output_is_real(
    capsys: pytest.CaptureFixture[str],
    article: Path,
    layout: Layout,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    command = next(c for c in console_blocks() if c.startswith("sheetgen verify"))
    shown_path = command.split()[2]
    (article.parent / "output").mkdir()
    edit(
        article,
        article.parent / shown_path,
        layout,
        {"local.net": "=1-{output}^3", "global.weight": -0.008},
    )
    monkeypatch.chdir(article.parent)
    assert main(command.split()[1:]) == 1
    assert capsys.readouterr().out == console_blocks()[command]


def test_the_benchmarks_credit_the_start_up_saving_to_what_the_code_does() -> None:
    """``sheetgen/engine/function_table.py`` imports every function module and defers scipy (see
    its tests in test_fast_engine.py); the write-ups must not credit loading modules on demand."""
    bench = (ROOT / "benchmarks" / "README.md").read_text()
    row = next(line for line in bench.splitlines() if "`sheetgen/engine/function_table.py`" in line)
    assert "scipy" in row and "deferr" in row, row
    assert "function modules on demand" not in bench
    assert "function modules a sheet uses are loaded" not in README
