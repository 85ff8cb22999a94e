"""``POST /api/v1/auth/login`` and ``/logout``."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy import select, update

from shared import LOGIN_PATH

from ..auth import Authenticated, issue_token, revoke_token
from ..directory import user_out
from ..errors import ApiError, error_responses
from ..models import User
from ..schemas import LoginRequest, LoginResponse, UserOut

__all__ = ["router"]

router = APIRouter(tags=["auth"])


@router.post(LOGIN_PATH, response_model=LoginResponse, responses=error_responses(401, 422, 429))
def login(body: LoginRequest, request: Request) -> LoginResponse:
    """Exchange a username and password for a bearer token. Failed attempts are rate-limited."""
    state = request.app.state
    ip = request.client.host if request.client else "?"
    state.limiter.check(body.username, ip)
    # the slow hash runs outside any write transaction: it must not hold SQLite's writer
    with state.db.read() as session:
        user = session.scalars(select(User).where(User.username == body.username)).one_or_none()
        stored = user.password_hash if user is not None and user.active else None
        ok = state.passwords.verify(stored, body.password)
        out = user_out(user) if user is not None else None
    if not ok or out is None or stored is None:
        state.limiter.failed(body.username, ip)
        raise ApiError(401, "bad_credentials", "unknown username or wrong password")
    with state.db.write() as session:
        if state.passwords.needs_rehash(stored):
            session.execute(
                update(User)
                .where(User.id == out["id"])
                .values(password_hash=state.passwords.hash(body.password))
            )
        token, expires = issue_token(session, out["id"], timedelta(hours=state.settings.token_ttl_hours))
    return LoginResponse(token=token, expires_at=expires, user=UserOut(**out))


@router.post("/api/v1/auth/logout", status_code=204, responses=error_responses(401))
def logout(user: Authenticated, request: Request) -> Response:
    """Revoke the token this request carries."""
    with request.app.state.db.write() as session:
        revoke_token(session, user.token_hash)
    return Response(status_code=204)
