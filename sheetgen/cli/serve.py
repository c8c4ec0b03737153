"""The ``serve`` command: the learners' web page, and the teacher's when it collects."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError, shown
from .options import add_teacher_options, at_least, positive, safety_limits

if TYPE_CHECKING:
    from .options import Commands


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from ..serve.config import MEGABYTE, ServeConfig, check_config, parse_deadline
        from ..serve.run import check_address, serve
    except ImportError as exc:
        raise UsageError(
            f"sheetgen serve needs the serve extra ({exc.name} is missing): "
            "pip install 'sheetgen[serve]'."
        ) from None
    safety_limits(args)  # a bad --limit or SHEETGEN_LIMITS: a sentence now, not in every worker
    chosen = os.environ.get("SHEETGEN_TEACHER_TOKEN", "")
    token = chosen or secrets.token_urlsafe(24)
    config = ServeConfig(
        host=args.host,
        port=args.port,
        max_upload=int(args.max_upload * MEGABYTE),
        workers=args.workers,
        queue=args.queue,
        check_seconds=args.check_seconds,
        check_memory=args.check_memory * MEGABYTE,
        variants=args.variants,
        limits=tuple(args.limit),
        collect=args.collect,
        roster=args.roster,
        codes=args.codes,
        deadline=parse_deadline(args.deadline) if args.deadline else None,
        attempts=args.attempts,
        feedback=args.feedback,
        rate_limit=args.rate_limit,
        token=token,
    )
    check_config(config)
    check_address(config.host, config.port)
    if args.collect is not None and not chosen:
        print(
            f"sheetgen: the teacher's token is {token} (set SHEETGEN_TEACHER_TOKEN to choose it)",
            file=sys.stderr,
        )
    where = f"http://{args.host}:{args.port}/"
    mode = (
        f"collecting into {shown(args.collect)}" if args.collect else "self-check, nothing stored"
    )
    line = f"sheetgen: serving {where} ({mode}); Ctrl-C stops it"
    serve(config, ready=lambda: print(line, file=sys.stderr, flush=True))
    return 0


def add_serve(sub: Commands) -> None:
    """The ``serve`` command's arguments."""
    p = sub.add_parser(
        "serve",
        help="a web page where learners check (or hand in) their sheet",
        description="Serve the learner's page and its JSON API (POST /api/check); with "
        "--collect, keep every submission for the teacher's pages under /teacher.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=at_least(0, 65535), default=8000, help="port (default 8000)")
    p.add_argument(
        "--max-upload",
        type=positive,
        default=10.0,
        metavar="MB",
        help="largest upload accepted, in MB (default 10; 413 beyond)",
    )
    p.add_argument(
        "--workers", type=at_least(1), default=2, metavar="N", help="checking processes (default 2)"
    )
    p.add_argument(
        "--queue",
        type=at_least(0),
        default=64,
        metavar="N",
        help="checks that may wait for a worker (default 64; 503 beyond)",
    )
    p.add_argument(
        "--check-seconds",
        type=positive,
        default=20.0,
        metavar="S",
        help="CPU seconds one check may take before its worker is killed (default 20)",
    )
    p.add_argument(
        "--check-memory",
        type=at_least(64),
        default=1024,
        metavar="MB",
        help="address space of each checking process, in MB (default 1024)",
    )
    p.add_argument("--collect", type=Path, metavar="DIR", help="keep submissions in DIR")
    p.add_argument("--roster", type=Path, metavar="CSV", help="the class (collect mode)")
    p.add_argument(
        "--codes",
        type=Path,
        metavar="PATH",
        help="the learners' codes, id,name,code (default hand-out-keys/codes.csv)",
    )
    p.add_argument("--deadline", metavar="ISO-TIME", help="no submissions after this time")
    p.add_argument("--attempts", type=at_least(1), metavar="N", help="submissions per learner")
    p.add_argument(
        "--feedback",
        choices=("full", "summary", "none"),
        default="full",
        help="what a learner sees after handing in (default full)",
    )
    p.add_argument(
        "--rate-limit",
        type=at_least(1),
        nargs="?",
        const=30,
        metavar="N",
        help="at most N uploads a minute from one address (default: no limit; N defaults to 30)",
    )
    add_teacher_options(p)
    p.set_defaults(run=cmd_serve)
