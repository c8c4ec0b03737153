"""sheetgen: build and verify spreadsheets that teach backpropagation, cell by cell.

The library is what the ``sheetgen`` command calls; a teacher's script can call it too::

    from sheetgen import build, verify_workbook
    build("neuron.xlsx", weight=-0.3)
    report = verify_workbook("neuron.xlsx")
    assert report.ok
"""

from . import network_layout, training  # noqa: F401  (register the layout families)
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
from .layout import CellSpec, Layout, available_layouts, load_layout
from .reference import Neuron
from .verify import CellResult, Report, verify_workbook

__version__ = "0.1.0"

__all__ = [
    "CellResult",
    "CellSpec",
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
    "available_layouts",
    "build",
    "build_workbook",
    "load_layout",
    "verify_workbook",
]
