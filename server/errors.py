"""One error type and the handlers that turn every failure into ``{"error": {"code", "reason"}}``.

Codes are stable (clients key on them); reasons are English for a human. A 500 is a bug: the
last-resort handler logs it and still answers in the same shape.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import ErrorBody, ProtocolError, UnsupportedVersion

__all__ = [
    "ApiError",
    "ErrorDetail",
    "ErrorResponse",
    "database_outage",
    "database_unavailable",
    "error_responses",
    "install_error_handlers",
    "protocol_error_response",
]

log = logging.getLogger("server")


class ApiError(Exception):
    """Answer the request with ``status`` and ``{"error": {"code": code, "reason": reason}}``."""

    def __init__(self, status: int, code: str, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {reason}")
        self.status = status
        self.code = code
        self.reason = reason
        self.headers = headers


class ErrorDetail(BaseModel):
    code: str
    reason: str


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the error body for these statuses."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(status, "Error")}
        for status in statuses
    }


_DESCRIPTIONS = {
    400: "Malformed JSON, unsupported protocol version or bad cursor",
    401: "Missing, unknown, expired or revoked token",
    403: "Not allowed for this user",
    404: "Not found (or not in your street)",
    409: "Conflicts with existing data",
    413: "Request body too large",
    422: "Invalid request",
    429: "Too many attempts",
    503: "The database cannot be reached just now, or the server is stopping: try again later",
}

_STATUS_CODES = {
    400: "malformed_json",  # FastAPI raises a bare 400 only when it cannot parse the body
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


def _body(code: str, reason: str) -> dict[str, Any]:
    return ErrorBody(code=code, reason=reason).to_dict()


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


# SQLite's result codes for a database that cannot do its part just now (others, such as "no such
# column", are bugs): busy or locked past the timeout, an I/O error, a full disk, a file it cannot
# open, memory
_SQLITE_TRANSIENT = frozenset({5, 6, 7, 10, 13, 14})


def database_unavailable() -> ApiError:
    """The answer to a request the database cannot serve just now: the phone keeps its work and
    sends it again."""
    return ApiError(503, "unavailable", "the database cannot be reached just now; try again")


def database_outage(exc: BaseException) -> str | None:
    """Why the database failed, when it is an outage (PostgreSQL gone, restarting or refusing
    connections; SQLite locked, out of disk, failing I/O) rather than a bug; else None."""
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    psycopg = sys.modules.get("psycopg")  # imported only where PostgreSQL is used (~10 MiB)
    if psycopg is not None and isinstance(cause, psycopg.OperationalError):
        # psycopg's OperationalError: the connection or the server (lost, shut down, cancelled,
        # out of resources); mistakes in SQL are ProgrammingError and the like
        return str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    if isinstance(cause, sqlite3.OperationalError):
        code = getattr(cause, "sqlite_errorcode", 0) & 0xFF
        return str(cause) if code in _SQLITE_TRANSIENT else None
    return None


def protocol_error_response(exc: ProtocolError) -> JSONResponse:
    status = 400 if isinstance(exc, UnsupportedVersion) else 422
    return JSONResponse(ErrorBody.from_error(exc).to_dict(), status_code=status)


def install_error_handlers(app: FastAPI, *, postgres: bool = False) -> None:
    """Every failure answered as ``{"error": {"code", "reason"}}``; ``postgres``: psycopg's errors
    too, raised by the statements that go straight to the driver (``server.driver``)."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.reason), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(ProtocolError)
    async def _protocol_error(_request: Request, exc: ProtocolError) -> JSONResponse:
        return protocol_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        for error in errors:
            if error.get("type") == "json_invalid":
                return JSONResponse(
                    _body("malformed_json", f"not valid JSON: {error.get('msg', '')}"), status_code=400
                )
        if errors:
            first = errors[0]
            reason = f"{_location(first.get('loc', ()))}: {first.get('msg', 'invalid')}"
            if len(errors) > 1:
                reason += f" (and {len(errors) - 1} more)"
        else:
            reason = "invalid request"
        return JSONResponse(_body("invalid_request", reason), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error" if exc.status_code >= 500 else "bad_request")
        reason = exc.detail if isinstance(exc.detail, str) else code
        return JSONResponse(_body(code, reason), status_code=exc.status_code, headers=exc.headers)

    async def _database_error(request: Request, exc: Exception) -> JSONResponse:
        outage = database_outage(exc)
        if outage is None:
            raise exc  # a bug: the last-resort handler below answers 500 and logs it
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, outage)
        return await _api_error(request, database_unavailable())

    database_errors: list[type[Exception]] = [DBAPIError, sqlite3.Error]
    if postgres:
        import psycopg

        database_errors.append(psycopg.Error)
    for database_error in database_errors:
        app.add_exception_handler(database_error, _database_error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(_body("internal_error", "the server failed; this is a bug"), status_code=500)
