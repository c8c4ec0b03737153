"""The Starlette application: the learner's page, the JSON API beside it, the teacher's pages.

Every page has a JSON twin that carries the same data (``Link: <…>; rel="alternate"``): the
learner's page and ``GET /api/health``, a checked sheet and ``POST /api/check``, the teacher's
page and ``GET /teacher/summary.json``. The JSON of a check is ``verify --json``'s, made by the
same function in a worker process (``sheetgen.serve.work``); the page is drawn from that JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..report.render import json_text
from ..teacher.provenance import normal_code, read_codes
from ..teacher.roster import Learner
from ..workbook.safety.container import ZIP_MAGIC
from .config import ServeConfig
from .grid import KINDS, ORDER, verdict_kind
from .guard import (
    CSRF_COOKIE,
    CSRF_FIELD,
    TEACHER_COOKIE,
    Guard,
    RateLimit,
    UploadTooLarge,
    cookie_options,
    csrf_ok,
    csrf_token,
    inline_policy,
    teacher_ok,
    token_ok,
)
from .pool import CheckPool, PoolBusy
from .storage import HIDDEN, SUFFIXES, Collection

_CHUNK = 1024 * 1024
GRADE_SECONDS = 600.0
"""Time the class's grading may take in its worker (each workbook is vetted and bounded)."""


class Refusal(Exception):
    """An upload that gets no verdict: one sentence, an HTTP status, maybe a Retry-After."""

    def __init__(self, status: int, sentence: str, retry_after: int | None = None) -> None:
        super().__init__(sentence)
        self.status, self.retry_after = status, retry_after


class Closed(Refusal):
    """A hand-in refused because it is closed to this learner (no attempts left): the page
    says so instead of offering the form again."""


