"""Vetting one file from end to end: read, recognise the container, check the zip directory,
scan the XML, then hand the same bytes to the reader (or openpyxl). The folder's public API."""

from __future__ import annotations

import io
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import a1
from ...errors import InputFileError, SheetgenError, TooLargeError, UnsafeFileError
from ..hints import OverLimit, counted_together, raise_hint
from ..xlsx import (
    ReadError,
    SheetCapture,
    captures,
    kept_part,
    read_book,
    reads,
    sheet_titles,
)
from .container import (
    ZIP_MAGIC,
    central_directory_records,
    check_directory,
    container_kind,
    encrypted_ods,
    not_a_zip_message,
    other_kind,
    xlsx_macro_parts,
)
from .entries import count_elements, scan_entries
from .facts import CheckedBook, CheckedWorkbook, FileFacts
from .files import read_input
from .limits import DEFAULT_LIMITS, Limits
from .messages import count, damaged, file_label, place, show, too_large, unreadable
from .xmlscan import Budget, Listener

if TYPE_CHECKING:
    from ..ods import ContentCapture

OPENPYXL_REFUSES = (
    "openpyxl, the library sheetgen writes workbooks with, does not accept something in it"
)
"""Why openpyxl could not load a file (``load_checked``): what it raises (a missing part, a
type its descriptors refuse, lxml's syntax errors) means nothing to the file's owner."""

GRID_AREA = a1.MAX_ROW * a1.MAX_COLUMN
"""Every cell of a sheet's grid: the rectangle ``read_checked`` allows (see there)."""


@dataclass(frozen=True)
class _Reading:
    """How one container kind is read: which parts are parsed, who takes their events."""

    parsed: Callable[[str], bool]
    listeners: Callable[[str], Listener | None]
    keep: Callable[[str, int], bool] | None = None
    """Which parts' inflated bytes to keep (by name and size) for the reader, in ``kept``."""
    kept: dict[str, bytes] = field(default_factory=dict)
    remember: Callable[[str], bool] | None = None
    """Which parts' scans may be remembered for the next file (``scan_entries``): those no
    listener takes."""


def _vet(
    path: Path,
    data: bytes,
    limits: Limits,
    readings: Mapping[str, _Reading | None] | None = None,
) -> FileFacts:
    """Everything :func:`check_file` does, on bytes already read.

    ``readings``: the container kinds accepted ("xlsx", "ods") and how each is read (its
    ``parsed``, ``listeners`` and ``keep``: see :func:`scan_entries`); by default only .xlsx,
    every XML part parsed (openpyxl may read any).
    """
    facts, zf = _vet_open(path, data, limits, readings)
    zf.close()
    return facts


def _vet_open(
    path: Path,
    data: bytes,
    limits: Limits,
    readings: Mapping[str, _Reading | None] | None = None,
) -> tuple[FileFacts, zipfile.ZipFile]:
    """:func:`_vet`, and the archive still open for the reader (the caller closes it). A
    fault the scan meets is told in words, a worksheet named by its title; running out of
    memory is told as what it is, never as damage."""
    label = file_label(path)
    try:
        return _vet_zip(label, path, data, limits, readings)
    except MemoryError:
        raise TooLargeError(too_large(label)) from None


