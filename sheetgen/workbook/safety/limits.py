"""The limits every untrusted file is read within, and how a user raises them
(``--limit max_cells=1000000`` or ``SHEETGEN_LIMITS``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

from ...errors import UsageError

MB: Final = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Ceilings applied to an untrusted workbook; each default says why.

    The defaults were measured with openpyxl 3.1.5 on a 2-core machine: a
    workbook at every ceiling at once still loads in about ten seconds and well
    under 1 GB of memory, while every file sheetgen generates (and any plausible
    learner's edit of one) is orders of magnitude below them.
    """

    max_file_bytes: int = 50 * MB
    """Size of the file on disk.  The whole file is read into memory once (so it
    cannot change between checking and loading); 50 MB is far above any
    teaching workbook yet cheap to hold."""

    max_entries: int = 1000
    """Zip entries.  A generated workbook has about a dozen; zipfile builds an
    object per central-directory record, so millions of entries cost memory
    before a single byte is inflated."""

    max_entry_bytes: int = 100 * MB
    """Uncompressed size of one entry.  openpyxl reads most parts (styles,
    workbook, drawings) whole into memory and builds an element tree from them."""

    max_total_bytes: int = 300 * MB
    """Uncompressed size of all entries together, bounding inflate time (about
    one second per 300 MB) and what openpyxl can be asked to parse."""

    max_ratio: float = 100.0
    """Compression ratio (uncompressed / compressed) above which an entry is
    called a zip bomb.  Apache POI uses the same threshold (MIN_INFLATE_RATIO
    0.01); real sheet XML compresses 5-20 times."""

    ratio_floor_bytes: int = 16 * MB
    """The ratio is only enforced for entries larger than this: highly repetitive
    parts legitimately compress 100+ times (an empty styles table; the drawing
    LibreOffice saves for a sheet's notes, about 950 bytes a note in identical
    shapes, 136 to 1 for a few thousand notes) and cannot hurt anyone at this size:
    inflating 16 MB takes milliseconds, and ``max_entry_bytes`` and
    ``max_total_bytes`` bound every part whatever its ratio."""

    max_cells: int = 300_000
    """Cell objects openpyxl would create: ``<c>`` elements plus every cell a
    merged range, hyperlink range or comment expands into.  Measured here,
    openpyxl costs about 35-45 microseconds and 450-900 bytes per cell (1M cells:
    28 s, 450 MB; whole-sheet merges are where the 3.4 GB went), and the
    pre-scan about 6 microseconds.  ``verify`` reads cells itself during the
    pre-scan: the article's sheet beside 200,000 extra values verifies in about
    3 s and 100 MB (9 s and 240 MB through openpyxl); a learner's workbook has a
    few hundred cells.  The same ceiling
    applies to ``<row>`` elements, which become RowDimension objects."""

    max_sheet_area: int = 1_000_000
    """Rows x columns of a sheet's used range (A1 to the farthest cell, merge or
    claimed dimension), for files handed to openpyxl (``open_workbook``,
    ``load_checked``, ``check_file``).  Code that iterates ``ws.iter_rows()``
    creates a cell for every coordinate in that box; the ``formulas`` engine
    does exactly that, so one cell at XFD1048576 means 17 billion cells.
    ``verify`` reads with its own reader (``read_checked``), which keeps only
    the cells a sheet holds: there ``max_cells`` is the limit, and a sparse
    sheet is not refused for its extent."""

    max_text_chars: int = 1_000_000
    """Characters in one string (a shared string, inline string, formula or any
    other text run).  Excel itself stops at 32,767 characters per cell, so a
    longer string never comes from Excel."""

    max_xml_elements: int = 1_500_000
    """XML elements over all parts.  Bounds the time of the streaming pre-scan
    (about 4 microseconds per element) and the element trees openpyxl builds
    for parts it reads whole; a sheet at ``max_cells`` needs about 500,000."""

    max_xml_depth: int = 100
    """Element nesting depth.  Real parts nest fewer than 20 levels; openpyxl's
    recursive ``from_tree`` would hit Python's recursion limit on deep input."""

    max_shared_formula_chars: int = 2_000_000
    """Characters openpyxl re-tokenises to fill shared formulas: every cell
    that shares a formula costs the length of the master formula (openpyxl's
    Translator runs at about 3 microseconds per character here).  Without it
    one long master shared by 200,000 cells would take hours; 2M characters
    is ~50,000 filled-down formulas of 40 characters, about 6 s."""

    max_merge_link_pairs: int = 20_000
    """Hyperlinks inside merged ranges times merged ranges, per sheet.
    openpyxl moves each such hyperlink to its merge's top-left cell by testing
    every merged range in turn, parsing range strings each time (~100
    microseconds per test here): 300 of each took 6 s, 2,000 of each 91 s.
    At this ceiling the search costs at most ~3 s; hyperlinks elsewhere and
    merges without hyperlinks are not limited by it."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value <= 0:
                raise ValueError(f"Limits.{name} must be positive, not {value!r}")


DEFAULT_LIMITS: Final = Limits()

LIMITS_ENV: Final = "SHEETGEN_LIMITS"
"""Environment variable raising (or lowering) limits: ``max_cells=1000000,max_file_bytes=2e8``."""


def configured_limits(options: Iterable[str] = ()) -> Limits:
    """The default limits, changed by ``SHEETGEN_LIMITS`` and then by ``options``.

    Each option reads ``name=value`` (``max_cells=1000000``); for users who know their files
    and accept the time and memory a larger one costs.
    """
    env = os.environ.get(LIMITS_ENV, "")
    changes: dict[str, Any] = {}
    for item in [*filter(None, env.split(",")), *options]:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in Limits.__dataclass_fields__:
            known = ", ".join(Limits.__dataclass_fields__)
            raise UsageError(
                f"Unknown limit {item.strip()!r}; use name=value with one of: {known}."
            )
        try:
            number = float(value)
        except ValueError:
            raise UsageError(f"The limit {name} needs a number, not {value.strip()!r}.") from None
        if not number > 0 or number != number or number == float("inf"):
            raise UsageError(f"The limit {name} must be a positive number, not {value.strip()}.")
        changes[name] = number if name == "max_ratio" else int(number)
    return replace(DEFAULT_LIMITS, **changes) if changes else DEFAULT_LIMITS
