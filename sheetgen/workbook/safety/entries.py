"""Every entry of a zip inflated in chunks with a cap; its XML scanned (``xmlscan``), a
worksheet's rows read at C speed where they allow it (``sheetpass``).

The submissions of one hand-out share most of their parts byte for byte (the theme, the
styles, the comments and their drawing, the relationships): what scanning such a part found
is remembered per process (:class:`_Scanned`, a ``memory.Memory``), keyed by everything the
scan depends on, the part's stored bytes themselves included, and replayed onto the next
file's budget.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from ...errors import InputFileError, SheetgenError, UnsafeFileError
from ..xlsx import BrokenXml, ReadError, SheetCapture
from .inflate import entry_chunks, entry_ends, plain_bytes
from .limits import Limits
from .memory import Memory
from .messages import count, damaged
from .sheetpass import SheetPass
from .xmlscan import INFLATE_CHUNK, Budget, Listener, XmlScan


def _looks_like_xml(name: str, head: bytes) -> bool:
    """Decide whether a part is XML from its name or its first bytes.

    The sniff matters because relationships can point openpyxl at a part with
    any name; whatever starts like XML is scanned before openpyxl may parse it.
    """
    if name.lower().endswith((".xml", ".rels", ".vml")):
        return True
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def _wide(head: bytes) -> bool:
    """UTF-16 (or NUL-padded) XML, whose declarations a byte search would not see."""
    return head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:64]


class _DeclarationSniff:
    """For XML no one will parse: refuse the declarations an XML bomb needs, all the same.

    A part that is only inflated and measured cannot explode, but a file carrying a bomb is
    hostile and is told so wherever the bomb sits; a byte search costs next to nothing.
    """

    def __init__(self, label: str, part: str, budget: Budget) -> None:
        self.label = label
        self.part = part
        self.budget = budget
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        window = self.tail + chunk
        if b"<!ENTITY" in window:
            raise UnsafeFileError(
                f"{self.label} contains an XML entity declaration in "
                f"{self.budget.where(self.part)} (a possible XML bomb)."
            )
        if b"<!DOCTYPE" in window:
            raise UnsafeFileError(
                f"{self.label} contains an XML document type declaration in "
                f"{self.budget.where(self.part)}, which workbooks never have (a possible XML "
                "bomb)."
            )
        self.tail = window[-16:]


_COUNTERS = ("inflated", "elements", "cells", "rows", "worksheets", "formula_work")


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What scanning one part without a listener added to the budget (in the order of
    ``_COUNTERS``) and left behind: its external-link targets, its bytes if they were kept."""

    added: tuple[int, ...]
    links: tuple[str, ...]
    kept: bytes | None


class _Scanned(Memory[_Outcome]):
    """Parts scanned without fault in this process, by everything the scan depends on: the
    part's name, declared size, CRC-32 and method, its stored bytes, the limits and which
    parts are parsed (the file's :meth:`scope`, one small number standing for both)."""

    def __init__(self, most: int = 16 * 1024 * 1024, entries: int = 4096) -> None:
        super().__init__(most, entries)
        self._scopes: dict[tuple[Any, ...], int] = {}

    def scope(self, limits: Limits, parsed: Callable[[str], bool] | None) -> int:
        """The number that stands for ``limits`` and ``parsed`` in this memory's keys: they
        are compared once a file, not once a part (a ``Limits`` hashes and compares in
        Python, field by field)."""
        key = (limits, parsed)
        number = self._scopes.get(key)
        if number is None:
            if len(self._scopes) >= self.entries:
                self.clear()  # numbers are only ever reused with the parts forgotten
            number = self._scopes[key] = len(self._scopes)
        return number

    def clear(self) -> None:
        self.forget()
        self._scopes.clear()


_SCANNED = _Scanned()


def _counts(budget: Budget) -> tuple[int, ...]:
    """The budget's counters, in the order of ``_COUNTERS``."""
    return (
        budget.inflated,
        budget.elements,
        budget.cells,
        budget.rows,
        budget.worksheets,
        budget.formula_work,
    )


def _replayed(outcome: _Outcome, budget: Budget) -> bool:
    """Add a remembered part's counts to ``budget``, unless a total would come near a limit
    (then the part is scanned again, so that a refusal is raised where and as it would be)."""
    limits = budget.limits
    inflated, elements, cells, rows, worksheets, work = outcome.added
    inflated += budget.inflated
    elements += budget.elements
    cells += budget.cells
    rows += budget.rows
    work += budget.formula_work
    if (
        inflated >= limits.max_total_bytes
        or elements >= limits.max_xml_elements
        or cells >= limits.max_cells
        or rows >= limits.max_cells
        or work >= limits.max_shared_formula_chars
    ):
        return False
    budget.inflated = inflated
    budget.elements = elements
    budget.cells = cells
    budget.rows = rows
    budget.worksheets += worksheets
    budget.formula_work = work
    return True


