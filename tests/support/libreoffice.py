"""Drive a headless LibreOffice to recalculate, edit and render workbooks.

Why this exists: openpyxl writes formulas without cached values and the ``formulas``
package is our own reimplementation of Excel's maths, so neither proves that a real
spreadsheet application computes the sheet the way we claim. LibreOffice is the one
spreadsheet app that runs headless on a CI box, so the tests use it to (a) recompute a
workbook from scratch, (b) type into cells the way a learner would, and (c) render the
sheet to PDF/PNG for a human to look at.

Design decisions, each paid for by a bug it avoids:

* Every call starts its own ``soffice`` with a throwaway user profile
  (``-env:UserInstallation``). Two calls sharing a profile would hand their work to one
  another's instance (or block on its lock), so concurrent calls must not share one.
* The profile sets ``OOXMLRecalcMode``/``ODFRecalcMode`` to 0 ("always recalculate"). The
  shipped default (1, "never") keeps whatever cached values a file carries, so a file with
  stale values would come back unchanged and a test would check the stale numbers.
  The UNO path also calls ``calculateAll()`` explicitly, belt and braces.
* The profile switches the formula syntax to "Excel A1" with English function names and
  ``,`` as separator, and edits go through the cell's ``FormulaLocal`` property: that is
  exactly what a person types into Excel (``=IF(B2>0,1,2)``, ``=Neuron!B2``), whereas the
  raw ``setFormula`` API wants Calc's syntax (``;`` separators) and turns ``,`` into #NAME?.
* UNO only works under the interpreter python3-uno was built for (Debian's
  ``/usr/bin/python3``), not under the project's venv, so the UNO part is a small script
  (``uno_job.py`` beside this file) run as a subprocess under that interpreter, connected
  over a private named pipe to the ``soffice`` started here.
* ``soffice`` is a shell script that starts ``oosplash`` which starts ``soffice.bin``. It
  is started in its own session, and on every exit path the whole process group is
  killed (after its leader has exited or been killed) so nothing survives a timeout.
* Input files are copied into the private temp directory before LibreOffice opens them:
  LibreOffice drops ``.~lock.*#`` files next to what it opens, which would litter the
  caller's folder and make two concurrent calls on the same file collide.
* Results are written to a temp file and moved into place, so ``dst`` is either the
  complete new workbook or untouched.

LibreOffice writes cached numbers with 15 significant digits, so values read back with
``openpyxl.load_workbook(data_only=True)`` match Python's doubles to about 1e-15 relative,
not bit for bit.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from sheetgen.errors import InputFileError, SheetgenError, UsageError

# The UNO program: runs under the interpreter that has python3-uno (not the venv), reads a
# JSON job, prints one JSON line: {"ok": true} or {"ok": false, "kind": ..., "message": ...}.
UNO_JOB = Path(__file__).with_name("uno_job.py")

__all__ = [
    "LibreOfficeError",
    "LibreOfficeTimeoutError",
    "ToolNotFoundError",
    "edit",
    "find_pdftoppm",
    "find_soffice",
    "find_uno_python",
    "pdf_to_png",
    "recalculate",
    "render",
    "restructure",
]

XLSX_FILTER = "Calc MS Excel 2007 XML"
"""LibreOffice's export filter for .xlsx (the one its own Save As uses)."""

FILTERS = {
    ".xlsx": XLSX_FILTER,
    ".xlsm": "Calc MS Excel 2007 VBA XML",
    ".ods": "calc8",
}
"""The export filter LibreOffice's Save As uses for each file type the UNO jobs can write."""

_CELL_RE = re.compile(r"^\$?[A-Za-z]{1,3}\$?[0-9]{1,7}$")
_SHUTDOWN_GRACE = 15.0
"""Seconds a clean LibreOffice shutdown may take before the process group is killed."""


class LibreOfficeError(SheetgenError):
    """LibreOffice (or a tool next to it) could not do what was asked."""


class ToolNotFoundError(LibreOfficeError):
    """soffice, a Python that can ``import uno``, or pdftoppm is not installed."""


