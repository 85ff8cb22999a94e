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
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
