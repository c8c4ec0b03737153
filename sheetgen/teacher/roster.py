"""A class from a roster: who the learners are, whose hand-out a file is, each learner's seed.

A roster is a CSV file with a header row naming at least an id column and a name column (the
names LMS exports use are accepted: ``id``, ``student id``, ``username``...; ``name``, ``full
name``, or ``first name`` with ``last name``). It is read as UTF-8 (with or without a BOM, as
Excel writes it), else as Windows-1252, so accented names survive.

Each learner's parameters come from a seed derived from their id (a hash, so it is the same on
every machine and every run: nobody has a number to remember). A hand-out records the learner
and the seed as document custom properties, which Excel and LibreOffice keep when they save
(an .ods keeps them as user-defined properties of its meta.xml); ``recorded_identity`` reads
them back without trusting the file (sizes are capped, XML parsed with defusedxml). They are
a convenience, not evidence: the signed record (``sheetgen.teacher.provenance``) is.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import stat
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError, shown

LEARNER_ID = "sheetgen.learner_id"
LEARNER_NAME = "sheetgen.learner_name"
SEED = "sheetgen.seed"
"""The custom document properties a hand-out records (names as Excel shows them)."""

_ID_COLUMNS = (
    "id",
    "student id",
    "student_id",
    "studentid",
    "sis user id",
    "sis id",
    "username",
    "user name",
    "login",
    "login id",
    "email",
    "email address",
    "id number",
)
_NAME_COLUMNS = ("name", "full name", "fullname", "student", "student name", "learner")
_FIRST = ("first name", "firstname", "given name")
_LAST = ("last name", "lastname", "surname", "family name")

_MAX_TABLE_BYTES = 5_000_000
_MAX_PROPS_BYTES = 1_000_000


@dataclass(frozen=True)
class Learner:
    """One learner of a roster."""

    id: str
    name: str

    @property
    def seed(self) -> int:
        return seed_for(self.id)

    @property
    def file_stem(self) -> str:
        """A file name that sorts by id and is safe on every file system."""
        return f"{_slug(self.id)}-{_slug(self.name)}".strip("-") or "learner"


def seed_for(learner_id: str) -> int:
    """The seed of a learner's parameters: a hash of the id (stable across runs and machines)."""
    digest = hashlib.sha256(learner_id.strip().encode("utf-8")).hexdigest()
    return int(digest[:12], 16)


def _slug(text: str) -> str:
    """``text`` in ASCII letters, digits and ``_``: letters transliterated (Þ -> Th, Ø -> O,
    李 -> Li), never dropped, by the ``anyascii`` library; symbols dropped first (Unicode's
    categories S*: emoji, ©, ★, €, a flag's letters), which ``anyascii`` would spell as words
    (🙂 -> ":slight_smile:") that are no part of a name."""
    from anyascii import anyascii

    kept = "".join(
        ch for ch in unicodedata.normalize("NFC", text) if unicodedata.category(ch)[0] != "S"
    )
    return re.sub(r"[^A-Za-z0-9]+", "_", anyascii(kept)).strip("_")[:40]


def read_roster(path: Path | str) -> tuple[Learner, ...]:
    """The learners of a roster CSV, in its order (see the module docstring)."""
    p = shown(path)
    rows = read_table(path, "the roster")
    if not rows:
        raise UsageError(f"The roster {p} is empty.")
    header = [h.strip().lower() for h in rows[0][1]]

    def column(names: Iterable[str]) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    id_col, name_col = column(_ID_COLUMNS), column(_NAME_COLUMNS)
    first, last = column(_FIRST), column(_LAST)
    if id_col is None or (name_col is None and first is None and last is None):
        raise UsageError(
            f"The roster {p} needs a header row with an id column (id, student id, username) "
            f"and a name column (name, or first name and last name); it has: "
            f"{', '.join(rows[0][1]) or 'nothing'}."
        )
    learners: list[Learner] = []
    seen: set[str] = set()
    for n, row in rows[1:]:
        cells = row + [""] * (len(header) - len(row))
        ident = cells[id_col].strip()
        if name_col is not None:
            name = cells[name_col].strip()
        else:
            name = " ".join(cells[c].strip() for c in (first, last) if c is not None).strip()
        if not ident:
            raise UsageError(f"Line {n} of the roster {p} has no id.")
        if ident in seen:
            raise UsageError(f"The roster {p} lists the id {ident!r} twice (line {n}).")
        seen.add(ident)
        learners.append(Learner(ident, name or ident))
    if not learners:
        raise UsageError(f"The roster {p} lists no learner.")
    return tuple(learners)


