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

from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING

if _TYPE_CHECKING:  # imported lazily below: ``sheetgen --version`` must not load openpyxl
    from ._annotate import annotate
    from ._build import build, build_workbook
    from ._grade import ClassReport, Graded, grade, grade_class, score
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
    "annotate": "._annotate",
    "build": "._build",
    "build_workbook": "._build",
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
    "ClassReport": "._grade",
    "Graded": "._grade",
    "grade": "._grade",
    "grade_class": "._grade",
    "score": "._grade",
    "CellResult": ".verify",
    "Report": ".verify",
    "verify_workbook": ".verify",
}


def __getattr__(name: str) -> object:
    """PEP 562: import a public name's module on first use, so each command pays for its own.

    The modules that define ``build``, ``grade`` and ``annotate`` have private names
    (``_build``...), so importing one never shadows the function of the same name.
    """
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, not the helpers this module uses."""
    return sorted(__all__)