class Server:
    """What the routes share: the settings, the worker pool, the class (in collect mode)."""

    def __init__(self, config: ServeConfig, pool: CheckPool | None = None) -> None:
        self.config = config
        self.pool = pool or CheckPool(
            config.workers,
            config.queue,
            seconds=config.check_seconds,
            memory=config.check_memory,
            limits=config.limits,
        )
        self.pages = Environment(
            loader=PackageLoader("sheetgen.serve", "templates"),
            autoescape=select_autoescape(["html"]),
        )
        self.codes: Mapping[str, Learner] = {}
        self.collection: Collection | None = None
        if config.collect is not None:
            self.codes = {c.code: Learner(c.id, c.name) for c in read_codes(config.codes_file)}
            self.collection = Collection(config.collect, self.codes)
        self.per_address = RateLimit(config.rate_limit) if config.rate_limit else None
        self.per_code = RateLimit(config.code_rate)
        if config.collect is not None:  # beside the class's files; a killed server's leftovers
            self.uploads = config.collect / HIDDEN / "incoming"  # go at the next start
            shutil.rmtree(self.uploads, ignore_errors=True)
            self.uploads.mkdir()
        else:
            self.uploads = Path(tempfile.mkdtemp(prefix="sheetgen-serve-"))
        self._graded: tuple[int, Path, dict[str, str]] | None = None
        self._grading = asyncio.Lock()

    # ---- pages ---------------------------------------------------------------------------

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        """The page ``name``; in collect mode its hand-in form is left out, said closed (after
        the deadline, or ``closed=`` a reason)."""
        token = csrf_token(request)
        context.setdefault("closed", self.closed())
        html = self.pages.get_template(name).render(
            csrf=token,
            csrf_field=CSRF_FIELD,
            config=self.config,
            kinds=KINDS,
            version=__version__,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        response.set_cookie(CSRF_COOKIE, token, **cookie_options(request))
        return response

    # ---- uploads ---------------------------------------------------------------------------

    async def receive(self, request: Request, *, form: bool) -> tuple[Path, str, dict[str, str]]:
        """The upload saved under a server-chosen name, the learner's name for it (shown, never
        used as a path) and the form's other fields."""
        if self.per_address is not None:
            wait = self.per_address.retry_after(request.client.host if request.client else "")
            if wait is not None:
                raise Refusal(429, "Too many uploads from this address; wait a minute.", wait)
        try:
            data = await request.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
        except UploadTooLarge as exc:
            raise Refusal(413, str(exc)) from None
        except Exception:  # python-multipart's and Starlette's parse errors
            raise Refusal(400, "The request is not a multipart form with the field file.") from None
        try:
            fields = {k: v for k, v in data.items() if isinstance(v, str)}
            if form and not csrf_ok(request, fields.get(CSRF_FIELD)):
                raise Refusal(
                    403, "The form has expired: reload the page and choose the file again."
                )
            upload = data.get("file")
            if not isinstance(upload, UploadFile):
                raise Refusal(400, "Send the workbook as the multipart field file.")
            name = shown_name(upload.filename)
            suffix = Path(name).suffix.lower()
            kept = suffix if suffix in SUFFIXES else ""
            path = self.uploads / f"upload-{secrets.token_hex(8)}{kept}"
            await asyncio.to_thread(_save, upload, path)
        finally:
            await data.close()
        return path, name, fields

    @contextlib.asynccontextmanager
    async def upload(
        self, request: Request, *, form: bool
    ) -> AsyncIterator[tuple[Path, str, dict[str, str]]]:
        """:meth:`receive`'s upload, its temporary copy removed once the block is done with it
        (a stored submission is a copy of its own)."""
        path, name, fields = await self.receive(request, form=form)
        try:
            yield path, name, fields
        finally:
            path.unlink(missing_ok=True)

    async def check(
        self, path: Path, name: str, *, grid: bool = False, text: bool = False
    ) -> dict[str, Any]:
        """The worker's answer: ``report`` (verify's JSON as data), ``text`` (the summary) and
        ``grid``; or, with ``text``, ``json``: that JSON already rendered."""
        job = {
            "do": "check",
            "path": str(path),
            "name": name,
            "grid": grid,
            "json": text,
            "variants": self.config.variants,
        }
        return await self.work(job)

    async def work(self, job: dict[str, Any]) -> dict[str, Any]:
        """A worker's answer to ``job``; a full queue or a failed job is a :class:`Refusal`."""
        try:
            answer = await self.pool.run(job)
        except PoolBusy as exc:
            raise Refusal(503, str(exc), exc.retry_after) from None
        if "error" in answer:
            raise Refusal(int(answer["status"]), str(answer["error"]), answer.get("retry_after"))
        return answer

    def closed(self) -> str | None:
        """Why no one can hand in any more (the deadline has passed), or None."""
        deadline = self.config.deadline
        if self.collection is None or deadline is None or datetime.now(UTC) <= deadline:
            return None
        return f"The hand-in is closed: the deadline ({deadline.isoformat()}) has passed."

    def learner_of(self, code: str) -> Learner:
        learner = self.codes.get(normal_code(code))
        if learner is None:
            raise Refusal(403, "That code is not one of this class's: check your hand-out.")
        wait = self.per_code.retry_after(learner.id)
        if wait is not None:
            raise Refusal(429, "Too many submissions under this code; wait a minute.", wait)
        closed = self.closed()
        if closed is not None:
            raise Refusal(403, closed)
        assert self.collection is not None
        attempts = self.config.attempts
        if attempts is not None and self.collection.attempts(learner) >= attempts:
            raise Closed(403, _last(attempts))
        return learner

    async def submit(self, path: Path, name: str, code: str) -> dict[str, Any]:
        """Store the upload as its learner's newest version (durably), then check it."""
        learner = self.learner_of(code)
        if not _looks_like_zip(path):
            raise Refusal(415, f"{name} is not a workbook (.xlsx, .xlsm or .ods).")
        assert self.collection is not None
        suffix = path.suffix if path.suffix in SUFFIXES else ".xlsx"
        stored = await asyncio.to_thread(self.collection.store, learner, path, suffix)
        answer: dict[str, Any] = {"stored": True, "id": stored.id, "received": stored.received}
        attempts = self.config.attempts
        if attempts is not None and self.collection.attempts(learner) >= attempts:
            answer[LAST] = _last(attempts)
        if self.config.feedback == "none":
            return answer
        try:
            checked = await self.check(stored.path, name, grid=self.config.feedback == "full")
        except Refusal as refusal:  # stored all the same: the teacher sees why it is unreadable
            said = str(refusal)
            if refusal.retry_after:  # out of time: handing it in again would use an attempt
                said += (
                    " Your sheet is handed in all the same: there is no need to hand it in again."
                )
            return answer | {"error": said}
        report = checked["report"]
        if self.config.feedback == "summary":
            return answer | {
                "ok": report["ok"],
                "summary": report["summary"],
                "text": checked["text"],
            }
        return answer | {"verdict": checked}

    async def handed_in(self, request: Request, *, form: bool) -> dict[str, Any]:
        """The upload and code of ``request`` submitted (:meth:`submit`)."""
        async with self.upload(request, form=form) as (path, name, fields):
            return await self.submit(path, name, fields.get("code", ""))

    # ---- the class ---------------------------------------------------------------------------

    async def graded(self) -> Path:
        """A folder with the class graded as ``sheetgen grade DIR --roster`` grades it (every
        format: ``work.GRADE_FILES``), redone in a worker after each new submission."""
        assert self.collection is not None and self.config.collect is not None
        async with self._grading:
            latest = self.collection.latest_id()
            if latest == 0:
                raise Refusal(404, "No submissions yet.")
            if self._graded is not None and self._graded[0] == latest:
                return self._graded[1]
            out = self.uploads / f"grades-{latest}"
            out.mkdir(exist_ok=True)
            job = {
                "do": "grade",
                "path": str(self.config.collect),
                "name": str(self.config.collect),
                "folder": str(self.config.collect),
                "roster": str(self.config.roster),
                "out": str(out),
                "seconds": GRADE_SECONDS,
            }
            answer = await self.work(job)
            if self._graded is not None:
                shutil.rmtree(self._graded[1], ignore_errors=True)
            self._graded = (latest, out, answer["missing"])
            return out

    async def grade_file(self, name: str) -> bytes:
        """The bytes ``sheetgen grade DIR --roster … -o NAME`` writes (``work.GRADE_FILES``)."""
        folder = await self.graded()
        assert self._graded is not None
        why = self._graded[2].get(name)
        if why is not None:
            raise Refusal(404, why)
        return (folder / name).read_bytes()

    def close(self) -> None:
        self.pool.close()
        if self.collection is not None:
            self.collection.close()
        shutil.rmtree(self.uploads, ignore_errors=True)


LAST = "_closed"
"""The key of :meth:`Server.submit`'s answer saying that was the learner's last attempt (for
the page; the API leaves it out)."""


def _last(attempts: int) -> str:
    return f"You have used all {attempts} attempts: the hand-in is closed for you."


def shown_name(filename: str | None) -> str:
    """The learner's file name, to show only: its last part, printable, at most 80 characters."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:80] or "your workbook"


def _save(upload: UploadFile, path: Path) -> None:
    upload.file.seek(0)
    with open(path, "xb") as out:
        shutil.copyfileobj(upload.file, out, _CHUNK)


def _looks_like_zip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(ZIP_MAGIC)) == ZIP_MAGIC


def json_answer(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """JSON as ``verify --json`` prints it (ASCII, the same indentation)."""
    return Response(json_text(data), status, headers=headers, media_type="application/json")


def refused(refusal: Refusal) -> Response:
    headers = {"retry-after": str(refusal.retry_after)} if refusal.retry_after else None
    return json_answer({"error": str(refusal)}, refusal.status, headers)


MAX_LISTED = 200
"""Cells the page lists to fix at most (a training run can have thousands wrong)."""


def cells_first(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's cells that are not right, root causes first (the page's list)."""
    cells = [c | {"kind": verdict_kind(c["status"], c["causes"])} for c in report["cells"]]
    return sorted((c for c in cells if c["kind"] != "right"), key=lambda c: ORDER.index(c["kind"]))


def create_app(config: ServeConfig, *, pool: CheckPool | None = None) -> Starlette:
    """The application; its worker pool starts with it (lifespan) and stops with it."""
    server = Server(config, pool)

    async def home(request: Request) -> Response:
        response = server.page(request, "learner.html", collecting=config.collecting)
        response.headers["link"] = '</api/health>; rel="alternate"; type="application/json"'
        return response

    async def health(request: Request) -> Response:
        return json_answer(
            {
                "ok": True,
                "version": __version__,
                "mode": "collect" if config.collecting else "self-check",
                "stores_files": config.collecting,
                "formats": list(SUFFIXES),
                "max_upload": config.max_upload,
                "pending": server.pool.pending,
            }
        )

    async def api_check(request: Request) -> Response:
        try:
            async with server.upload(request, form=False) as (path, name, _):
                answer = await server.check(path, name, text=True)
        except Refusal as refusal:
            return refused(refusal)
        return Response(answer["json"], media_type="application/json")

    async def api_annotate(request: Request) -> Response:
        try:
            async with server.upload(request, form=False) as (path, name, _):
                return await annotated(path, name)
        except Refusal as refusal:
            return refused(refusal)

    async def annotated(path: Path, name: str) -> Response:
        out = path.with_name(f"{path.stem}-feedback.xlsx")
        await server.work({"do": "annotate", "path": str(path), "name": name, "out": str(out)})
        data = out.read_bytes()
        out.unlink(missing_ok=True)
        stem = Path(name).stem or "workbook"
        download = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)
        return Response(
            data,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"content-disposition": f'attachment; filename="{download}-feedback.xlsx"'},
        )

    async def page_check(request: Request) -> Response:
        try:
            async with server.upload(request, form=True) as (path, name, fields):
                if fields.get("action") == "annotate":
                    return await annotated(path, name)
                answer = await server.check(path, name, grid=True)
        except Refusal as refusal:
            return error_page(request, refusal)
        response = result_page(request, answer)
        response.headers["link"] = '</api/check>; rel="alternate"; type="application/json"'
        return response

    def result_page(request: Request, answer: Mapping[str, Any], **extra: Any) -> Response:
        report = answer["report"]
        attention = cells_first(report)
        return server.page(
            request,
            "result.html",
            report=report,
            text=answer["text"],
            grid=answer.get("grid"),
            attention=attention[:MAX_LISTED],
            unlisted=max(0, len(attention) - MAX_LISTED),
            cells={c["cell"]: c for c in report["cells"]},
            collecting=config.collecting,
            **extra,
        )

    def error_page(request: Request, refusal: Refusal) -> Response:
        response = server.page(
            request,
            "error.html",
            status=refusal.status,
            sentence=str(refusal),
            collecting=config.collecting,
            closed=str(refusal) if isinstance(refusal, Closed) else server.closed(),
        )
        if refusal.retry_after:
            response.headers["retry-after"] = str(refusal.retry_after)
        return response

    async def api_submit(request: Request) -> Response:
        try:
            answer = await server.handed_in(request, form=False)
        except Refusal as refusal:
            return refused(refusal)
        verdict = answer.pop("verdict", None)
        answer.pop(LAST, None)
        return json_answer(answer | (verdict["report"] if verdict else {}))

    async def page_submit(request: Request) -> Response:
        try:
            answer = await server.handed_in(request, form=True)
        except Refusal as refusal:
            return error_page(request, refusal)
        verdict = answer.get("verdict")
        closed = answer.get(LAST) or server.closed()
        if verdict is not None:
            response = result_page(request, verdict, stored=answer, closed=closed)
        else:
            response = server.page(
                request, "stored.html", stored=answer, collecting=True, closed=closed
            )
        response.headers["link"] = '</api/submit>; rel="alternate"; type="application/json"'
        return response

    # ---- the teacher's pages -------------------------------------------------------------

    def teacher(request: Request) -> Refusal | None:
        if teacher_ok(request, config.token):
            return None
        return Refusal(401, "This page needs the teacher's token.")

    async def teacher_home(request: Request) -> Response:
        if teacher(request) is not None:
            return server.page(request, "sign-in.html", status=401, collecting=True)
        try:
            data = json.loads(await server.grade_file("summary.json"))
            summary, rows, why = data["summary"], data["files"], ""
        except Refusal as refusal:
            summary, rows, why = None, [], str(refusal)
        response = server.page(
            request, "teacher.html", collecting=True, summary=summary, rows=rows, why=why
        )
        response.headers["link"] = (
            '</teacher/summary.json>; rel="alternate"; type="application/json"'
        )
        return response

    async def sign_in(request: Request) -> Response:
        data = await request.form(max_files=0, max_fields=4)
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
        if not csrf_ok(request, fields.get(CSRF_FIELD)):
            return error_page(request, Refusal(403, "The form has expired: reload the page."))
        token = fields.get("token", "")
        if not token_ok(token, config.token):
            return server.page(
                request,
                "sign-in.html",
                status=401,
                collecting=True,
                refusal="That token was not accepted.",
            )
        response = RedirectResponse("/teacher", status_code=303)
        response.set_cookie(TEACHER_COOKIE, token, **cookie_options(request))
        return response

    def teacher_file(name: str, media: str) -> Any:
        async def download(request: Request) -> Response:
            refusal = teacher(request)
            try:
                if refusal is not None:
                    raise refusal
                data = await server.grade_file(name)
            except Refusal as r:
                return refused(r)
            if name.endswith(".html"):
                html = data.decode("utf-8")
                return HTMLResponse(html, headers={"content-security-policy": inline_policy(html)})
            return Response(data, media_type=media)

        return download

    async def all_submissions(request: Request) -> Response:
        refusal = teacher(request)
        if refusal is not None:
            return refused(refusal)
        assert server.collection is not None
        out = server.uploads / f"submissions-{secrets.token_hex(8)}.zip"
        await asyncio.to_thread(server.collection.zip_to, out)
        return FileResponse(
            out,
            media_type="application/zip",
            filename="submissions.zip",
            background=BackgroundTask(out.unlink, missing_ok=True),
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(server.pool.start)
        try:
            yield
        finally:
            await asyncio.to_thread(server.close)

    routes: list[Route | Mount] = [
        Route("/", home),
        Route("/api/health", health),
        Mount("/static", StaticFiles(packages=[("sheetgen.serve", "static")]), name="static"),
    ]
    if not config.collecting or config.feedback == "full":
        routes += [
            Route("/check", page_check, methods=["POST"]),
            Route("/api/check", api_check, methods=["POST"]),
            Route("/api/annotate", api_annotate, methods=["POST"]),
        ]
    if config.collecting:
        routes += [
            Route("/submit", page_submit, methods=["POST"]),
            Route("/api/submit", api_submit, methods=["POST"]),
            Route("/teacher", teacher_home),
            Route("/teacher/sign-in", sign_in, methods=["POST"]),
            Route("/teacher/summary.json", teacher_file("summary.json", "application/json")),
            Route("/teacher/report.html", teacher_file("report.html", "text/html")),
            Route("/teacher/grades.csv", teacher_file("grades.csv", "text/csv")),
            Route("/teacher/canvas.csv", teacher_file("canvas.csv", "text/csv")),
            Route("/teacher/moodle.csv", teacher_file("moodle.csv", "text/csv")),
            Route("/teacher/submissions.zip", all_submissions),
        ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, max_upload=config.max_upload)],
        exception_handlers={HTTPException: not_served},
        lifespan=lifespan,
    )


async def not_served(request: Request, exc: Exception) -> Response:
    """A path or method the server has no route for: under ``/api/`` one sentence in JSON, as
    every other answer of the API (a script reads ``error``), else Starlette's plain text."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if not path.startswith("/api/"):
        return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        sentence = f"{path} takes {allowed or 'another method'}, not {request.method}."
    else:
        sentence = f"There is no {path[:80]} on this server."
    return json_answer({"error": sentence}, exc.status_code, exc.headers)
