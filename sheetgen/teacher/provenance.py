"""Who a hand-out is for and what it is, in a form a learner cannot forge: a signed record.

A roster build signs each hand-out (and each answer key) with the class's secret key, kept in
the keys folder (``class.key``, created on the first build and reused on every rerun, never
handed out). The record says whose file it is, which layout, which parameters, which cells are
the learner's to fill in and whether hints are shown; its signature is an HMAC-SHA256 of that
text under the class key, so editing a visible cell changes nothing and editing the record
breaks the signature.

A file carries the record where it survives what learners do with a file:

- the **note on the sheet's title cell** holds the whole record (notes travel with their cells:
  Excel and LibreOffice saves, .ods, a sheet copied to a new workbook, Google Sheets, ExcelJS);
- a **named range** ``SHEETGEN_SIG_<signature>`` on the title cell holds the signature (range
  names survive LibreOffice's "copy sheet to a new workbook" and ExcelJS, which drop
  text-constant names; Excel caps those at 255 characters anyway);
- **document custom properties** hold the learner's id, name, seed and the signature (Excel and
  LibreOffice keep them when saving, .ods as user-defined properties; a copied sheet or a Google
  Sheets round trip loses them).

With the keys folder, one surviving signature is enough: the teacher's manifest
(``hand-outs.json``) lists every learner's signatures, so it names the hand-out even when
only the range name is left. Without it, the record is read but not checked.

Each learner also gets a **code** (``K7QF-M2XD``): an HMAC of their id under the class key, in
an alphabet without look-alike characters, written into their hand-out and into the
teacher's ``codes.csv`` (columns ``id,name,code``); a learner types it into a web app to say
who they are (:func:`read_codes`, :func:`learner_code`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import hmac
import io
import json
import re
import secrets
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError, let_go, shown
from ..workbook.safety.inflate import entry_ends, plain_bytes
from ..workbook.safety.memory import Memory
from ..workbook.safety.messages import file_label, too_large
from .roster import properties_of, read_table

__all__ = [
    "CODES_FILE",
    "KEY_FILE",
    "MANIFEST_FILE",
    "Expected",
    "Found",
    "Manifest",
    "Record",
    "class_key",
    "learner_by_code",
    "learner_code",
    "normal_code",
    "read_codes",
    "read_found",
    "read_found_or_refusal",
    "read_manifest",
]

KEY_FILE = "class.key"
CODES_FILE = "codes.csv"
MANIFEST_FILE = "hand-outs.json"

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""32 characters, none mistaken for another when typed (no 0/O, 1/I/L)."""

SIGNATURE_NAME = "SHEETGEN_SIG_"
"""The prefix of the named range that carries a file's signature."""

PROPERTY_SIGNATURE = "sheetgen.signature"

_RECORD = re.compile(rb"sheetgen:1:([A-Za-z0-9_-]{8,4000})\.([0-9a-f]{32})")
_NAMED = re.compile(rb"SHEETGEN_SIG_([0-9a-f]{32})", re.IGNORECASE)
_PROPERTY = re.compile(rb"sheetgen\.signature\"[^>]*>(?:\s*<[^>]*>)?([0-9a-f]{32})<")
_MAX_PART_BYTES = 50_000_000
_DOMAIN = b"sheetgen hand-out record v1\0"


def class_key(keys_dir: Path | str, *, create: bool = False) -> bytes:
    """The class's secret key from ``keys_dir/class.key``; with ``create``, made on first use
    (32 random bytes, readable by its owner alone) and reused on every later build."""
    path = Path(keys_dir) / KEY_FILE
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        if not create:
            raise UsageError(f"No class key at {shown(path)}: build the hand-outs first.") from None
        text = secrets.token_hex(32)
        return bytes.fromhex(text)  # written by the build with the rest, all or nothing
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read the class key {shown(path)}: {exc}.") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise UsageError(f"{shown(path)} is not a sheetgen class key (64 hexadecimal digits).")
    return key