def _vet_zip(
    label: str,
    path: Path,
    data: bytes,
    limits: Limits,
    readings: Mapping[str, _Reading | None] | None = None,
) -> tuple[FileFacts, zipfile.ZipFile]:
    """:func:`_vet_open`'s work, whose running out of memory it tells."""
    if not data.startswith(ZIP_MAGIC):
        message = not_a_zip_message(label, data, readings or ("xlsx",))
        raise InputFileError(message)
    records = central_directory_records(data)
    if records is not None and records > limits.max_entries:
        raise UnsafeFileError(
            f"{label} has {count(records)} zip entries, "
            f"more than the limit of {count(limits.max_entries)}"
            f"{raise_hint('max_entries', records)}."
        )
    accepted = readings if readings is not None else {"xlsx": None}
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except MemoryError:
        raise
    except Exception as exc:
        raise InputFileError(damaged(label, accepted)) from exc
    try:
        infos = zf.infolist()
        # Its kind is not known yet: an .ods spreadsheet's parts are named by what they are for.
        declared = check_directory(label, infos, limits, _titles(data, "xlsx"))
        names = [info.filename for info in infos]
        try:
            kind = container_kind(zf, set(names))
        except MemoryError:
            raise
        except Exception as exc:
            raise InputFileError(damaged(label, accepted)) from exc
        if kind not in accepted:
            raise InputFileError(other_kind(label, kind, accepted))
        reading = accepted[kind]
        if kind == "ods" and encrypted_ods(zf, infos):
            raise InputFileError(
                f"{label} is password-protected (encrypted); save it without a password "
                "and try again."
            )
        budget = Budget(limits, accepted, _titles(data, kind))
        try:
            if reading is None:
                link_targets = scan_entries(label, zf, infos, budget, data=data, accepted=accepted)
            else:
                link_targets = scan_entries(
                    label,
                    zf,
                    infos,
                    budget,
                    reading.parsed,
                    reading.listeners,
                    reading.keep,
                    reading.kept,
                    data,
                    reading.remember,
                    accepted,
                )
        except OverLimit as exc:
            parsed = reading.parsed if reading is not None else None
            scan = _Scan(label, zf, infos, budget, parsed, data, kind)
            try:
                counted = _counted(exc, scan)
            except ReadError as fault:  # the recount's scan met it first
                raise _unreadable(label, kind, fault, data, accepted) from fault
            raise counted from None
        except ReadError as exc:
            raise _unreadable(label, kind, exc, data, accepted) from exc
    except BaseException:
        zf.close()
        raise
    if kind == "xlsx":
        has_macros = xlsx_macro_parts(names)
    else:
        from ..ods import macro_parts

        has_macros = macro_parts(names)
    links: list[str] = []
    for name in sorted(names):
        low = name.lower()
        if low.startswith("xl/externallinks/") and low.endswith(".xml") and low.count("/") == 2:
            rels = f"xl/externalLinks/_rels/{name.rsplit('/', 1)[1]}.rels".lower()
            targets = [t for key, ts in link_targets.items() if key.lower() == rels for t in ts]
            links.extend(targets or [name])
    facts = FileFacts(
        path=path,
        kind=kind,
        size_bytes=len(data),
        entries=len(infos),
        uncompressed_bytes=declared,
        xml_elements=budget.elements,
        worksheets=budget.worksheets,
        cells=budget.cells,
        rows=budget.rows,
        has_macros=has_macros,
        external_links=tuple(links),
    )
    return facts, zf


def _titles(data: bytes, kind: str) -> Callable[[], Mapping[str, str]]:
    """The worksheets' titles of ``data`` (a ``kind`` file) by part, read when a refusal
    first asks and kept for the next (a recount's): a file that passes never reads them. An
    .ods spreadsheet's sheets are all in one part, which names none of them."""
    found: list[Mapping[str, str]] = []

    def titles() -> Mapping[str, str]:
        if not found:
            found.append(sheet_titles(data) if kind == "xlsx" else {})
        return found[0]

    return titles


@dataclass(frozen=True)
class _Scan:
    """The scan a limit stopped, as :func:`_needed` repeats it: the archive, its parts, the
    budget it kept, which parts the reader parses, the file's bytes and its kind."""

    label: str
    zf: zipfile.ZipFile
    infos: list[zipfile.ZipInfo]
    budget: Budget
    parsed: Callable[[str], bool] | None
    data: bytes
    kind: str


def _counted(refusal: OverLimit, scan: _Scan) -> UnsafeFileError:
    """``refusal``, saying the figure of its limit that lets the file through (see
    :func:`_needed`). Where the count meets another limit, that one is lifted too and the
    count made again (a whole-sheet merge passes the sheet's area, then its cells): each limit
    once, a handful of passes at most, and the refusal names every limit met, each with the
    figure that lets the file through, so that one run with them all passes. Too many XML
    elements, or merged links where cells are too many (that count is only bounded by
    ``max_cells``), are told instead of the limits met before: the count past them would not
    be bounded."""
    met = {refusal.name: refusal}
    while True:
        try:
            needed = _needed(set(met), scan)
        except OverLimit as other:
            if other.name in met:
                raise
            if other.name == "max_xml_elements":
                met.clear()
            elif other.name == "max_cells":
                met.pop("max_merge_link_pairs", None)
            met[other.name] = other
            continue
        if len(met) == 1:
            (only,) = met.values()
            return only.counted(needed[only.name])
        return counted_together(scan.label, list(met.values()), needed)


