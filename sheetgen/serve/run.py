"""Run the application under uvicorn until interrupted (what ``sheetgen serve`` does)."""

from __future__ import annotations

import uvicorn

from .config import ServeConfig, check_config
from .routes import create_app


def serve(config: ServeConfig) -> None:
    """Check ``config`` (one sentence if it cannot work), then serve until Ctrl-C or SIGTERM."""
    check_config(config)
    app = create_app(config)
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
