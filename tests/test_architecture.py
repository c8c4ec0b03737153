"""The package's shape: the import contracts in pyproject.toml hold, no module imports another
module's private names, and every folder says what it may import."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import sheetgen

PACKAGE = Path(sheetgen.__file__).parent
ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold() -> None:
    """Layers, the engine's monopoly on ``formulas``, no cycles within a folder (import-linter,
    in a child process: its own imports stay out of this one)."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is in the test extra"
    run = subprocess.run(
        [lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def _private_imports(text: str, relative: Path) -> list[str]:
    """The private names ``text``, the file at ``relative`` under sheetgen/, imports from other
    modules of the package (``from .verify import _fmt``, or anything from a ``_module``)."""
    parts = relative.with_suffix("").parts
    module = ".".join(("sheetgen", *parts)).removesuffix(".__init__")
    package = module if relative.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        if not source.startswith("sheetgen") or source == module:
            continue
        for alias in node.names:
            private = alias.name.startswith("_") and not alias.name.startswith("__")
            if private or any(p.startswith("_") for p in source.split(".")):
                found.append(f"{relative}:{node.lineno} {source}.{alias.name}")
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        for hit in _private_imports(path.read_text(encoding="utf-8"), path.relative_to(PACKAGE))
    ]
    assert offenders == []


def test_the_private_name_check_sees_an_offence() -> None:
    """The check above can fail: a private name from a sibling or from a parent's module."""
    text = "from .show import _number, number\nfrom ..a1 import name\nfrom .. import _x\n"
    assert _private_imports(text, Path("check/verify.py")) == [
        "check/verify.py:1 sheetgen.check.show._number",
        "check/verify.py:3 sheetgen._x",
    ]


def test_every_folder_says_what_it_may_import() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import:" in doc, f"{init.relative_to(PACKAGE)} does not say what it may import"


def test_every_folder_of_the_package_is_listed_for_the_wheel() -> None:
    """pyproject.toml names the packages one by one (templates come from elsewhere): a folder
    left out would be missing from the installed copy only."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "sheetgen").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert folders and folders <= listed
    assert listed - folders == {"sheetgen.templates", "sheetgen.templates.families"}
