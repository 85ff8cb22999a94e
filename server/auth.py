"""Who is asking: argon2id passwords, hashed expiring tokens, the login rate limit, the current user.

A token is 32 random bytes (``secrets.token_urlsafe``) handed out once; the database keeps only its
SHA-256, its expiry and when it was revoked. Every authenticated request resolves the token to a
``CurrentUser`` carrying the role and scope (street, community, department) the engine checks.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, text, update
from sqlalchemy.orm import Session

from engine import Actor, Role

from .db import Database
from .driver import Driver
from .errors import ApiError
from .models import Token, User
from .settings import Settings

__all__ = [
    "TOKEN_LOOKUP",
    "AdminUser",
    "Authenticated",
    "CurrentUser",
    "LoginLimiter",
    "Passwords",
    "current_user",
    "hash_token",
    "issue_token",
    "require_admin",
    "revoke_token",
    "token_digest",
    "user_for_token",
    "user_from_row",
]


class Passwords:
    """argon2id hashing with the cost the settings name; verification also says when to rehash."""

    def __init__(self, settings: Settings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.password_time_cost, memory_cost=settings.password_memory_kib
        )
        # verified against when the username is unknown, so both cases cost the same time
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)


class LoginLimiter:
    """Failed logins per username and per client address in a sliding minute; over the limit → 429.

    The failures are rows of ``login_failures``, so every server process behind the same database
    counts the same ones (in memory, N worker processes let a guesser try N times the limit). A
    check is one indexed read; a failure one small write, which also deletes the failures that
    have left the window. ``clock`` is wall time in seconds, the same for every process.
    """

    def __init__(
        self,
        db: Database,
        per_user: int,
        per_ip: int,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.per_user = per_user
        self.per_ip = per_ip
        self.window = window_s
        self.clock = clock

    @staticmethod
    def _keys(username: str, ip: str) -> tuple[str, str]:
        # the column holds 120 characters: a username is at most 64 (schemas.LoginRequest), an
        # address at most 45; the cut only guards against what a proxy might put there
        return f"u:{username.lower()}"[:120], f"ip:{ip}"[:120]

    def check(self, username: str, ip: str) -> None:
        now = self.clock()
        user_key, ip_key = self._keys(username, ip)
        limits = {user_key: self.per_user, ip_key: self.per_ip}
        with self.db.read() as session:
            since = now - self.window
            for key, count, oldest in session.execute(
                _RECENT_FAILURES, {"u": user_key, "ip": ip_key, "since": since}
            ):
                if count >= limits[key]:
                    retry = max(1, int(oldest + self.window - now) + 1)
                    raise ApiError(
                        429,
                        "too_many_attempts",
                        f"too many failed logins; try again in {retry} s",
                        headers={"Retry-After": str(retry)},
                    )

    def failed(self, username: str, ip: str) -> None:
        now = self.clock()
        user_key, ip_key = self._keys(username, ip)
        with self.db.write() as session:
            session.execute(_FORGET_FAILURES, {"before": now - self.window})
            session.execute(_RECORD_FAILURE, [{"key": user_key, "at": now}, {"key": ip_key, "at": now}])


_RECENT_FAILURES = text(
    "SELECT key, count(*), min(at_epoch) FROM login_failures "
    "WHERE key IN (:u, :ip) AND at_epoch > :since GROUP BY key"
)
_FORGET_FAILURES = text("DELETE FROM login_failures WHERE at_epoch <= :before")
_RECORD_FAILURE = text("INSERT INTO login_failures (key, at_epoch) VALUES (:key, :at)")


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """The authenticated user with the role and scope they hold now."""

    id: str
    street_id: str
    username: str
    role: Role
    community_id: str | None
    department_id: str | None
    display_name: str
    token_hash: str

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.street_id, self.community_id, self.department_id)

    @classmethod
    def of(cls, user: User, token_hash: str = "") -> CurrentUser:
        return cls(
            id=user.id,
            street_id=user.street_id,
            username=user.username,
            role=Role(user.role),
            community_id=user.community_id,
            department_id=user.department_id,
            display_name=user.display_name,
            token_hash=token_hash,
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user_id: str, ttl: timedelta) -> tuple[str, datetime]:
    """A fresh token for ``user_id``; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + ttl
    session.add(Token(token_hash=hash_token(token), user_id=user_id, created_at=now, expires_at=expires))
    return token, expires


def revoke_token(session: Session, token_hash: str) -> None:
    session.execute(
        update(Token)
        .where(Token.token_hash == token_hash, Token.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


def token_digest(token: str) -> str | None:
    """The hash a token is stored under, or None for one that cannot be a token (empty, too long)."""
    if not token or len(token) > 256:
        return None
    return hash_token(token)


def user_for_token(where: Session | Connection | Any, token: str) -> CurrentUser | None:
    """The active user a live token belongs to, or None (unknown, expired, revoked, deactivated)."""
    digest = token_digest(token)
    if digest is None:
        return None
    # plain SQL through the driver: this runs on every request (the primary key finds the token)
    return user_from_row(Driver(where).first(TOKEN_LOOKUP, (digest,)), digest)


def user_from_row(row: Sequence[Any] | None, digest: str) -> CurrentUser | None:
    """The user ``TOKEN_LOOKUP`` found for the token hashed to ``digest``, if it may still act."""
    if row is None:
        return None
    (revoked_at, expires_at, user_id, street_id, username, role, community_id, department_id,
     display_name, active) = row  # fmt: skip
    if revoked_at is not None or Driver.read_moment(expires_at) <= datetime.now(UTC) or not active:
        return None
    return CurrentUser(
        id=user_id,
        street_id=street_id,
        username=username,
        role=Role(role),
        community_id=community_id,
        department_id=department_id,
        display_name=display_name,
        token_hash=digest,
    )


TOKEN_LOOKUP = (
    "SELECT t.revoked_at, t.expires_at, u.id, u.street_id, u.username, u.role, u.community_id,"
    " u.department_id, u.display_name, u.active"
    " FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?"
)


_bearer = HTTPBearer(auto_error=False, description="The token from POST /api/v1/auth/login")


async def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> CurrentUser:
    """FastAPI dependency: the user behind the bearer token, or 401 (503 if the database cannot be
    reached). The lookup awaits ``server.token_lookup.TokenLookup``, kept on the app's state."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(
            401, "unauthorized", "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    user = await request.app.state.tokens.user(credentials.credentials)
    if user is None:
        raise ApiError(
            401,
            "unauthorized",
            "the token is unknown, expired or revoked",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def require_admin(user: Annotated[CurrentUser, Depends(current_user)]) -> CurrentUser:
    """FastAPI dependency: the current user, who must be their street's admin."""
    if user.role is not Role.ADMIN:
        raise ApiError(403, "forbidden", "only the street's admin may do this")
    return user


Authenticated = Annotated[CurrentUser, Depends(current_user)]
AdminUser = Annotated[CurrentUser, Depends(require_admin)]