def read_table(
    path: Path | str, what: str, *, missing: str | None = None
) -> list[tuple[int, list[str]]]:
    """The rows of a small CSV file a teacher may have edited in a spreadsheet (a roster, the
    learners' codes) that hold anything, each with its line number, the header first.

    Decoded by :func:`decode_table` (UTF-16, UTF-8 or Windows-1252), so accented names
    survive; split at the commas, semicolons or tabs it uses (Excel writes
    semicolons where the decimal separator is a comma). A file that cannot be read is one
    sentence naming it as ``what`` ("the roster"), or ``missing`` when there is none.
    """
    p = Path(path)
    refusal = f"Cannot read {what} {shown(path)}"
    try:
        st = p.stat()
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{refusal}: it is a folder, not a CSV file.")
        if not stat.S_ISREG(st.st_mode):  # a pipe or a device: reading it could wait forever
            raise UsageError(f"{refusal}: it is not a regular file.")
        if st.st_size > _MAX_TABLE_BYTES:
            raise UsageError(f"{refusal}: it is larger than {_MAX_TABLE_BYTES} bytes.")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise UsageError(
            missing or f"{what[0].upper()}{what[1:]} {shown(path)} does not exist."
        ) from None
    except OSError as exc:
        raise UsageError(f"{refusal}: {exc.strerror}.") from None
    if (why := not_a_table(raw)) is not None:
        raise UsageError(f"{refusal}: it is {why}.")
    text = decode_table(raw)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel()  # type: ignore[assignment]
    rows = enumerate(csv.reader(io.StringIO(text), dialect), start=1)
    try:
        return [(n, row) for n, row in rows if any(cell.strip() for cell in row)]
    except csv.Error as exc:  # a quote left open across a bare carriage return, a NUL byte
        raise UsageError(f"{refusal}: it is not a CSV table ({exc}).") from None


_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
"""How a workbook's bytes begin: a zip (.xlsx, .ods), or an old binary .xls; given where a CSV
file belongs, it is told apart from text that does not parse."""


def not_a_table(raw: bytes) -> str | None:
    """Why ``raw`` is no table a spreadsheet exported, in words that follow "it is": a
    workbook, or no text at all (a NUL byte outside UTF-16, whose export starts with its
    byte-order mark). None for text, which the CSV reader then judges. One wording for the
    roster and the training data."""
    if raw.startswith(_WORKBOOK_MAGIC):
        return "a workbook, not a CSV file: save its sheet as CSV (File > Save As) and give that"
    if b"\x00" in raw and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "not a CSV file (not text at all)"
    return None


def decode_table(raw: bytes) -> str:
    """The text of a table a spreadsheet exported: UTF-16 when it starts with a UTF-16 BOM
    (Excel's "Unicode Text", tab-separated), UTF-8 with or without a BOM (Excel's "CSV
    UTF-8"), else Windows-1252 (Excel's plain "CSV" on Windows), so no byte is refused; its
    lines ended by "\n" whatever ended them ("\r\n" on Windows, a bare "\r" in Excel for
    Mac's "CSV (Macintosh)")."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = raw.decode("utf-16", errors="replace")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def identity_properties(learner: Learner | None, seed: int | None) -> dict[str, str]:
    """The custom properties a hand-out records for ``learner`` and ``seed``."""
    out: dict[str, str] = {}
    if learner is not None:
        out[LEARNER_ID] = learner.id
        out[LEARNER_NAME] = learner.name
    if seed is not None:
        out[SEED] = str(seed)
    return out


def recorded_identity(path: Path | str) -> dict[str, str]:
    """The sheetgen properties a workbook records (empty when none or unreadable)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            for member, parse in (("docProps/custom.xml", _custom_xml), ("meta.xml", _meta_xml)):
                if member in names and z.getinfo(member).file_size <= _MAX_PROPS_BYTES:
                    return parse(z.read(member))
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, RuntimeError):
        return {}
    return {}


def properties_of(member: str, data: bytes) -> dict[str, str]:
    """The sheetgen properties of a package part: ``docProps/custom.xml`` (.xlsx) or
    ``meta.xml`` (.ods); nothing for any other part."""
    if len(data) > _MAX_PROPS_BYTES:
        return {}
    if member == "docProps/custom.xml":
        return _custom_xml(data)
    if member == "meta.xml":
        return _meta_xml(data)
    return {}


def _custom_xml(data: bytes) -> dict[str, str]:
    from defusedxml import ElementTree  # type: ignore[import-untyped]

    try:
        root = ElementTree.fromstring(data)
    except Exception:  # defusedxml's refusals and XML syntax errors alike: nothing recorded
        return {}
    out = {}
    for prop in root:
        name = prop.get("name", "")
        if name.startswith("sheetgen.") and len(prop):
            out[name] = (prop[0].text or "").strip()
    return out


def _meta_xml(data: bytes) -> dict[str, str]:
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(data)
    except Exception:
        return {}
    meta = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
    out = {}
    for prop in root.iter(f"{{{meta}}}user-defined"):
        name = prop.get(f"{{{meta}}}name", "")
        if name.startswith("sheetgen."):
            out[name] = (prop.text or "").strip()
    return out


def by_id(learners: Iterable[Learner]) -> Mapping[str, Learner]:
    return {learner.id: learner for learner in learners}
