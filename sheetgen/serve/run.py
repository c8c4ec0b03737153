"""Run the application under uvicorn until interrupted (what ``sheetgen serve`` does)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable

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


class _Server(uvicorn.Server):
    """uvicorn's server, telling ``ready`` once its socket listens (after the lifespan's start:
    the workers are up), so that whoever waits for the news can connect at once."""

    def __init__(self, config: uvicorn.Config, ready: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit and self.ready is not None:
            self.ready()


def serve(config: ServeConfig, ready: Callable[[], None] | None = None) -> None:
    """Check ``config`` (one sentence if it cannot work), then serve until Ctrl-C or SIGTERM;
    ``ready`` is called once the server accepts connections (``sheetgen serve`` prints its
    "serving" line there)."""
    check_config(config)
    check_address(config.host, config.port)
    app = create_app(config)
    settings = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        log_level="warning",
        access_log=False,  # learners' addresses and codes are not logged
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = _Server(settings, ready)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):  # SystemExit: uvicorn's way of
        server.run()  # saying it could not start (logged above)
    if not server.started:
        raise UsageError(f"The server on {config.host}:{config.port} could not start.")
