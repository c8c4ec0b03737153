"""Run the application under uvicorn until interrupted (what ``sheetgen serve`` does)."""

from __future__ import annotations

import socket

import uvicorn

from ..errors import UsageError
from .config import ServeConfig, check_config
from .routes import create_app


def check_address(host: str, port: int) -> None:
    """Refuse, in one sentence, an address the server could not listen on (in use, unknown)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"Cannot listen on {host}:{port}: {reason[0].lower()}{reason[1:]}."
        ) from None


def serve(config: ServeConfig) -> None:
    """Check ``config`` (one sentence if it cannot work), then serve until Ctrl-C or SIGTERM."""
    check_config(config)
    check_address(config.host, config.port)
    app = create_app(config)
    try:
        uvicorn.run(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,  # learners' addresses and codes are not logged
            proxy_headers=True,
            server_header=False,
            timeout_graceful_shutdown=5,
        )
    except SystemExit as exc:  # uvicorn's way of saying it could not start (logged above)
        if exc.code:
            raise UsageError(
                f"The server on {config.host}:{config.port} could not start."
            ) from None