def scan_entries(
    label: str,
    zf: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    budget: Budget,
    parsed: Callable[[str], bool] | None = None,
    listeners: Callable[[str], Listener | None] | None = None,
    keep: Callable[[str, int], bool] | None = None,
    kept: dict[str, bytes] | None = None,
    data: bytes | None = None,
    remember: Callable[[str], bool] | None = None,
    accepted: Iterable[str] = ("xlsx",),
) -> dict[str, list[str]]:
    """Inflate every entry in chunks, never past its declared size, scanning XML.

    ``parsed``: which parts will be parsed at all (default: any, as openpyxl may); the
    XML of the others is not scanned, only inflated and measured. ``listeners(part)``: who
    else takes the elements of a scanned part (a reader, so the part is parsed once).
    ``keep(part, size)``: whose inflated bytes go into ``kept`` (for the reader: not
    inflated twice). ``data``: the archive's bytes, whose small plain entries are inflated
    without ``zipfile``'s reader (``inflate``). ``remember(part)``: the parts no listener
    takes, whose scans may be remembered and replayed (see the module docstring); only
    plain entries of ``data`` are. ``accepted``: the container kinds the caller reads, for
    what a damaged file's sentence tells its owner to save. Returns the external-link targets
    found, keyed by link rels part.
    """
    limits = budget.limits
    links: dict[str, list[str]] = {}
    ends = None if data is None else entry_ends(zf, infos, len(data))
    scope = _SCANNED.scope(limits, parsed) if remember is not None else -1
    for info in infos:
        if info.is_dir():
            continue
        scan: XmlScan | SheetPass | None = None
        sniff: _DeclarationSniff | None = None
        seen = 0
        held: list[bytes] | None = (
            []
            if keep is not None and kept is not None and keep(info.filename, info.file_size)
            else None
        )
        stored = key = None
        if remember is not None and ends is not None and data is not None:
            if remember(info.filename):
                stored = plain_bytes(data, info, ends)
            if stored is not None:
                key = (scope, info.filename, info.file_size, info.CRC, info.compress_type, stored)
                outcome = _SCANNED.get(key)
                if (
                    outcome is not None
                    and (held is None or outcome.kept is not None)
                    and _replayed(outcome, budget)
                ):
                    if held is not None and kept is not None and outcome.kept is not None:
                        kept[info.filename] = outcome.kept
                    if outcome.links:
                        links[info.filename] = list(outcome.links)
                    continue
        before = _counts(budget)
        listened = False
        try:
            chunks = entry_chunks(zf, info, INFLATE_CHUNK, data, ends, stored)
            with contextlib.closing(chunks):
                first = True
                for chunk in chunks:
                    seen += len(chunk)
                    budget.inflated += len(chunk)
                    if seen > info.file_size or seen > limits.max_entry_bytes:
                        raise UnsafeFileError(
                            f"{label} has a part, {budget.where(info.filename)}, that "
                            "inflates past its declared size (a forged zip header)."
                        )
                    if budget.inflated > limits.max_total_bytes:
                        raise UnsafeFileError(
                            f"{label} inflates to more than {count(limits.max_total_bytes)} "
                            "bytes in total (a possible zip bomb)."
                        )
                    if first:
                        first = False
                        if not _looks_like_xml(info.filename, chunk):
                            pass
                        elif parsed is None or parsed(info.filename) or _wide(chunk):
                            listener = listeners(info.filename) if listeners else None
                            listened = listener is not None
                            scan = XmlScan(label, info.filename, budget, listener)
                            if isinstance(listener, SheetCapture):
                                scan = SheetPass(scan, listener)
                        else:
                            sniff = _DeclarationSniff(label, info.filename, budget)
                    if held is not None:
                        held.append(chunk)
                    if scan is not None:
                        scan.feed(chunk, final=not chunk)
                    elif sniff is not None:
                        sniff.feed(chunk)
                    if not chunk:
                        break
            if scan is not None:
                scan.close()
        except (SheetgenError, ReadError) as exc:
            fault = _first_fault(exc, scan, zf, info, data, ends)
            if fault is exc:
                raise
            raise fault from exc
        except MemoryError:  # no sign of damage: the caller says the file is too large
            raise
        except Exception as exc:
            fault = _first_fault(exc, scan, zf, info, data, ends)
            if fault is not exc:
                raise fault from exc
            raise InputFileError(damaged(label, accepted)) from exc
        if seen != info.file_size:
            raise InputFileError(damaged(label, accepted))
        whole = b"".join(held) if held is not None else None
        if whole is not None and kept is not None:
            kept[info.filename] = whole
        if scan is not None and scan.link_targets:
            links[info.filename] = scan.link_targets
        if key is not None and stored is not None and not listened:
            added = tuple(a - b for a, b in zip(_counts(budget), before, strict=True))
            found = tuple(scan.link_targets) if scan is not None else ()
            size = len(stored) + (len(whole) if whole is not None else 0)
            _SCANNED.put(key, _Outcome(added, found, whole), size)
    return links


