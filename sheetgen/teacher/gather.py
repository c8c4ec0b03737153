"""Which files of a class's folders are workbooks to grade, and why the others are not."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputFileError, shown

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods")
"""What ``grade`` collects from a folder: what LMSs hand back (an .ods is graded when the
reader supports it; otherwise its row says why)."""

_NOT_WORKBOOKS = {
    ".xls": "the old binary Excel format: open it and save it as .xlsx",
    ".xlsb": "Excel's binary format: open it and save it as .xlsx",
    ".numbers": "an Apple Numbers file: export it as .xlsx",
    ".csv": "a CSV file holds no formulas to check",
}


STORE = ".sheetgen"
"""The folder ``serve --collect`` keeps its index and every version in, inside the class's
folder: sheetgen's own, so left out without a word (every other hidden folder is listed)."""


@dataclass(frozen=True)
class Gathered:
    """The workbooks to grade, and every file left out with why."""

    files: tuple[Path, ...]
    skipped: tuple[tuple[str, str], ...]


def gather(paths: Iterable[Path | str]) -> Gathered:
    """Files as given; folders searched with their subfolders (one folder per learner, as LMS
    downloads are) for ``WORKBOOK_SUFFIXES``. Everything else in a folder is listed as skipped."""
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for item in paths:
        p = Path(item)
        if not p.exists() and not p.is_symlink():  # a mistake in the command, not a learner's
            raise InputFileError(f"{shown(item)} does not exist.")
        if not p.is_dir():
            files.append(p)
            continue
        for folder, dirs, names in os.walk(p):
            dirs.sort()
            for d in list(dirs):
                if d.startswith(".") or d == "__MACOSX":
                    dirs.remove(d)
                    if d != STORE:
                        skipped.append((str(Path(folder) / d), "a hidden or system folder"))
            for name in sorted(names):
                f = Path(folder) / name
                why = _skip_reason(f)
                if why is None:
                    files.append(f)
                else:
                    skipped.append((str(f), why))
    return Gathered(tuple(files), tuple(skipped))


def _skip_reason(f: Path) -> str | None:
    if f.is_symlink():
        return "a symbolic link (not followed)"
    if f.name.startswith("~$") or f.name.startswith(".~lock"):
        return "the lock file of a spreadsheet open at the time"
    if f.name.startswith("."):
        return "a hidden file"
    suffix = f.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return None if f.is_file() else "not a regular file"
    return _NOT_WORKBOOKS.get(suffix, f"not a workbook ({suffix or 'no extension'})")


def collect(paths: Iterable[Path | str]) -> list[Path]:
    """The workbooks to grade (see ``gather``)."""
    return list(gather(paths).files)
