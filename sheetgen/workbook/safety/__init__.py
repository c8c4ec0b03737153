"""Vet an untrusted workbook (.xlsx, .xlsm, or .ods for ``verify``) before and while it is parsed.

Learners send us workbooks, so every input is treated as hostile until proven
otherwise.  openpyxl and the ``formulas`` engine are written for trusted files:
used naively they inflate zip bombs into memory, keep a one-gigabyte shared
string, expand a merge over the whole sheet into 17 billion ``MergedCell``
objects, read ``/dev/zero`` forever and follow external links to other files on
disk.  This module stands in front of them:

1. :func:`check_file` reads the file once (bounded), refuses what is not a
   regular file, recognises non-xlsx containers by their magic bytes, checks the
   zip directory (entry count, names, methods, declared sizes, ratios) and then
   inflates every entry in chunks with a cap while a streaming expat pass counts
   cells, rows, merged and linked ranges, text sizes, XML elements and depth,
   and refuses DTDs and entity declarations.  Nothing is expanded into objects.
2. :func:`read_checked` (what ``verify`` uses) scans only the XML that
   ``sheetgen.workbook.xlsx`` will parse (every other XML part is still searched for
   DTDs and entities), and the reader takes each worksheet's cells from the
   very events of that scan (:class:`~sheetgen.workbook.xlsx.SheetCapture`), or, for the
   runs of rows common writers write, from one regular expression that counts them against
   the same limits and leaves everything else to expat (``sheetpass``): one
   parse, the *same bytes* (no second read, so the file cannot be swapped in
   between), and whatever goes wrong is one
   :class:`~sheetgen.errors.InputFileError` sentence.  It also reads an
   OpenDocument spreadsheet, whose ``content.xml`` is captured the same way
   (:class:`~sheetgen.workbook.ods.ContentCapture`, which counts repeated cells
   against the limits before expanding them).
3. :func:`open_workbook` (for commands that write workbooks) hands the same
   bytes, fully scanned, to openpyxl with defusedxml active, likewise.
Which formula text must never be evaluated (external references, DDE, web and file access,
dynamic references) is the engine's business: ``sheetgen.engine.hazards``.

Every message is one sentence with the file name in it; names that come from
the file (part names, link targets) are escaped so that a hostile name cannot
put terminal escape sequences on the user's screen.
"""

from .facts import CheckedBook, CheckedWorkbook, FileFacts
from .limits import DEFAULT_LIMITS, LIMITS_ENV, Limits, configured_limits
from .vet import check_file, load_checked, open_workbook, read_checked

__all__ = [
    "DEFAULT_LIMITS",
    "LIMITS_ENV",
    "CheckedBook",
    "CheckedWorkbook",
    "FileFacts",
    "Limits",
    "check_file",
    "configured_limits",
    "load_checked",
    "open_workbook",
    "read_checked",
]