def _first_fault(
    exc: Exception,
    scan: XmlScan | SheetPass | None,
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    data: bytes | None,
    ends: dict[int, int] | None,
) -> Exception:
    """The fault to report of ``exc``, met scanning the part ``info``: a worksheet's pass
    first parses what it held back, where an earlier fault is the one to report, as when
    every chunk is parsed the moment it is inflated. A reader's fault (:class:`ReadError`) is
    placed in the part; XML found broken where the pass had read rows itself is placed again
    by expat alone (:func:`_xml_place`), whose lines and columns those rows are missing from."""
    fault = exc
    if isinstance(scan, SheetPass):
        try:
            scan.flush()
        except ReadError as earlier:
            fault = earlier
    if isinstance(fault, ReadError):
        fault.within(info.filename)
        if isinstance(fault, BrokenXml) and isinstance(scan, SheetPass) and scan.took:
            found = _xml_place(zf, info, data, ends)
            if found is not None:
                fault.at(*found)
    return fault


def _xml_place(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes | None, ends: dict[int, int] | None
) -> tuple[int, int] | None:
    """Where expat alone first finds the XML of the part ``info`` broken (line and column,
    from 1), or None; the part inflated again in chunks, as the scan did, keeping nothing
    (it refuses a DTD, as the scan did before it got this far)."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_args: object) -> None:
        raise ValueError("a document type declaration")

    parser.StartDoctypeDeclHandler = refuse
    try:
        chunks = entry_chunks(zf, info, INFLATE_CHUNK, data, ends)
        with contextlib.closing(chunks):
            for chunk in chunks:
                parser.Parse(chunk, not chunk)
                if not chunk:
                    break
    except expat.ExpatError as exc:
        return exc.lineno, exc.offset + 1
    except Exception:  # the scan's fault stands as it was found
        return None
    return None


def count_elements(
    label: str,
    zf: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    parsed: Callable[[str], bool] | None = None,
    data: bytes | None = None,
    accepted: Iterable[str] = ("xlsx",),
) -> int:
    """At least as many XML elements as :func:`scan_entries` counts in the same parts, and as
    many in any part without a comment or CDATA section holding a ``<``: each element opens
    with a ``<`` that no ``/``, ``!`` or ``?`` follows. Bytes are counted as they are
    inflated, in chunks, never past an entry's declared size (their sum is bounded by
    ``max_total_bytes`` before anything is inflated): about a second for the largest file the
    limits let through, where expat's pass would take minutes over small elements."""
    total = 0
    ends = None if data is None else entry_ends(zf, infos, len(data))
    rare = (b"<!", b"<?")
    for info in infos:
        if info.is_dir():
            continue
        seen = 0
        counting = False
        tail = b""
        try:
            chunks = entry_chunks(zf, info, INFLATE_CHUNK, data, ends)
            with contextlib.closing(chunks):
                for chunk in chunks:
                    if seen == 0 and chunk:
                        counting = _looks_like_xml(info.filename, chunk) and (
                            parsed is None or parsed(info.filename) or _wide(chunk)
                        )
                        if not counting:
                            break
                    seen += len(chunk)
                    if seen > info.file_size:
                        break
                    window = tail + chunk  # a "</" cut between two chunks counts once
                    total += chunk.count(b"<") - window.count(b"</")
                    for two in rare:  # a two-byte count is slow: only where the second is
                        if two[1:] in chunk:
                            total -= window.count(two)
                    tail = chunk[-1:]
                    if not chunk:
                        break
        except MemoryError:
            raise
        except Exception as exc:
            raise InputFileError(damaged(label, accepted)) from exc
    return total
