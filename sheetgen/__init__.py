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
    from .check.results import CellResult, Report
    from .check.verify import verify_workbook
    from .engine.compiled import FormulaCache
    from .errors import (
        InputFileError,
        LayoutNotFoundError,
        OutputExistsError,
        SheetgenError,
        TemplateError,
        TooLargeError,
        UnsafeFileError,
        UsageError,
    )
    from .layouts.layout import CellSpec, Layout, available_layouts, load_layout
    from .maths.neuron import Neuron
    from .report.annotate import annotate
    from .teacher.data import read_data
    from .teacher.exercise import build_exercise, random_parameters
    from .teacher.grade import grade, grade_class
    from .teacher.provenance import LearnerCode, learner_by_code, learner_code, read_codes
    from .teacher.results import ClassReport
    from .teacher.scoring import Graded, score
    from .writer.build import build, build_workbook

__version__ = "0.1.0"

__all__ = [
    "CellResult",
    "CellSpec",
    "ClassReport",
    "FormulaCache",
    "Graded",
    "InputFileError",
    "Layout",
    "LayoutNotFoundError",
    "LearnerCode",
    "Neuron",
    "OutputExistsError",
    "Report",
    "SheetgenError",
    "TemplateError",
    "TooLargeError",
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
    "learner_by_code",
    "learner_code",
    "load_layout",
    "random_parameters",
    "read_codes",
    "read_data",
    "score",
    "verify_workbook",
]

_HOME = {
    "annotate": ".report.annotate",
    "build": ".writer.build",
    "build_workbook": ".writer.build",
    "InputFileError": ".errors",
    "LayoutNotFoundError": ".errors",
    "OutputExistsError": ".errors",
    "SheetgenError": ".errors",
    "TemplateError": ".errors",
    "TooLargeError": ".errors",
    "UnsafeFileError": ".errors",
    "UsageError": ".errors",
    "CellSpec": ".layouts.layout",
    "Layout": ".layouts.layout",
    "available_layouts": ".layouts.layout",
    "load_layout": ".layouts.layout",
    "Neuron": ".maths.neuron",
    "build_exercise": ".teacher.exercise",
    "random_parameters": ".teacher.exercise",
    "ClassReport": ".teacher.results",
    "Graded": ".teacher.scoring",
    "grade": ".teacher.grade",
    "grade_class": ".teacher.grade",
    "score": ".teacher.scoring",
    "LearnerCode": ".teacher.provenance",
    "learner_by_code": ".teacher.provenance",
    "learner_code": ".teacher.provenance",
    "read_codes": ".teacher.provenance",
    "read_data": ".teacher.data",
    "CellResult": ".check.results",
    "Report": ".check.results",
    "verify_workbook": ".check.verify",
    "FormulaCache": ".engine.compiled",
}


def __getattr__(name: str) -> object:
    """PEP 562: import a public name's module on first use, so each command pays for its own.

    The modules that define ``build``, ``grade`` and ``annotate`` live in subpackages
    (``sheetgen.writer.build``...), so importing one never shadows the function of the same name.
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
