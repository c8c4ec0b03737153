"""What stands between the network and the checks: the upload cap, the headers every answer
carries (a strict Content-Security-Policy), CSRF tokens on forms, the teacher's token and rate
limits.

- **Upload cap**: the request body is counted as it streams in (and a ``Content-Length`` over
  the cap is refused before a byte is read); past the cap the route gets :class:`UploadTooLarge`
  and answers 413, having kept at most the cap on disk.
- **CSRF**: a form carries the token its page set in a ``SameSite=Strict`` cookie (double
  submit); a post whose field and cookie differ is refused. The JSON API takes no cookies, so
  needs none.
- **Teacher's token**: ``Authorization: Bearer <token>`` or the cookie the teacher's sign-in
  form sets; compared in constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from base64 import b64encode
from collections import OrderedDict, deque
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "sheetgen_csrf"
CSRF_FIELD = "csrf"
TEACHER_COOKIE = "sheetgen_teacher"

NONE = "'none'"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""Every page's policy: nothing inline, nothing from elsewhere, no framing."""

HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


class UploadTooLarge(Exception):
    """The request body passed the upload cap."""

    def __init__(self, cap: int) -> None:
        super().__init__(
            f"The file is larger than the {cap / 1024 / 1024:g} MB this server accepts "
            "(--max-upload)."
        )


class Guard:
    """ASGI middleware: the upload cap on every request body, and :data:`HEADERS` and the
    Content-Security-Policy on every answer (a route may set its own policy)."""

    def __init__(self, app: ASGIApp, *, max_upload: int) -> None:
        self.app, self.max_upload = app, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        seen = 0
        cap = self.max_upload + 64 * 1024  # the multipart envelope around the file

        async def counted() -> Message:
            nonlocal seen
            if declared.isdigit() and int(declared) > cap:
                raise UploadTooLarge(self.max_upload)
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > cap:
                raise UploadTooLarge(self.max_upload)
            return message

        started = False

        async def headed(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for key, value in HEADERS.items():
                    headers.setdefault(key, value)
                headers.setdefault("content-security-policy", CSP)
            await send(message)

        try:
            await self.app(scope, counted, headed)
        except UploadTooLarge as exc:  # a route that did not answer it itself
            if started:
                raise
            body = json.dumps({"error": str(exc)}).encode()
            await headed(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})


def inline_policy(html: str) -> str:
    """A policy for a page made by sheetgen itself with inline scripts (the class report): those
    scripts by their hashes, inline styles allowed, still nothing from elsewhere."""
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    hashes = " ".join(
        f"'sha256-{b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts
    )
    return (
        f"default-src 'none'; script-src {hashes or NONE}; "
        "style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def csrf_token(request: Request) -> str:
    """The token of this browser (its cookie's), or a new one for the page to set."""
    held = request.cookies.get(CSRF_COOKIE, "")
    return held if re.fullmatch(r"[A-Za-z0-9_-]{32,64}", held) else secrets.token_urlsafe(32)


def csrf_ok(request: Request, submitted: Any) -> bool:
    held = request.cookies.get(CSRF_COOKIE, "")
    return bool(held) and isinstance(submitted, str) and hmac.compare_digest(held, submitted)


def cookie_options(request: Request) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": "/",
    }


def teacher_ok(request: Request, token: str) -> bool:
    """Whether the request carries the teacher's token (header or sign-in cookie)."""
    given = ""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        given = header[7:].strip()
    else:
        given = request.cookies.get(TEACHER_COOKIE, "")
    return token_ok(given, token)


def token_ok(given: str, token: str) -> bool:
    """Whether ``given`` is the teacher's token, compared in constant time."""
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


class RateLimit:
    """At most ``per_minute`` events per key in any sliding minute; bounded memory (the least
    recently seen keys beyond ``keys`` are forgotten)."""

    def __init__(self, per_minute: int, *, keys: int = 10_000) -> None:
        self.per_minute, self.keys = per_minute, keys
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str, now: float | None = None) -> int | None:
        """Record an event for ``key``: None if allowed, else the seconds until it would be."""
        now = time.monotonic() if now is None else now
        times = self._seen.pop(key, None) or deque()
        while times and times[0] <= now - 60:
            times.popleft()
        self._seen[key] = times
        while len(self._seen) > self.keys:
            self._seen.popitem(last=False)
        if len(times) >= self.per_minute:
            return max(1, int(times[0] + 60 - now) + 1)
        times.append(now)
        return None