def learner_code(key: bytes, learner_id: str) -> str:
    """The code a learner types to say who they are: 8 characters of an HMAC of the id."""
    digest = hmac.new(key, b"code\0" + learner_id.strip().encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:5], "big")  # 40 bits, 5 per character
    chars = [CODE_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(8))]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def normal_code(text: str) -> str:
    """A code as typed (lower case, no dash, spaces) in its written form ``K7QF-M2XD``."""
    plain = re.sub(r"[\s-]+", "", text).upper()
    return f"{plain[:4]}-{plain[4:]}" if len(plain) == 8 else plain


@dataclass(frozen=True)
class Record:
    """What a signed file is: a learner's hand-out or an answer key, and for whom."""

    kind: str  # "hand-out" or "key"
    learner_id: str
    name: str
    layout: str
    seed: int | None
    blanks: tuple[str, ...]  # quantities the learner fills in
    parameters: Mapping[str, float]
    hints: bool = True

    def payload(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.learner_id,
            "name": self.name,
            "layout": self.layout,
            "seed": self.seed,
            "blanks": list(self.blanks),
            "parameters": dict(self.parameters),
            "hints": self.hints,
        }

    def text(self) -> bytes:
        return json.dumps(self.payload(), sort_keys=True, separators=(",", ":")).encode()

    def signature(self, key: bytes) -> str:
        return sign(key, self.text())

    def encoded(self, key: bytes) -> str:
        """``sheetgen:1:<base64url record>.<signature>``: the text a file carries."""
        body = base64.urlsafe_b64encode(self.text()).rstrip(b"=").decode()
        return f"sheetgen:1:{body}.{self.signature(key)}"

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> Record:
        seed = payload.get("seed")
        return cls(
            kind=str(payload.get("kind", "")),
            learner_id=str(payload.get("id", "")),
            name=str(payload.get("name", "")),
            layout=str(payload.get("layout", "")),
            seed=int(seed) if isinstance(seed, int) else None,
            blanks=tuple(str(b) for b in payload.get("blanks", ()) or ()),
            parameters={
                str(k): float(v)
                for k, v in (payload.get("parameters") or {}).items()
                if isinstance(v, int | float)
            },
            hints=bool(payload.get("hints", True)),
        )


