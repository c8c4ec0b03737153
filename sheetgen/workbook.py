"""Open a workbook we did not write, turning every way it can fail into one sentence."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.workbook.workbook import Workbook

from .errors import InputFileError


def open_workbook(path: Path) -> Workbook:
    """Load ``path`` with formulas (not cached values), read-only on disk: never modified."""
    if not path.exists():
        raise InputFileError(f"{path} does not exist.")
    if not path.is_file():
        raise InputFileError(f"{path} is not a regular file.")
    if not zipfile.is_zipfile(path):
        raise InputFileError(f"{path} is not an .xlsx workbook (it is not even a zip file).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it drops
            return openpyxl.load_workbook(path, data_only=False, keep_links=False)
    except Exception as exc:
        raise InputFileError(f"{path} cannot be read as an .xlsx workbook ({exc}).") from None
