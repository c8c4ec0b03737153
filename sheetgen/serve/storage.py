"""Collect mode's submissions: every version kept, the latest where ``sheetgen grade`` finds it,
and an index in SQLite.

The folder ``DIR`` holds::

    DIR/<id>-<name>/<id>-<name>.xlsx                 each learner's latest submission
    DIR/.sheetgen/versions/<id>-<name>/<UTC time>-<random>.xlsx   every version, never changed
    DIR/.sheetgen/index.sqlite                       one row per version (WAL)
    DIR/.sheetgen/incoming/                          uploads being received (emptied at start)

Every name is the server's: the learner's folder comes from the roster's id and name (as the
hand-outs are named), a version from the time it arrived and a random suffix, and the suffix is
one of ``.xlsx``, ``.xlsm``, ``.ods``. ``sheetgen grade DIR`` grades the latest files (it leaves
hidden folders out) and knows each learner by the folder's name.

A submission is acknowledged only once it is durable: the version's bytes are synced to disk
with their folder, then its row is committed (``synchronous=FULL``), and only then does the
server answer. The latest copy is made after that and remade from the index when the server
starts, so a server killed at any moment loses no acknowledged submission.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import secrets
import shutil
import sqlite3
import threading
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from ..errors import UsageError
from ..teacher.gather import STORE
from ..teacher.roster import Learner
from ..writer.files import write_atomically

SUFFIXES = (".xlsx", ".xlsm", ".ods")
HIDDEN = STORE


@dataclass(frozen=True)
class Submission:
    id: int
    learner: str
    received: str
    path: Path
    sha256: str


def _copy(source: Path, tmp: Path) -> None:
    shutil.copyfile(source, tmp)


class Collection:
    """The submissions of one class in ``folder``; safe to use from several threads."""

    def __init__(self, folder: Path, learners: Mapping[str, Learner]) -> None:
        self.folder = folder
        self.learners = {learner.id: learner for learner in learners.values()}
        self._lock = threading.Lock()
        self._copying = threading.Lock()
        (folder / HIDDEN / "versions").mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            folder / HIDDEN / "index.sqlite", check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS submissions (id INTEGER PRIMARY KEY, learner TEXT NOT "
            "NULL, received TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, "
            "sha256 TEXT NOT NULL)"
        )
        self.repair()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def attempts(self, learner: Learner) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM submissions WHERE learner = ?", (learner.id,)
            ).fetchone()
        return int(row[0])

    def store(self, learner: Learner, upload: Path, suffix: str) -> Submission:
        """Keep ``upload`` as ``learner``'s newest version; durable when this returns."""
        if suffix not in SUFFIXES:
            raise UsageError(f"Only {', '.join(SUFFIXES)} files are collected.")
        now = datetime.now(UTC)
        stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")
        version = f"{stamp}-{secrets.token_hex(4)}{suffix}"
        relative = Path(HIDDEN, "versions", learner.file_stem, version)
        digest = hashlib.sha256(upload.read_bytes()).hexdigest()
        write_atomically(self.folder / relative, partial(_copy, upload))
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO submissions (learner, received, path, size, sha256) "
                "VALUES (?, ?, ?, ?, ?)",
                (learner.id, now.isoformat(), str(relative), upload.stat().st_size, digest),
            )
            ident = int(cursor.lastrowid or 0)
        self._show_newest(learner)
        return Submission(ident, learner.id, now.isoformat(), self.folder / relative, digest)

    def submissions(self) -> Iterator[Submission]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, learner, received, path, sha256 FROM submissions ORDER BY id"
            ).fetchall()
        for ident, learner, received, path, digest in rows:
            yield Submission(int(ident), learner, received, self.folder / path, digest)

    def latest_id(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(id) FROM submissions").fetchone()
        return int(row[0] or 0)

    def repair(self) -> None:
        """Make each learner's latest copy the newest indexed version (after a crash)."""
        newest: dict[str, Submission] = {}
        for s in self.submissions():
            newest[s.learner] = s
        for learner_id, s in newest.items():
            learner = self.learners.get(learner_id)
            if learner is None or not s.path.is_file():
                continue
            latest = self._latest(learner, s.path.suffix)
            if not latest.is_file() or latest.read_bytes() != s.path.read_bytes():
                self._show_newest(learner)

    def _latest(self, learner: Learner, suffix: str) -> Path:
        return self.folder / learner.file_stem / f"{learner.file_stem}{suffix}"

    def _show_newest(self, learner: Learner) -> None:
        """Copy ``learner``'s newest indexed version to their latest file. One copy at a time,
        and always of the newest: two submissions finishing together leave the newer one."""
        with self._copying:
            with self._lock:
                row = self._db.execute(
                    "SELECT path FROM submissions WHERE learner = ? ORDER BY id DESC LIMIT 1",
                    (learner.id,),
                ).fetchone()
            version = self.folder / row[0]
            latest = self._latest(learner, version.suffix)
            write_atomically(latest, partial(_copy, version), force=True)
            for suffix in SUFFIXES:  # a learner who switched from .ods to .xlsx: one latest
                if suffix != version.suffix:
                    self._latest(learner, suffix).unlink(missing_ok=True)

    def zip_to(self, out: Path) -> None:
        """Every version, under ``<id>-<name>/<time>-<random>.<suffix>``, with the index as CSV."""
        lines = io.StringIO()
        table = csv.writer(lines)
        table.writerow(["submission", "learner", "received", "file", "sha256"])
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for s in self.submissions():
                name = os.path.join(s.path.parent.name, s.path.name)
                table.writerow([s.id, s.learner, s.received, name, s.sha256])
                if s.path.is_file():
                    z.write(s.path, name)
            z.writestr("submissions.csv", lines.getvalue())