def _needed(names: set[str], scan: _Scan) -> dict[str, int]:
    """The figure of each limit in ``names`` that lets a file they refused through: counted by
    the same scan of the same parts with those limits lifted or measured
    (``Budget.tracking``), nothing kept and every other limit holding, so the count costs no
    more than the scan of a file that passes; one those limits refuse is refused for them.
    Depth, text, a sheet's area and merged links are measured where they pass the limit.
    ``max_cells`` counts every cell and row (with it the search of merges for hyperlinks,
    which ``max_cells`` keeps small, is lifted: its own refusal comes on the next run if due);
    XML elements are counted in the inflated bytes, alone (``count_elements``: expat would take
    minutes over a file of small elements). A string longer than expat may be handed between
    two ``>`` is not measured: the largest part then stands for it, which no string in it can
    be longer than, and its refusal is told alone (the count stopped there)."""
    label, zf, infos, parsed, data = scan.label, scan.zf, scan.infos, scan.parsed, scan.data
    limits, accepted = scan.budget.limits, scan.budget.accepted
    if "max_xml_elements" in names:
        return {"max_xml_elements": count_elements(label, zf, infos, parsed, data, accepted)}
    unbounded = sys.maxsize
    lifted = limits
    if "max_cells" in names:
        lifted = replace(lifted, max_cells=unbounded, max_merge_link_pairs=unbounded)
    if "max_shared_formula_chars" in names:
        lifted = replace(lifted, max_shared_formula_chars=unbounded)
    recount = Budget(lifted, accepted, scan.budget.titles)
    recount.tracking = frozenset(names)
    listeners: Callable[[str], Listener | None] | None = None
    content: ContentCapture | None = None
    if scan.kind == "ods" and "max_cells" in names:
        from ..ods import ContentCapture, reads

        content = ContentCapture(label, unbounded, limits.max_sheet_area, counting=True)

        def listeners(part: str) -> Listener | None:
            return content if reads(part) else None

    try:
        scan_entries(label, zf, infos, recount, parsed, listeners, data=data, accepted=accepted)
    except OverLimit as exc:
        if exc.name != "max_text_chars" or exc.name not in names:
            raise
        largest = max(info.file_size for info in infos)
        if names != {"max_text_chars"}:  # the text, not the others' figures, is past measuring
            raise exc.counted(largest) from None
        return {exc.name: max(recount.needed.get(exc.name, 0), largest)}
    needed = {}
    for name in names:
        if name == "max_cells":
            found = content.facts if content is not None else recount
            needed[name] = max(found.cells, found.rows)
        elif name == "max_shared_formula_chars":
            needed[name] = recount.formula_work
        else:
            needed[name] = recount.needed.get(name, int(getattr(limits, name)))
    return needed


_WHAT = {"xlsx": "an .xlsx workbook", "ods": "an .ods spreadsheet"}
"""What a container kind is read as, in a sentence saying it could not be."""


def _unreadable(
    label: str, kind: str, fault: ReadError, data: bytes, accepted: Iterable[str]
) -> InputFileError:
    """The one sentence for ``fault``, met reading ``data`` (a ``kind`` file): its part
    named as the file's owner knows it (:func:`~sheetgen.workbook.safety.messages.place`: a
    worksheet by its title, read from the workbook part only now, on the way out)."""
    where = None
    if fault.part:
        titles = sheet_titles(data) if kind == "xlsx" else {}
        where = place(fault.part, titles)
    return InputFileError(unreadable(label, _WHAT[kind], fault.told(where), accepted))


def _exhausted(label: str, exc: MemoryError | RecursionError) -> InputFileError:
    """The one sentence for a reader that ran out of memory or of stack on ``label``."""
    if isinstance(exc, MemoryError):
        return TooLargeError(too_large(label))
    return UnsafeFileError(f"{label} is nested too deeply to be read.")


def check_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> FileFacts:
    """Vet ``path`` without handing it to any parser that builds objects.

    Raises :class:`UnsafeFileError` for hostile input or a breached limit and
    :class:`InputFileError` for anything else that is not a readable .xlsx
    workbook (missing, encrypted, another format, damaged).  The file is only
    read, never modified.
    """
    data = read_input(path, limits)
    return _vet(path, data, limits)


