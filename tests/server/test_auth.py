"""Passwords are argon2id hashes; tokens are random, stored hashed, expiring and revocable; login is
rate-limited."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from server.auth import LoginLimiter
from server.db import Database
from server.errors import ApiError
from server.migrations import upgrade_database
from server.models import LoginFailure, Token, User

from .world import PASSWORD, World


def _login(world: World, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return world.server.client().post("/api/v1/auth/login", {"username": username, "password": password})


def test_login_gives_a_token_for_the_user_and_scope(world: World) -> None:
    a = world.a
    response = _login(world, a.users["handler"]["username"])
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and len(body["token"]) >= 40
    assert body["user"]["role"] == "handler" and body["user"]["department_id"] == a.departments[0]
    me = world.server.client(body["token"]).get("/api/v1/me").json()
    assert me["street_id"] == a.id and me["username"] == a.users["handler"]["username"]


def test_passwords_are_argon2id_and_tokens_are_stored_only_as_hashes(world: World) -> None:
    token = _login(world, world.a.users["chief"]["username"]).json()["token"]
    db = world.server.database()
    try:
        with db.read() as session:
            stored = session.scalars(
                select(User.password_hash).where(User.id == world.a.users["chief"]["id"])
            ).one()
            tokens = set(session.scalars(select(Token.token_hash)))
    finally:
        db.dispose()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert token not in tokens and hashlib.sha256(token.encode()).hexdigest() in tokens


def test_a_wrong_password_or_unknown_user_is_401(world: World) -> None:
    for username, password in (
        (world.a.users["chief"]["username"], "wrong password"),
        ("nobody-at-all", PASSWORD),
    ):
        response = _login(world, username, password)
        assert response.status_code == 401 and response.json()["error"]["code"] == "bad_credentials"


def test_too_many_failed_logins_are_429_with_retry_after(world: World) -> None:
    username = f"target-{uuid.uuid4().hex[:6]}"
    statuses = [_login(world, username, "guess").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    response = _login(world, username, "guess")
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] == "too_many_attempts"


def test_no_garbage_logout_and_expired_tokens_are_401(world: World) -> None:
    anonymous = world.server.client()
    assert anonymous.get("/api/v1/me").status_code == 401
    assert world.server.client("garbage").get("/api/v1/me").status_code == 401
    assert world.server.client("x" * 5000).get("/api/v1/me").status_code in (401, 413)
    # logout revokes the token
    token = _login(world, world.a.users["supervisor"]["username"]).json()["token"]
    api = world.server.client(token)
    assert api.get("/api/v1/me").status_code == 200
    assert api.post("/api/v1/auth/logout").status_code == 204
    response = api.get("/api/v1/me")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    # an expired token: move its expiry into the past, as time would
    token = _login(world, world.a.users["supervisor"]["username"]).json()["token"]
    api = world.server.client(token)
    assert api.get("/api/v1/me").status_code == 200
    db = world.server.database()
    try:
        with db.write() as session:
            session.execute(
                update(Token)
                .where(Token.token_hash == hashlib.sha256(token.encode()).hexdigest())
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        db.dispose()
    assert api.get("/api/v1/me").status_code == 401
    assert (
        api.post(
            "/api/v1/sync/pull", {"protocol_version": 1, "device_id": str(uuid.uuid4()), "cursor": None}
        ).status_code
        == 401
    )


def test_failed_logins_leave_the_count_once_their_minute_is_over(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'limit.db'}"
    upgrade_database(url)
    db = Database(url)
    now = [1_000_000.0]
    limiter = LoginLimiter(db, per_user=2, per_ip=100, clock=lambda: now[0])
    try:
        limiter.failed("Zhang", "10.0.0.1")
        now[0] += 30
        limiter.failed("zhang", "10.0.0.2")  # the same username, whatever its case
        with pytest.raises(ApiError) as refused:
            limiter.check("ZHANG", "10.0.0.3")
        assert refused.value.status == 429
        assert refused.value.headers == {"Retry-After": "31"}  # when the first failure leaves the minute
        limiter.check("li", "10.0.0.1")  # another user from the same address is still let through
        now[0] += 31
        limiter.check("zhang", "10.0.0.3")
        limiter.failed("wang", "10.0.0.9")  # a failure clears the rows that left the window
        with db.read() as session:
            keys = sorted(session.scalars(select(LoginFailure.key)))
        assert keys == ["ip:10.0.0.2", "ip:10.0.0.9", "u:wang", "u:zhang"]
    finally:
        db.dispose()
