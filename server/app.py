"""``create_app(settings)``: the FastAPI application, built on demand (nothing happens at import)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from shared import PROTOCOL_VERSION, ErrorBody, dumps

from .auth import LoginLimiter, Passwords, current_user
from .db import Database
from .errors import error_responses, install_error_handlers
from .migrations import upgrade_database
from .rules import RulesCache
from .settings import Settings
from .token_lookup import TokenLookup
from .writer import GroupWriter

__all__ = ["create_app"]

log = logging.getLogger("server")

_PHOTO_PREFIX = "/api/v1/photos/"
_OUTAGE = error_responses(503)  # any route: the database cannot be reached just now (server.errors)


class BodyLimit:
    """Refuse a declared body larger than the limit before reading it (photos have their own cap)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(_PHOTO_PREFIX):
            for name, value in scope.get("headers", ()):
                if name == b"content-length":
                    if not value.isdigit() or int(value) > self.limit:
                        await _send_error(
                            send, 413, "too_large", f"the body may be at most {self.limit} bytes"
                        )
                        return
                    break
        await self.app(scope, receive, send)


async def _send_error(send: Any, status: int, code: str, reason: str) -> None:
    body = dumps(ErrorBody(code=code, reason=reason).to_dict())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    """The server for ``settings``: migrates the database (unless told not to) and wires every route."""
    from . import routes
    from .routes import report as report_routes

    settings = settings or Settings()
    if migrate:
        upgrade_database(settings.database_url)
    db = Database(settings.database_url, background_checkpoints=True)
    # SQLite: one writer for everything; PostgreSQL: a group per street (see server.writer)
    writer = GroupWriter(db, one_key_per_group=not db.sqlite)
    tokens = TokenLookup(db)
    photos = _photo_store(settings)
    pruner = _photo_pruner(settings, db, photos)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _freeze_startup_objects()
        try:
            for warning in db.durability_warnings():
                log.warning(warning)
        except SQLAlchemyError:  # the database is not up yet: requests will say so (503)
            log.warning("could not read the database's durability settings", exc_info=True)
        db.start()
        if pruner is not None:
            pruner.start()
        yield
        if pruner is not None:
            pruner.stop()
        writer.stop()
        await tokens.close()
        db.dispose()

    app = FastAPI(
        title="roadchief",
        summary="路长制 road-chief sync server: phones push what their users did and pull what they may see.",
        version=f"protocol {PROTOCOL_VERSION}",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.writer = writer
    app.state.tokens = tokens
    app.state.passwords = Passwords(settings)
    app.state.limiter = LoginLimiter(
        db, settings.login_attempts_per_minute, settings.login_attempts_per_minute_per_ip
    )
    app.state.rules = RulesCache()
    app.state.photos = photos
    app.state.photo_pruner = pruner
    install_error_handlers(app, postgres=not db.sqlite)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    for module in (routes.auth, routes.sync, routes.reference, routes.admin):
        app.include_router(module.router, responses=_OUTAGE)
    app.include_router(report_routes.router, responses=_OUTAGE)
    photo_router = _photo_router()
    if photo_router is not None:
        app.include_router(photo_router, responses=_OUTAGE)
    return app


def _freeze_startup_objects() -> None:
    """Move what startup built (modules, the app and its routes, models, table metadata, the
    engine's transition tables) out of the cyclic garbage collector's sight: it lives as long as
    the process, yet every full collection walked all of it again, pausing the server for tens of
    milliseconds while pushes waited (bench/load.py: p99 of 32 back-to-back pushers 234 → 153 ms
    once frozen). Objects still die when nothing refers to them; only cycles among them would be
    kept, and startup builds none that it drops."""
    gc.collect()
    gc.freeze()


def _photo_store(settings: Settings) -> Any:
    try:
        from .photos import PhotoStore
    except ImportError:  # the photo store is optional to the sync core
        return None
    return PhotoStore(settings.photo_dir)


def _photo_pruner(settings: Settings, db: Database, store: Any) -> Any:
    """The thread that deletes photos no accepted action names (``server.photo_prune``), unless
    the settings leave that to cron (0 hours) or the photo store is not installed."""
    if store is None or settings.photo_prune_every_hours <= 0:
        return None
    from .photo_prune import PhotoPruner

    return PhotoPruner(
        db,
        store,
        older_than=timedelta(days=settings.photo_prune_days),
        every=settings.photo_prune_every_hours * 3600,
    )


def _photo_router() -> Any:
    try:
        from .photos import make_router
    except ImportError:
        return None
    return make_router(current_user)
