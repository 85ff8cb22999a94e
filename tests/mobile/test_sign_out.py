"""Signing out against a real server process on 127.0.0.1: the server revokes the token, and a phone
that cannot reach it is still signed out at once, with its unsent work kept for the next sign-in;
the server is told of that sign-out as soon as the phone can reach it again."""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import httpx

from mobile import SyncClient, login, sign_out
from mobile.credentials import Credentials, CredentialStore
from mobile.session import AppContext, complete_sign_in, open_app
from tests.server.world import PASSWORD, Street

from .phone import Clock, UiQueue
from .server_process import Launcher
from .test_e2e_sync import assert_held_once, file_reports, phone, server_api

# a sign-out that waited for the server would wait at least the logout's read timeout (5 s)
AT_ONCE_S = 2.0


def server_answers(launcher: Launcher, token: str) -> int:
    """The status the server gives ``token`` for the street's reference data."""
    response = httpx.get(
        f"{launcher.base}/api/v1/reference", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return response.status_code


def told_the_server(ctx: AppContext) -> None:
    """Wait for the sign-out's call to the server to end, however it ended."""
    assert ctx.revoking is not None
    ctx.revoking.join(timeout=30)
    assert not ctx.revoking.is_alive()


def sign_out_offline(ctx: AppContext, launcher: Launcher, unsent: int) -> str:
    """Sign out while the server is down; the server is back on return. The phone is signed out at
    once and keeps its ``unsent`` work; the server has not heard of it: the token still works."""
    token = ctx.credentials.token()
    assert token is not None
    launcher.stop()
    try:
        assert sign_out(ctx) == unsent  # no error although nobody answers
        assert ctx.credentials.token() is None
        told_the_server(ctx)  # gave up quietly: nothing raised on its thread either
        assert ctx.store.unacknowledged() == unsent
    finally:
        launcher.start()
    assert server_answers(launcher, token) == 200
    return token


def sign_in_again(ctx: AppContext, launcher: Launcher, street: Street, who: str) -> SyncClient:
    complete_sign_in(ctx, launcher.base, login(launcher.base, street.users[who]["username"], PASSWORD))
    ctx.stop_sync()  # the test drives sync itself
    return SyncClient(launcher.base, ctx.credentials.token)


def goes_up_once(
    ctx: AppContext, launcher: Launcher, street: Street, who: str, case_ids: list[str], photos: dict[str, str]
) -> None:
    """After signing in again the kept reports reach the server, each once. The sign-in starts a
    background sync that may send them before the test's own sync: either way, once."""
    synced = sign_in_again(ctx, launcher, street, who).sync_once(ctx.store)
    assert synced.pending == 0 and ctx.store.unacknowledged() == 0
    with server_api(launcher, ctx) as api:
        assert_held_once(api, case_ids, photos)
    ctx.close()


def test_signing_out_revokes_the_token_on_the_server(launcher, street, tmp_path: Path) -> None:
    ctx = phone(tmp_path / "phone", launcher, street, "chief")
    token = ctx.credentials.token()
    assert token is not None and server_answers(launcher, token) == 200
    case_ids, photos = file_reports(ctx, street, 1, seed=11)  # filed, not yet synced

    assert sign_out(ctx) == 1
    assert ctx.credentials.token() is None  # signed out on the phone at once
    told_the_server(ctx)
    assert server_answers(launcher, token) == 401  # whoever copied the token has nothing

    # the unsent report stayed on the phone and goes up with the next sign-in
    assert ctx.store.unacknowledged() == 1
    goes_up_once(ctx, launcher, street, "chief", case_ids, photos)


def test_signing_out_while_the_server_is_down_signs_out_and_keeps_the_work(
    launcher, street, tmp_path: Path
) -> None:
    ctx = phone(tmp_path / "phone", launcher, street, "chief2")
    case_ids, photos = file_reports(ctx, street, 2, seed=12)
    token = sign_out_offline(ctx, launcher, unsent=2)
    # the server has not heard of the sign-out yet; the phone keeps the token to tell it later
    assert [kept.token for kept in ctx.credentials.revocations()] == [token]
    # the next sign-in reaches the server, and with it the sign-out it missed
    client = sign_in_again(ctx, launcher, street, "chief2")
    told_the_server(ctx)
    assert server_answers(launcher, token) == 401
    assert ctx.credentials.revocations() == []
    assert client.sync_once(ctx.store).pending == 0
    with server_api(launcher, ctx) as api:
        assert_held_once(api, case_ids, photos)
    ctx.close()


def test_a_sign_out_the_server_missed_is_told_when_the_app_opens_again(
    launcher, street, tmp_path: Path
) -> None:
    ctx = phone(tmp_path / "phone", launcher, street, "centre")
    token = sign_out_offline(ctx, launcher, unsent=0)
    ctx.close()  # the app is closed before the network is back
    reopened = open_app(tmp_path / "phone", UiQueue(), clock=Clock(), start_sync=False)
    try:
        told_the_server(reopened)
        assert server_answers(launcher, token) == 401
        assert reopened.credentials.revocations() == []
        assert reopened.credentials.token() is None  # still signed out
    finally:
        reopened.close()


def test_kept_sign_outs_survive_a_restart_and_expired_ones_are_dropped(tmp_path: Path) -> None:
    kept = CredentialStore(tmp_path)
    kept.remember_revocation(Credentials("live", "http://server.test", "2099-01-01T00:00:00+00:00"))
    kept.remember_revocation(Credentials("stale", "http://server.test", "2020-01-01T00:00:00+00:00"))
    kept.remember_revocation(Credentials("live", "http://server.test", "2099-01-01T00:00:00+00:00"))
    assert stat.S_IMODE(os.stat(kept.revoke_path).st_mode) == 0o600  # a token: the app's user only
    again = CredentialStore(tmp_path)  # the app opened again
    assert [c.token for c in again.revocations()] == ["live"]  # once, and "stale" has expired
    again.forget_revocation("live")
    assert again.revocations() == [] and not again.revoke_path.exists()


def test_signing_out_does_not_wait_for_a_server_that_hangs(launcher, street, tmp_path: Path) -> None:
    ctx = phone(tmp_path / "phone", launcher, street, "station")
    assert launcher.process is not None
    launcher.process.send_signal(signal.SIGSTOP)  # connections are taken, nothing is answered
    try:
        started = time.monotonic()
        assert sign_out(ctx) == 0
        assert time.monotonic() - started < AT_ONCE_S
        assert ctx.credentials.token() is None
    finally:
        launcher.process.send_signal(signal.SIGCONT)
    told_the_server(ctx)
    ctx.close()
