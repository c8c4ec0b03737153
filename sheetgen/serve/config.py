"""The server's settings, settled before it starts: one sentence for each bad one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import UsageError

FEEDBACK = ("full", "summary", "none")
"""How much of the verdict a learner sees after submitting in collect mode."""

MEGABYTE = 1024 * 1024

DEFAULT_CODES = Path("hand-out-keys") / "codes.csv"
"""Where ``sheetgen build --exercise --roster`` writes the learners' codes by default."""


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``sheetgen serve`` can be told; the defaults are the safe self-check mode."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_upload: int = 10 * MEGABYTE
    """Bytes of request body accepted, counted while it streams in (413 beyond)."""
    workers: int = 2
    """Worker processes checking uploads side by side."""
    queue: int = 64
    """Checks that may wait for a worker; one more is answered 503 with Retry-After."""
    check_seconds: float = 20.0
    """A check still running after this long has its worker killed (a pathological sheet)."""
    check_memory: int = 1024 * MEGABYTE
    """Address space of each worker process (``RLIMIT_AS``): a bomb costs that worker alone."""
    variants: int | None = None
    """As ``verify --variants`` (``None``: its default)."""
    limits: tuple[str, ...] = ()
    """``--limit NAME=VALUE`` options, as ``verify`` takes them."""
    collect: Path | None = None
    """Collect mode: where submissions are kept (``None``: self-check, nothing stored)."""
    roster: Path | None = None
    codes: Path | None = None
    """The learners' codes, ``id,name,code`` (default ``hand-out-keys/codes.csv``)."""
    deadline: datetime | None = None
    attempts: int | None = None
    feedback: str = "full"
    rate_limit: int | None = None
    """Uploads per minute from one client address (``None``: no such limit)."""
    code_rate: int = 10
    """Submissions per minute under one learner code (collect mode)."""
    token: str = field(default="", repr=False)
    """The teacher's bearer token (collect mode)."""

    @property
    def collecting(self) -> bool:
        return self.collect is not None

    @property
    def codes_file(self) -> Path:
        """Where the learners' codes are read from: ``codes``, or the roster build's default."""
        return self.codes or DEFAULT_CODES


def parse_deadline(text: str) -> datetime:
    """An ISO 8601 time; one without a zone is taken as UTC (say so in the zone to be sure)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--deadline {text!r} is not an ISO 8601 time such as 2026-05-01T23:59+02:00."
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def check_config(config: ServeConfig) -> None:
    """Refuse settings that cannot work, in one sentence, before the server starts."""
    if config.feedback not in FEEDBACK:
        raise UsageError(f"--feedback must be one of {', '.join(FEEDBACK)}.")
    if config.collect is None:
        for name, value in (
            ("--roster", config.roster),
            ("--codes", config.codes),
            ("--deadline", config.deadline),
            ("--attempts", config.attempts),
        ):
            if value is not None:
                raise UsageError(f"{name} applies to collect mode only: add --collect DIR.")
        return
    if config.roster is None:
        raise UsageError("Collect mode needs the class: add --roster class.csv.")
    if config.collect.exists() and not config.collect.is_dir():
        raise UsageError(f"--collect {config.collect} is not a folder.")
    codes = config.codes_file
    if not codes.is_file():
        raise UsageError(
            f"The learners' codes {codes} were not found: build the class with "
            "`sheetgen build --exercise --roster` (it writes them) or pass --codes PATH."
        )
