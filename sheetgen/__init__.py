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

from . import network_layout, training, variants  # noqa: F401  (register the layout families)
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