def sign(key: bytes, text: bytes) -> str:
    return hmac.new(key, _DOMAIN + text, hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Found:
    """What a file carries: whole records (text and signature) and bare signatures."""

    records: tuple[tuple[bytes, str], ...] = ()
    signatures: frozenset[str] = frozenset()
    properties: tuple[tuple[str, str], ...] = ()  # sheetgen's document custom properties

    @property
    def any(self) -> bool:
        return bool(self.records or self.signatures)

    def all_signatures(self) -> frozenset[str]:
        return self.signatures | {sig for _, sig in self.records}

    def decoded(self) -> tuple[Record, ...]:
        """The records as written (not checked: see :meth:`Manifest.check`)."""
        out = []
        for text, _ in self.records:
            try:
                out.append(Record.of(json.loads(text)))
            except (ValueError, TypeError, AttributeError):
                continue
        return tuple(out)


_PartFound = tuple[tuple[tuple[bytes, str], ...], frozenset[str], tuple[tuple[str, str], ...]]
"""What one part carries: its records, its signatures, its sheetgen properties."""


def _found_in(name: str, data: bytes) -> _PartFound:
    """The records, signatures and properties in one part's inflated bytes."""
    upper = data.upper()
    if b"SHEETGEN" not in upper:
        return (), frozenset(), ()
    records: dict[tuple[bytes, str], None] = {}
    sigs: set[str] = set()
    for m in _RECORD.finditer(data):
        try:
            text = base64.urlsafe_b64decode(m[1] + b"=" * (-len(m[1]) % 4))
        except (ValueError, binascii.Error):
            continue
        records[(text, m[2].decode())] = None
    if b"SHEETGEN_SIG_" in upper:  # the case-blind search only where it can match
        sigs.update(m[1].decode().lower() for m in _NAMED.finditer(data))
    sigs.update(m[1].decode() for m in _PROPERTY.finditer(data))
    return tuple(records), frozenset(sigs), tuple(properties_of(name, data).items())


_PARTS_FOUND = Memory[_PartFound](8 * 1024 * 1024, 1024)
"""What parts carried, by the part's name, method, CRC-32, size and stored bytes: the
submissions of one hand-out share most of these parts byte for byte (the notes above all)."""


def read_found_or_refusal(source: Path | str | bytes, path: Path | str) -> Found | str:
    """What :func:`read_found` finds in ``source`` (the file at ``path``, or its bytes), or,
    where searching it runs out of memory, the sentence ``verify`` says when it does (the
    search's memory let go first): a class's run and the autograder tell that file too large
    to check and go on."""
    handled = sys.exc_info()[1]  # the caller's own, if it calls from an except block
    try:
        return read_found(source)
    except MemoryError as exc:
        let_go(exc, handled)
        return too_large(file_label(Path(path)))


def read_found(path: Path | str | bytes) -> Found:
    """The records and signatures ``path`` carries (nothing when none or unreadable): a regular
    expression over the few parts that can hold them, without parsing the workbook again.

    ``path`` may be the file's bytes, when the caller has read them already (to hash them);
    then a part met before, byte for byte, is not inflated and searched again."""
    records: dict[tuple[bytes, str], None] = {}
    sigs: set[str] = set()
    props: dict[str, str] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(path) if isinstance(path, bytes) else path) as z:
            infos = z.infolist()
            ends = entry_ends(z, infos, len(path)) if isinstance(path, bytes) else None
            for info in infos:
                name = info.filename
                wanted = (
                    name in ("xl/workbook.xml", "docProps/custom.xml", "content.xml", "meta.xml")
                    or (name.startswith("xl/comments") and name.endswith(".xml"))
                    or name.startswith("xl/threadedComments/")
                )
                if not wanted or info.file_size > _MAX_PART_BYTES:
                    continue
                key = found = None
                if (
                    ends is not None
                    and isinstance(path, bytes)
                    and (stored := plain_bytes(path, info, ends)) is not None
                ):
                    key = (name, info.compress_type, info.CRC, info.file_size, stored)
                    found = _PARTS_FOUND.get(key)
                if found is None:
                    found = _found_in(name, z.read(info))
                    if key is not None:
                        _PARTS_FOUND.put(key, found, len(key[-1]))
                part_records, part_sigs, part_props = found
                records.update(dict.fromkeys(part_records))
                sigs.update(part_sigs)
                props.update(part_props)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, RuntimeError):
        return Found()
    return Found(tuple(records), frozenset(sigs), tuple(sorted(props.items())))


@dataclass(frozen=True)
class Expected:
    """One learner's hand-out as the teacher built it (a row of the manifest)."""

    record: Record
    code: str
    handout: str  # the hand-out's signature
    key: str  # the answer key's signature
    file: str = ""

    @property
    def learner_id(self) -> str:
        return self.record.learner_id


@dataclass(frozen=True)
class Manifest:
    """The keys folder: the class key and every learner's hand-out (``hand-outs.json``)."""

    key: bytes
    learners: tuple[Expected, ...]
    by_id: Mapping[str, Expected] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.by_id:
            object.__setattr__(self, "by_id", {e.learner_id: e for e in self.learners})

    def whose(self, found: Found) -> list[tuple[str, Expected]]:
        """Every (kind, learner) a file's signatures name: ``("hand-out", e)``, ``("key", e)``."""
        sigs = found.all_signatures()
        out = []
        for e in self.learners:
            if e.handout in sigs:
                out.append(("hand-out", e))
            if e.key in sigs:
                out.append(("key", e))
        return out

    def forged(self, found: Found) -> list[Record]:
        """The records whose signature is not the class key's (edited, or made up)."""
        out = []
        for text, sig in found.records:
            if not hmac.compare_digest(sign(self.key, text), sig):
                try:
                    out.append(Record.of(json.loads(text)))
                except (ValueError, TypeError, AttributeError):
                    out.append(Record("?", "", "", "", None, (), {}))
        return out