def load_checked(path: Path, limits: Limits = DEFAULT_LIMITS) -> CheckedWorkbook:
    """Vet ``path`` and load the very bytes that were vetted with openpyxl.

    openpyxl gets the bytes from memory, so the file cannot be replaced between
    the check and the load.  It runs with ``keep_vba=False`` and
    ``keep_links=False`` so macros and linked workbooks are never loaded, and
    with defusedxml active (refused otherwise).  Every exception it raises
    becomes one :class:`InputFileError` sentence.
    """
    import openpyxl

    label = file_label(path)
    if not getattr(openpyxl, "DEFUSEDXML", False):
        raise UnsafeFileError(
            f"{label} was not opened because openpyxl is running without defusedxml "
            "(install defusedxml and unset OPENPYXL_DEFUSEDXML)."
        )
    data = read_input(path, limits)
    facts = _vet(path, data, limits)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about every extension it drops; the user cannot act
            # on those, and the CLI must print one sentence only.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(
                io.BytesIO(data),
                read_only=False,
                data_only=False,
                keep_vba=False,
                keep_links=False,
            )
    except (MemoryError, RecursionError) as exc:
        raise _exhausted(label, exc) from None
    except Exception as exc:
        if type(exc).__module__.startswith("defusedxml"):
            raise UnsafeFileError(
                f"{label} contains an XML entity declaration (a possible XML bomb)."
            ) from exc
        raise InputFileError(unreadable(label, _WHAT["xlsx"], OPENPYXL_REFUSES)) from exc
    return CheckedWorkbook(workbook=workbook, facts=facts, data=data)


def read_checked(
    path: Path, limits: Limits = DEFAULT_LIMITS, data: bytes | None = None
) -> CheckedBook:
    """Vet ``path`` and read the very bytes that were vetted with ``sheetgen.workbook.xlsx``.

    What ``verify`` reads: cells, formulas and defined names only, no object model. Every
    exception the reader raises becomes one :class:`InputFileError` sentence. ``data``: the
    file's bytes, when the caller has read them with ``read_input(path, limits)`` (to hash
    or search the very bytes checked); else they are read here.
    """
    label = file_label(path)
    if data is None:
        data = read_input(path, limits)
    # This reader keeps only the cells a sheet holds, never its rectangle: max_cells bounds
    # it, and a sparse sheet (a wide network's faux rows) is not refused for its extent.
    limits = replace(limits, max_sheet_area=GRID_AREA)
    sheets: dict[str, SheetCapture] = {}
    # The OpenDocument reader is loaded only for an .ods file (its formula translation is a
    # fiftieth of a second of every other verify's start).
    ods: list[ContentCapture] = []

    def capture(part: str) -> SheetCapture | None:
        if not captures(part):
            return None
        sheets[part] = SheetCapture()  # the worksheet is read by the pass that vets it
        return sheets[part]

    def ods_reads(part: str) -> bool:
        from ..ods import reads as ods_reads

        return ods_reads(part)

    def capture_content(part: str) -> ContentCapture | None:
        if not ods_reads(part):
            return None
        if not ods:
            from ..ods import ContentCapture

            ods.append(ContentCapture(label, limits.max_cells, limits.max_sheet_area))
        return ods[0]

    xlsx = _Reading(reads, capture, kept_part, remember=_uncaptured)
    readings = {"xlsx": xlsx, "ods": _Reading(ods_reads, capture_content)}
    kind = "xlsx"
    try:
        facts, archive = _vet_open(path, data, limits, readings)
        kind = facts.kind
        if kind == "ods":
            from ..ods import CONTENT, read_ods

            archive.close()
            content = capture_content(CONTENT)
            assert content is not None
            book = read_ods(data, content)
            found = content.facts
            facts = replace(
                facts,
                cells=found.cells,
                rows=found.rows,
                worksheets=len(book.sheets),
                has_macros=facts.has_macros or found.event_listeners,
                external_links=tuple(show(link) for link in found.links),
            )
        else:
            with archive:  # its directory, and the parts the scan inflated and kept
                book = read_book(data, sheets, archive=archive, parts=xlsx.kept)
    except SheetgenError:
        raise
    except (MemoryError, RecursionError) as exc:
        raise _exhausted(label, exc) from None
    except ReadError as exc:
        raise _unreadable(label, kind, exc, data, readings) from exc
    except Exception as exc:  # what no reader expects: told as plainly, the detail chained
        why = "it holds something this reader cannot make sense of"
        raise InputFileError(unreadable(label, _WHAT[kind], why, readings)) from exc
    return CheckedBook(book=book, facts=facts)


def _uncaptured(part: str) -> bool:
    return not captures(part)


def open_workbook(path: Path, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Vet ``path`` (see :func:`check_file`) and return the openpyxl Workbook.

    Formulas are kept as text (``data_only=False``); pass them through
    ``sheetgen.engine.hazards.formula_hazards`` before evaluating any.
    """
    return load_checked(path, limits).workbook
