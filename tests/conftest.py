"""Shared fixtures: build the article's workbook and edit it the way a learner would.

Edits name cells by quantity and write formulas with ``{quantity}`` references, resolved
through the layout, so no test repeats a cell address the template already holds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import openpyxl
import pytest
from hypothesis import settings

import sheetgen
from sheetgen import build, load_layout
from sheetgen.layouts.layout import Layout

os.environ.setdefault("TQDM_DISABLE", "1")  # for the tests' own ExcelModel runs

# Every property test draws the same examples on every run and machine (a fresh clone's CI
# must not fail by chance); a failure found while widening a search is pinned with @example.
# A test's own @settings keeps this unless it says otherwise.
settings.register_profile("sheetgen", derandomize=True, deadline=None)
settings.load_profile("sheetgen")


def installed_copy() -> Path | None:
    """Where ``pip install .`` (or a wheel) put sheetgen; None for an editable install.

    Only an installed distribution has a RECORD; the ``sheetgen.egg-info`` folder a build
    leaves in the checkout has not, and must not pass for one.
    """
    from importlib.metadata import distributions

    for dist in distributions(name="sheetgen"):
        if dist.read_text("RECORD") is None:
            continue
        init = next((f for f in dist.files or [] if str(f) == "sheetgen/__init__.py"), None)
        return None if init is None else Path(str(init.locate())).resolve()
    return None


# Users install with pip, a wheel or pipx: when sheetgen is installed that way, the tests must
# exercise that copy, not the checkout's folder shadowing it on sys.path.
_INSTALLED = installed_copy()
if _INSTALLED is not None and Path(sheetgen.__file__).resolve() != _INSTALLED:
    raise RuntimeError(
        f"The tests import sheetgen from {sheetgen.__file__}, not the installed {_INSTALLED}: "
        "run pytest with --import-mode=importlib from the venv's own pytest."
    )


@pytest.fixture(scope="session")
def layout() -> Layout:
    return load_layout("single_neuron")


@pytest.fixture
def article(tmp_path: Path) -> Path:
    """A freshly built article workbook in a temporary folder."""
    return build(tmp_path / "article.xlsx")


def resolve(layout: Layout, text: str) -> str:
    """Turn ``=1-{output}^3`` into ``=1-F2^3`` using the layout's addresses."""
    where = {q: c.at for q, c in layout.by_quantity.items()}
    return re.sub(r"\{([\w.]+)\}", lambda m: where[m.group(1)], text)


def edit(src: Path, dst: Path, layout: Layout, changes: Mapping[str, object]) -> Path:
    """Save a copy of ``src`` with cells (named by quantity) changed, as openpyxl would."""
    wb = openpyxl.load_workbook(src)
    ws = wb[layout.sheet]
    for quantity, value in changes.items():
        cell = ws[layout.by_quantity[quantity].at]
        cell.value = resolve(layout, value) if isinstance(value, str) else value
    wb.save(dst)
    return dst


def apply(wb: openpyxl.Workbook, sheet: str, edits: Mapping[str, object]) -> None:
    """Write ``edits`` (cell -> value or formula) in memory; ``("text", s)`` is stored as text,
    as a cell formatted as Text keeps a formula a learner typed into it."""
    ws = wb[sheet]
    for at, value in edits.items():
        cell = ws[at]
        if isinstance(value, tuple) and value[0] == "text":
            cell.value = value[1]
            cell.data_type = "s"
        else:
            cell.value = value


@pytest.fixture
def make(tmp_path: Path, layout: Layout) -> Callable[..., Path]:
    """``make("name", {"E3": "=1-F2"}, input=0.3)``: the built workbook with cells changed.

    The teacher-tool tests name cells by address on purpose: that is how a report names them.
    """
    from sheetgen.writer.build import build_workbook, parameters

    def _make(
        name: str = "learner", edits: Mapping[str, object] | None = None, **params: float
    ) -> Path:
        wb = build_workbook(layout, parameters(layout, params))
        apply(wb, layout.sheet, edits or {})
        path = tmp_path / f"{name}.xlsx"
        wb.save(path)
        return path

    return _make


def require_libreoffice() -> None:
    """Skip without LibreOffice, unless SHEETGEN_REQUIRE_LIBREOFFICE=1 (CI): then fail.

    Tests marked ``libreoffice`` get this before they start (:func:`pytest_runtest_setup`);
    a test that needs LibreOffice only halfway through calls it there.
    """
    from .support.libreoffice import missing

    reason = missing()
    if reason is None:
        return
    if os.environ.get("SHEETGEN_REQUIRE_LIBREOFFICE") == "1":
        pytest.fail(
            f"SHEETGEN_REQUIRE_LIBREOFFICE=1 but {reason}; "
            "apt-get install libreoffice-calc-nogui python3-uno",
            pytrace=False,
        )
    pytest.skip(reason)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every test marked ``libreoffice`` is skipped (or, in CI, failed) before its fixtures
    run when LibreOffice cannot be driven here."""
    if item.get_closest_marker("libreoffice") is not None:
        require_libreoffice()