def write_manifest(learners: Sequence[Expected], *, hints: bool) -> str:
    rows = [
        {
            **e.record.payload(),
            "code": e.code,
            "file": e.file,
            "handout_signature": e.handout,
            "key_signature": e.key,
        }
        for e in learners
    ]
    return json.dumps({"version": 1, "hints": hints, "learners": rows}, indent=1) + "\n"


def read_manifest(keys_dir: Path | str) -> Manifest:
    """The keys folder a roster build wrote (``class.key`` and ``hand-outs.json``)."""
    folder = Path(keys_dir)
    if not folder.is_dir():
        raise UsageError(f"No keys folder at {shown(folder)}.")
    key = class_key(folder)
    path = folder / MANIFEST_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        rows = doc["learners"]
        learners = tuple(
            Expected(
                Record.of(row),
                str(row.get("code", "")),
                str(row["handout_signature"]),
                str(row["key_signature"]),
                str(row.get("file", "")),
            )
            for row in rows
        )
    except FileNotFoundError:
        raise UsageError(
            f"{shown(folder)} has no {MANIFEST_FILE}: rebuild the hand-outs with --roster."
        ) from None
    except OSError as exc:
        raise UsageError(f"Cannot read {shown(path)} ({exc.strerror or 'unreadable'}).") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"{shown(path)} is not the record of hand-outs a roster build writes (damaged or "
            "edited by hand): rebuild the hand-outs with --roster."
        ) from exc
    return Manifest(key, learners)


def codes_csv(rows: Iterable[tuple[str, str, str]]) -> str:
    """``codes.csv``: ``id,name,code``, UTF-8 (the teacher's; never handed out)."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(["id", "name", "code"])
    out.writerows(rows)
    return buffer.getvalue()


@dataclass(frozen=True)
class LearnerCode:
    """A row of ``codes.csv``."""

    id: str
    name: str
    code: str


def read_codes(keys_dir: Path | str) -> tuple[LearnerCode, ...]:
    """The learners' codes a roster build wrote: ``codes.csv`` in the keys folder ``keys_dir``,
    or that file itself (``sheetgen serve --codes``), in its order, each code in the
    written form :func:`normal_code` gives (look a typed code up after the same normalisation).

    It is read as a roster is (:func:`~sheetgen.teacher.roster.read_table`), and as a
    roster's, its header row names the columns ``id``, ``name`` and ``code`` in any order, case
    and spaces aside, other columns ignored: a teacher who opens the file in a spreadsheet,
    adds a column and saves it still has a file that reads. Every other row needs an id and a
    code (a blank name is the id), and no code may stand twice.
    """
    path = Path(keys_dir)
    if path.is_dir():
        path = path / CODES_FILE
    name = shown(path)
    missing = f"No {CODES_FILE} at {name}: build with --roster."
    rows = read_table(path, "the learners' codes", missing=missing)
    header = [h.strip().lower() for h in rows[0][1]] if rows else []
    if not {"id", "name", "code"} <= set(header):
        raise UsageError(f"The learners' codes {name} need the columns id,name,code.")
    columns = [header.index(c) for c in ("id", "name", "code")]
    codes: dict[str, LearnerCode] = {}
    for n, row in rows[1:]:
        cells = [row[c].strip() if c < len(row) else "" for c in columns]
        ident, code = cells[0], normal_code(cells[2])
        if not ident or not code:
            raise UsageError(f"Line {n} of the learners' codes {name} needs an id and a code.")
        if code in codes:
            raise UsageError(f"The learners' codes {name} give the code on line {n} twice.")
        codes[code] = LearnerCode(ident, cells[1] or ident, code)
    if not codes:
        raise UsageError(f"The learners' codes {name} list no learner.")
    return tuple(codes.values())


def learner_by_code(keys_dir: Path | str, typed: str) -> LearnerCode | None:
    """The learner whose code ``typed`` is (case, spaces and dashes aside), or None. Compared in
    constant time, so that timing tells nothing about a near miss."""
    wanted = normal_code(typed)
    found = None
    for row in read_codes(keys_dir):
        if hmac.compare_digest(row.code, wanted):
            found = row
    return found
