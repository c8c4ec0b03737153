"""sheetgen: build and verify spreadsheets that teach backpropagation, cell by cell.

The library is what the ``sheetgen`` command calls; a teacher's script can call it too::

    from sheetgen import build, verify_workbook
    build("neuron.xlsx", weight=-0.3)
    report = verify_workbook("neuron.xlsx")
    assert report.ok

and so can a teacher's::

    from sheetgen import build_exercise, grade
    build_exercise("alice.xlsx", seed=1)          # the key: build("key.xlsx", seed's parameters)
    table = grade(["submissions/"])               # one row per learner (pandas DataFrame)
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily below: ``sheetgen --version`` must not load openpyxl
    from .annotate import annotate
    from .build import build, build_workbook
    from .errors import (
        InputFileError,
        LayoutNotFoundError,
        OutputExistsError,
        SheetgenError,
        TemplateError,
        UnsafeFileError,
        UsageError,
    )
    from .exercise import build_exercise, random_parameters
    from .grade import ClassReport, Graded, grade, grade_class, score
    from .layout import CellSpec, Layout, available_layouts, load_layout
    from .reference import Neuron
    from .verify import CellResult, Report, verify_workbook

__version__ = "0.1.0"

__all__ = [
    "CellResult",
    "CellSpec",
    "ClassReport",
    "Graded",
    "InputFileError",
    "Layout",
    "LayoutNotFoundError",
    "Neuron",
    "OutputExistsError",
    "Report",
    "SheetgenError",
    "TemplateError",
    "UnsafeFileError",
    "UsageError",
    "__version__",
    "annotate",
    "available_layouts",
    "build",
    "build_exercise",
    "build_workbook",
    "grade",
    "grade_class",
    "load_layout",
    "random_parameters",
    "score",
    "verify_workbook",
]

_HOME = {
    "annotate": ".annotate",
    "build": ".build",
    "build_workbook": ".build",
    "InputFileError": ".errors",
    "LayoutNotFoundError": ".errors",
    "OutputExistsError": ".errors",
    "SheetgenError": ".errors",
    "TemplateError": ".errors",
    "UnsafeFileError": ".errors",
    "UsageError": ".errors",
    "CellSpec": ".layout",
    "Layout": ".layout",
    "available_layouts": ".layout",
    "load_layout": ".layout",
    "Neuron": ".reference",
    "build_exercise": ".exercise",
    "random_parameters": ".exercise",
    "ClassReport": ".grade",
    "Graded": ".grade",
    "grade": ".grade",
    "grade_class": ".grade",
    "score": ".grade",
    "CellResult": ".verify",
    "Report": ".verify",
    "verify_workbook": ".verify",
}


def __getattr__(name: str) -> Any:
    """PEP 562: import a public name's module on first use, so each command pays for its own."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """Keeps ``sheetgen.build`` the function once the submodule of the same name is imported.

    Importing ``sheetgen.build`` sets the package attribute ``build`` to the submodule; the
    eager imports used to overwrite it with the function, and so does this.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name in _HOME and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
