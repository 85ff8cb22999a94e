"""The sync server: where phones' offline work becomes the street's shared truth.

``create_app(Settings())`` builds the FastAPI app; ``python -m server`` or ``roadchief serve`` runs
it on uvicorn. See ``server.sync`` for the protocol's semantics.
"""

from __future__ import annotations

from .app import create_app
from .auth import CurrentUser
from .db import Database
from .errors import ApiError
from .settings import Settings

__all__ = ["ApiError", "CurrentUser", "Database", "Settings", "create_app", "run"]


def run(settings: Settings | None = None) -> None:
    """Serve on ``settings.host:settings.port`` until interrupted (migrations run first)."""
    import uvicorn

    settings = settings or Settings()
    if settings.workers > 1:
        from .db import is_sqlite

        if is_sqlite(settings.database_url):
            raise SystemExit(
                "ROADCHIEF_WORKERS > 1 needs PostgreSQL: SQLite takes one writer, in one process"
            )
        from .migrations import upgrade_database

        upgrade_database(settings.database_url)  # once, before the workers start
        uvicorn.run(
            "server.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            workers=settings.workers,
        )
        return
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