class LibreOfficeTimeoutError(LibreOfficeError):
    """LibreOffice did not finish in time; its processes were killed."""


# --------------------------------------------------------------------------- discovery


def find_soffice() -> str | None:
    """Return the soffice executable to use, or None when LibreOffice is not installed.

    ``SHEETGEN_SOFFICE`` wins so that CI or a developer can point at a specific build
    (a path or a name looked up on PATH); otherwise ``soffice`` then ``libreoffice``.
    """
    override = os.environ.get("SHEETGEN_SOFFICE")
    if override:
        return shutil.which(override) or (override if Path(override).is_file() else None)
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def find_uno_python(soffice: str | None = None) -> str | None:
    """Return a Python interpreter that can ``import uno``, or None.

    The venv running sheetgen usually cannot (python3-uno is compiled for the system
    interpreter), so look at ``SHEETGEN_UNO_PYTHON``, then the ``python`` bundled next to
    soffice (Windows/macOS builds ship one), then the system ``python3``.
    """
    candidates: list[str] = []
    override = os.environ.get("SHEETGEN_UNO_PYTHON")
    if override:
        candidates.append(override)
    office = soffice or find_soffice()
    if office:
        program_dir = Path(office).resolve().parent
        candidates += [str(program_dir / "python"), str(program_dir / "python.exe")]
    candidates += ["/usr/bin/python3", shutil.which("python3") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and _can_import_uno(candidate):
            return candidate
    return None


@functools.cache
def missing() -> str | None:
    """Why LibreOffice cannot be driven here (no ``soffice``, or no Python that can import
    ``uno``), or None when it can: the one answer every test asks."""
    if find_soffice() is None:
        where = os.environ.get("SHEETGEN_SOFFICE")
        hint = f"SHEETGEN_SOFFICE={where!r} not found" if where else "SHEETGEN_SOFFICE unset"
        return f"LibreOffice is not installed (no soffice on PATH, {hint})"
    if find_uno_python() is None:
        return "no Python can 'import uno' (install python3-uno or set SHEETGEN_UNO_PYTHON)"
    return None


def find_pdftoppm() -> str | None:
    """Return the pdftoppm executable (Debian package poppler-utils), or None."""
    return shutil.which("pdftoppm")


def _can_import_uno(python: str) -> bool:
    """Whether ``python`` can import uno; checked by running it, the only reliable way."""
    try:
        result = subprocess.run(
            [python, "-I", "-c", "import uno"],
            env=_clean_env(),
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def _require_soffice() -> str:
    soffice = find_soffice()
    if soffice is None:
        raise ToolNotFoundError(
            "LibreOffice is not installed: no soffice on PATH and SHEETGEN_SOFFICE is not set "
            "(Debian: apt-get install libreoffice-calc-nogui)."
        )
    return soffice


# --------------------------------------------------------------------------- public API


def recalculate(src: Path, dst: Path, *, timeout: float = 120) -> None:
    """Open ``src`` in LibreOffice, recompute every formula, save it to ``dst``.

    ``dst``'s suffix chooses the format (:data:`FILTERS`; .xlsx unless it is .xlsm or .ods).

    Cached values in ``src`` are ignored (hard recalculation), so ``dst`` holds what
    LibreOffice itself computes from the formulas and inputs.
    """
    _run_uno_job(src, dst, edits={}, sheet=None, timeout=timeout)


def edit(
    src: Path,
    dst: Path,
    edits: Mapping[str, str | float],
    *,
    sheet: str | None = None,
    insert_rows: Sequence[int] = (),
    timeout: float = 120,
) -> None:
    """Type ``edits`` into cells of ``src`` in LibreOffice, recalculate, save to ``dst``.

    Keys are A1 addresses (``"B2"``) on ``sheet`` (default: the first sheet). A value
    that is a string starting with ``=`` is entered as a formula in Excel syntax, a
    number becomes a number, ``""`` empties the cell, any other string becomes text; a
    range (``"K6:K10"``) given ``"{=...}"`` gets that array formula (Ctrl+Shift+Enter).
    ``insert_rows``: 1-based row numbers above which a blank row is inserted first, as a
    person does (``Rows.insertByIndex``: LibreOffice moves every formula and name).
    Edits are applied in mapping order, then the whole workbook is recalculated. ``dst``'s
    suffix chooses the format (:data:`FILTERS`: .xlsx, .xlsm or .ods).
    """
    _run_uno_job(src, dst, edits=edits, sheet=sheet, timeout=timeout, insert_rows=insert_rows)


def restructure(
    src: Path,
    dst: Path,
    ops: Sequence[Mapping[str, object]],
    *,
    edits: Mapping[str, str | float] | None = None,
    sheet: str | None = None,
    timeout: float = 120,
) -> None:
    """Edit the structure of ``src`` the way a person does in LibreOffice, then save ``dst``
    (its suffix chooses the format, as for :func:`edit`).

    ``ops`` run in order on ``sheet`` (default: the first), before ``edits`` (as in
    :func:`edit`): ``{"op": "insert_rows", "at": 5, "count": 1}`` inserts above row 5 (1-based,
    as the row headers show), ``remove_rows``, ``insert_columns`` / ``remove_columns`` (``at``
    a column letter), ``{"op": "move", "range": "A1:K11", "to": "C4"}`` (cut and paste),
    ``{"op": "copy_sheet", "name": "Neuron (2)"}`` (a copy placed after the sheet, which later
    ops and edits then work on), ``{"op": "rename", "name": "Mine"}``, ``{"op":
    "to_new_workbook"}`` (the sheet copied alone into a new workbook). LibreOffice rewrites
    every formula and defined name that refers to what moved, as it does for a person.
    """
    _run_uno_job(src, dst, edits=edits or {}, sheet=sheet, timeout=timeout, ops=ops)


def recalculate_many(sources: Sequence[Path], out_dir: Path, *, timeout: float = 600) -> list[Path]:
    """Recalculate many workbooks in ONE LibreOffice run, saving each as .xlsx in ``out_dir``.

    Each LibreOffice start costs seconds, so a batch shares one. The private profile makes
    LibreOffice recalculate every formula on load: with its default profile it keeps the
    cached values a file carries (ours does), and the output would show our numbers, not
    LibreOffice's. Returns the output paths, in the order of ``sources`` (names must differ).
    """
    files = [_check_input(src) for src in sources]
    if len({f.name for f in files}) != len(files):
        raise UsageError("The workbooks to recalculate together need different file names.")
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise UsageError(f"Output folder {out_dir} does not exist.")
    soffice = _require_soffice()
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="sheetgen-lo-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "in").mkdir()
        (tmp / "out").mkdir()
        copies = []
        for f in files:
            copies.append(tmp / "in" / f.name)
            shutil.copyfile(f, copies[-1])
        args = ["--convert-to", "xlsx", "--outdir", str(tmp / "out"), *map(str, copies)]
        with _Office(soffice, tmp, args) as office:
            office.wait_until(deadline, what=f"recalculating {len(files)} workbooks")
            stderr = office.stderr_tail()
        written = []
        for f in files:
            produced = tmp / "out" / f"{f.stem}.xlsx"
            if not produced.is_file() or produced.stat().st_size == 0:
                raise LibreOfficeError(
                    f"LibreOffice did not recalculate {f.name} (exit code {office.returncode})"
                    f"{_detail(stderr)}."
                )
            written.append(out_dir / f"{f.stem}.xlsx")
            _move_into_place(produced, written[-1])
    return written


def render(src: Path, out_dir: Path, *, timeout: float = 120) -> Path:
    """Convert ``src`` to PDF in ``out_dir`` and return the PDF's path.

    Uses ``soffice --convert-to pdf`` with the always-recalculate profile, so the PDF
    shows freshly computed values even if the file's cached values are stale.
    The PDF is named after ``src`` (``<stem>.pdf``) and replaces any file of that name.
    """
    src = _check_input(src)
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise UsageError(f"Output folder {out_dir} does not exist.")
    soffice = _require_soffice()
    deadline = time.monotonic() + timeout
    with _workspace(src) as (tmp, work_copy):
        convert_dir = tmp / "out"
        convert_dir.mkdir()
        args = ["--convert-to", "pdf", "--outdir", str(convert_dir), str(work_copy)]
        with _Office(soffice, tmp, args) as office:
            office.wait_until(deadline, what=f"converting {src.name} to PDF")
            stderr = office.stderr_tail()
        produced = convert_dir / f"{work_copy.stem}.pdf"
        if not produced.is_file() or produced.stat().st_size == 0:
            raise LibreOfficeError(
                f"LibreOffice did not convert {src.name} to PDF (exit code {office.returncode})"
                f"{_detail(stderr)}."
            )
        pdf = out_dir / f"{src.stem}.pdf"
        _move_into_place(produced, pdf)
    return pdf


def pdf_to_png(pdf: Path, png: Path, *, dpi: int = 110, timeout: float = 60) -> Path:
    """Render the first page of ``pdf`` to ``png`` with pdftoppm; return ``png``.

    A PNG is what a reviewer (or an image-reading model) can look at without a PDF viewer.
    """
    pdftoppm = find_pdftoppm()
    if pdftoppm is None:
        raise ToolNotFoundError(
            "pdftoppm is not installed (Debian: apt-get install poppler-utils)."
        )
    pdf = _check_input(pdf)
    png = Path(png)
    with tempfile.TemporaryDirectory(prefix="sheetgen-png-") as tmp_name:
        prefix = Path(tmp_name) / "page"
        cmd = [pdftoppm, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile"]
        try:
            result = subprocess.run(
                [*cmd, str(pdf), str(prefix)],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LibreOfficeTimeoutError(
                f"pdftoppm did not render {pdf.name} within {timeout:g} s."
            ) from exc
        produced = prefix.with_suffix(".png")
        if result.returncode != 0 or not produced.is_file():
            stderr = result.stderr.decode("utf-8", "replace")
            raise LibreOfficeError(
                f"pdftoppm could not render {pdf.name} (exit code {result.returncode})"
                f"{_detail(stderr)}."
            )
        _move_into_place(produced, png)
    return png


# --------------------------------------------------------------------------- UNO job


# What a LibreOffice just started sometimes answers to its first calls, though the same job on
# a fresh office succeeds ("illegal object given!" from its core reflection, seen about once in
# a thousand jobs): such a job is run once more, on a new office and profile.
_TRANSIENT = "com.sun.star.uno.RuntimeException: illegal object given!"


def _run_uno_job(
    src: Path,
    dst: Path,
    *,
    edits: Mapping[str, str | float],
    sheet: str | None,
    timeout: float,
    ops: Sequence[Mapping[str, object]] = (),
    insert_rows: Sequence[int] = (),
) -> None:
    """Run ``uno_job.py`` on ``src`` (see ``_run_uno_job_once``), once more after a transient
    failure of the office itself."""
    job = functools.partial(
        _run_uno_job_once,
        src,
        dst,
        edits=edits,
        sheet=sheet,
        timeout=timeout,
        ops=ops,
        insert_rows=insert_rows,
    )
    try:
        job()
    except LibreOfficeError as exc:
        if _TRANSIENT not in str(exc):
            raise
        job()


def _run_uno_job_once(
    src: Path,
    dst: Path,
    *,
    edits: Mapping[str, str | float],
    sheet: str | None,
    timeout: float,
    ops: Sequence[Mapping[str, object]] = (),
    insert_rows: Sequence[int] = (),
) -> None:
    """Start soffice listening on a private pipe and let ``uno_job.py`` do the work."""
    src = _check_input(src)
    dst = Path(dst)
    if not dst.parent.is_dir():
        raise UsageError(f"Output folder {dst.parent} does not exist.")
    job_edits = [_encode_edit(address, value) for address, value in edits.items()]
    for row in insert_rows:
        if isinstance(row, bool) or not isinstance(row, int) or not 1 <= row <= 1_048_576:
            raise UsageError(f"Cannot insert a row above {row!r}: expected a row number.")
    soffice = _require_soffice()
    python = find_uno_python(soffice)
    if python is None:
        raise ToolNotFoundError(
            "No Python that can 'import uno' was found (Debian: apt-get install python3-uno; "
            "or set SHEETGEN_UNO_PYTHON)."
        )
    deadline = time.monotonic() + timeout
    with _workspace(src) as (tmp, work_copy):
        pipe = f"sheetgen_{uuid.uuid4().hex}"
        suffix = dst.suffix.lower() if dst.suffix.lower() in FILTERS else ".xlsx"
        out = tmp / f"result{suffix}"
        job = {
            "pipe": pipe,
            "src": work_copy.as_uri(),
            "dst": out.as_uri(),
            "filter": FILTERS[suffix],
            "sheet": sheet,
            "insert_rows": [int(row) - 1 for row in insert_rows],
            "edits": job_edits,
            "ops": [dict(op) for op in ops],
            "deadline_seconds": timeout,
        }
        (tmp / "job.json").write_text(json.dumps(job), encoding="utf-8")
        script = UNO_JOB
        accept = f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"
        with _Office(soffice, tmp, [accept], pipe=pipe) as office:
            report = _run_helper(python, script, tmp, office, timeout, src.name)
            if report.get("ok") is True:
                # The helper asked LibreOffice to terminate; give it time to exit cleanly
                # (the context manager kills it if it does not).
                office.wait_until(
                    min(deadline, time.monotonic() + _SHUTDOWN_GRACE),
                    what="shutting down",
                    kill_quietly=True,
                )
        if report.get("ok") is not True:
            raise _error_from_report(report, src.name)
        if not out.is_file() or out.stat().st_size == 0:
            raise LibreOfficeError(f"LibreOffice did not write a workbook for {src.name}.")
        _move_into_place(out, dst)


def _run_helper(
    python: str, script: Path, tmp: Path, office: _Office, timeout: float, name: str
) -> dict[str, object]:
    """Run the UNO script under ``python``; return its JSON report. Kill it on timeout."""
    deadline = office.started + timeout
    with (tmp / "helper.out").open("wb") as out, (tmp / "helper.err").open("wb") as err:
        helper = subprocess.Popen(
            [python, "-I", str(script), str(tmp / "job.json")],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=_clean_env(),
            cwd=tmp,
            start_new_session=True,
        )
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LibreOfficeTimeoutError(
                        f"LibreOffice did not finish {name} within {timeout:g} s; "
                        "its processes were killed."
                    )
                try:
                    helper.wait(timeout=min(0.2, remaining))
                    break
                except subprocess.TimeoutExpired:
                    pass
                if office.has_exited():
                    # Give the helper a moment to report what it saw, then stop waiting.
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        helper.wait(timeout=2)
                    if helper.returncode is None:
                        raise LibreOfficeError(
                            f"LibreOffice exited while working on {name} "
                            f"(exit code {office.returncode}){_detail(office.stderr_tail())}."
                        )
                    break
        finally:
            if helper.returncode is None:
                helper.kill()
                helper.wait()
    stdout = (tmp / "helper.out").read_text("utf-8", "replace").strip().splitlines()
    stderr = (tmp / "helper.err").read_text("utf-8", "replace")
    try:
        report = json.loads(stdout[-1]) if stdout else None
    except json.JSONDecodeError:
        report = None
    if not isinstance(report, dict):
        return {
            "ok": False,
            "kind": "office",
            "message": f"the UNO helper failed (exit code {helper.returncode}){_detail(stderr)}",
        }
    return report


def _encode_edit(address: str, value: str | float) -> dict[str, object]:
    """Validate one edit on our side, where the error message can name it clearly."""
    if (
        isinstance(address, str)
        and isinstance(value, str)
        and value.startswith("{=")
        and value.endswith("}")
        and all(_CELL_RE.match(part) for part in address.split(":"))
    ):  # an array formula over a range, as Ctrl+Shift+Enter enters it
        return {"cell": address, "kind": "array", "value": value[1:-1]}
    if not isinstance(address, str) or not _CELL_RE.match(address):
        raise UsageError(f"Cannot edit {address!r}: expected a cell address such as 'B2'.")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UsageError(f"Cannot type {value!r} into {address}: expected a string or a number.")
    if isinstance(value, str):
        if value.startswith("="):
            return {"cell": address, "kind": "formula", "value": value}
        if value == "":
            return {"cell": address, "kind": "clear", "value": ""}
        return {"cell": address, "kind": "text", "value": value}
    if not math.isfinite(value):
        raise UsageError(f"Cannot type {value!r} into {address}: spreadsheets hold finite numbers.")
    return {"cell": address, "kind": "number", "value": float(value)}


def _error_from_report(report: Mapping[str, object], name: str) -> SheetgenError:
    message = f"{name}: {report.get('message', 'unknown LibreOffice failure')}"
    kind = report.get("kind")
    if kind == "input":
        return InputFileError(message)
    if kind == "usage":
        return UsageError(message)
    return LibreOfficeError(message)


# --------------------------------------------------------------------------- processes


class _Office:
    """One soffice process tree with a private profile, killed for sure on exit.

    Used as a context manager: ``__exit__`` waits for nothing; if the tree is still
    alive it is SIGKILLed. The group leader is not reaped until its group has been
    signalled, so the process-group id cannot have been reused by then.
    """

    def __init__(
        self, soffice: str, tmp: Path, args: Sequence[str], *, pipe: str | None = None
    ) -> None:
        profile = tmp / "profile"
        self._pipe_names = [_single_instance_pipe(profile.as_uri())]
        if pipe is not None:
            self._pipe_names.append(pipe)
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE_XCU, encoding="utf-8")
        self._stderr_path = tmp / "soffice.err"
        self._stderr: IO[bytes] = self._stderr_path.open("wb")
        cmd = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--nodefault",
            "--norestore",
            "--nolockcheck",
            *args,
        ]
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=self._stderr,
                stderr=subprocess.STDOUT,
                env=_clean_env(),
                cwd=tmp,
                start_new_session=True,
            )
        except OSError as exc:
            self._stderr.close()
            raise LibreOfficeError(f"Could not start LibreOffice ({soffice}): {exc}.") from exc
        self.started = time.monotonic()
        self.returncode: int | None = None

    def __enter__(self) -> _Office:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._kill_group()
        finally:
            self._stderr.close()
            self._remove_stale_pipes()

    def _remove_stale_pipes(self) -> None:
        """Delete the sockets a killed soffice leaves in /tmp (a clean exit removes them).

        LibreOffice puts them in a fixed /tmp (or /var/tmp), not in TMPDIR, so without
        this every timeout would leave two ``OSL_PIPE_*`` files there for good.
        """
        if sys.platform == "win32":  # pragma: no cover - named pipes vanish with the process
            return
        for folder in ("/tmp", "/var/tmp"):
            for name in self._pipe_names:
                path = Path(folder, f"OSL_PIPE_{os.getuid()}_{name}")
                with contextlib.suppress(OSError):
                    if path.is_socket():
                        path.unlink()

    def has_exited(self) -> bool:
        """Whether the leader has exited, without reaping it (see the class docstring)."""
        if self.returncode is not None:
            return True
        if sys.platform == "win32":  # pragma: no cover - no process groups to protect
            return self._proc.poll() is not None
        try:
            info = os.waitid(os.P_PID, self._proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def wait_until(self, deadline: float, *, what: str, kill_quietly: bool = False) -> None:
        """Wait for soffice to exit by ``deadline``; on timeout kill it and raise."""
        while not self.has_exited():
            if time.monotonic() >= deadline:
                self._kill_group()
                if kill_quietly:
                    return
                raise LibreOfficeTimeoutError(
                    f"LibreOffice timed out {what}; its processes were killed."
                )
            time.sleep(0.05)
        self._kill_group()

    def stderr_tail(self) -> str:
        self._stderr.flush()
        text = self._stderr_path.read_text("utf-8", "replace")
        noise = ("javaldx", "java may not function")
        lines = [line for line in text.splitlines() if not any(n in line for n in noise)]
        return "\n".join(lines[-5:])

    def _kill_group(self) -> None:
        """SIGKILL whatever is left of the tree, then reap the leader.

        Children go first while their parent (oosplash) is alive to reap them: killing
        the parent first orphans soffice.bin to PID 1, and in containers whose init
        does not reap promptly it lingers as a zombie.
        """
        if self.returncode is not None:
            return
        if sys.platform == "win32":  # pragma: no cover
            self._proc.kill()
            self.returncode = self._proc.wait()
            return
        leader = self._proc.pid
        if not self.has_exited():
            # Freeze the leader so it cannot start a child between our listing and our
            # kill (that child would escape to PID 1), kill its children, then let it
            # run again to reap them and exit on its own.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(leader, signal.SIGSTOP)
            killed = False
            for _ in range(3):
                children = [p for p in _process_group(leader, live_only=True) if p != leader]
                if not children:
                    break
                killed = True
                for pid in children:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(leader, signal.SIGCONT)
            give_up = time.monotonic() + (2.0 if killed else 0.0)
            while not self.has_exited() and time.monotonic() < give_up:
                time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(leader, signal.SIGKILL)
        self.returncode = self._proc.wait()


def _single_instance_pipe(profile_url: str) -> str:
    """The name soffice gives its single-instance pipe for a profile.

    Mirrors desktop/source/app/officeipcthread.cxx: MD5 of the profile URL in UTF-16,
    each byte in hex without zero padding.
    """
    digest = hashlib.md5(profile_url.encode("utf-16-le"), usedforsecurity=False).digest()
    return "SingleOfficeIPC_" + "".join(format(byte, "x") for byte in digest)


def _process_group(pgid: int, *, live_only: bool = False) -> list[int]:
    """PIDs in process group ``pgid`` (Linux /proc; empty elsewhere, which is still safe).

    ``live_only`` leaves out zombies: they are dead already, only waiting to be reaped.
    """
    members: list[int] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            # Fields after the parenthesised command name: state ppid pgrp ...
            fields = stat[stat.rfind(")") + 2 :].split()
            if len(fields) > 2 and fields[2] == str(pgid) and not (live_only and fields[0] == "Z"):
                members.append(int(entry.name))
    return members


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _workspace(src: Path) -> Iterator[tuple[Path, Path]]:
    """A private temp dir holding a copy of ``src`` (see the module docstring for why)."""
    with tempfile.TemporaryDirectory(prefix="sheetgen-lo-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "in").mkdir()
        work_copy = tmp / "in" / src.name
        shutil.copyfile(src, work_copy)
        yield tmp, work_copy


def _check_input(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path} does not exist or is not a file.")
    return path.resolve()


def _move_into_place(produced: Path, target: Path) -> None:
    """Copy next to ``target`` then rename, so ``target`` is never half written."""
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        shutil.copyfile(produced, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _clean_env() -> dict[str, str]:
    """Our environment minus what would make the system Python load the venv's modules."""
    env = dict(os.environ)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH"):
        env.pop(key, None)
    return env


def _detail(text: str) -> str:
    text = text.strip()
    return f": {text.splitlines()[-1]}" if text else ""


_PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<!-- 0 = always recalculate on load; LibreOffice's default 1 keeps cached values -->
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<!-- typed formulas use Excel syntax: Excel A1 grammar, English names, ',' separators -->
<item oor:path="/org.openoffice.Office.Calc/Formula/Syntax">\
<prop oor:name="Grammar" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Syntax">\
<prop oor:name="EnglishFunctionName" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Syntax">\
<prop oor:name="SeparatorArg" oor:op="fuse"><value>,</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Syntax">\
<prop oor:name="SeparatorArrayCol" oor:op="fuse"><value>,</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Syntax">\
<prop oor:name="SeparatorArrayRow" oor:op="fuse"><value>;</value></prop></item>
</oor:items>
"""
