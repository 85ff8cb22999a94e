"""The sync client: photos up, outbox pushed, the street's events pulled, over ``requests``.

``SyncClient.sync_once(store)`` runs one round, in this order:

1. **photos**: every photo a pending mutation names and the server lacks is uploaded (``HEAD``,
   then ``PUT`` of the kept JPEG); the server stores by hash, so a resend is harmless;
2. **push**: pending mutations in seq order, in batches of at most ``MAX_BATCH``. A batch is marked
   ``sent`` (committed) before it goes, so a crash or a lost answer leaves it resendable as is; the
   server knows it by id and answers ``duplicate``. Answers: ``applied``/``duplicate`` →
   ``acknowledged``; ``rejected`` → ``refused`` with code and messages (it never blocks the rest);
   ``retry`` → ``retry`` (a photo is missing: it goes again next round), and the round's push stops;
3. **pull**: pages until ``has_more`` is false; each page, its events, the confirmed records, the
   view and the cursor are one transaction (``mobile.view.apply_pull``). The server repeats a
   page's cursor in its headers, so the next page is asked for (on a helper thread) while this
   one is parsed and stored: on a phone's network that hides a round trip per page. The stored
   cursor still moves only with a stored page; a page fetched ahead and never stored is dropped.

A pull answered ``bad_cursor`` means the server went back in time (restored from a backup): the
phone forgets what it pulled, queues again every action the server had acknowledged (it answers
``duplicate`` for those it still has, and applies the ones it lost), then sends and pulls from the
start, once per round (``SyncReport.started_over``).

Errors (the tree, as httpx draws its own)::

    SyncError
     ├── SyncUnavailable   no network, a timeout, a 5xx: everything stays resendable; try later
     ├── SignedOut         401: the token is missing, expired or revoked; sign in again
     └── SyncRefused       another 4xx on the whole request (e.g. ``device_taken``, a version the
                           server does not speak): retrying unchanged will not help
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from shared import (
    LOGIN_PATH,
    MAX_BATCH,
    PHOTO_PATH,
    PROTOCOL_VERSION,
    PULL_CURSOR_HEADER,
    PULL_HAS_MORE_HEADER,
    PULL_PATH,
    PUSH_PATH,
    MutationStatus,
    ProtocolError,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    dumps,
    loads,
)

from .store import LocalStore, OutboxItem, OutboxStatus
from .view import apply_pull, profile_of, rebuild_view, reference_of, save_reference

__all__ = [
    "DEFAULT_TIMEOUT",
    "LOGOUT_PATH",
    "REFERENCE_PATH",
    "SignedOut",
    "SyncClient",
    "SyncError",
    "SyncRefused",
    "SyncReport",
    "SyncUnavailable",
]

DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 15.0)  # (connect, read), as requests advises
REFERENCE_PATH = "/api/v1/reference"
LOGOUT_PATH = "/api/v1/auth/logout"
PHOTO_REFUSED = "photo_refused"
PHOTO_LOST = "photo_lost"


class SyncError(Exception):
    """Sync did not finish; what was done is committed, the rest stays for the next round."""


class SyncUnavailable(SyncError):
    """The server could not be reached or failed (no network, timeout, 5xx). Try again later."""


class SignedOut(SyncError):
    """The server answered 401: the token is gone or expired. The user must sign in again."""


class SyncRefused(SyncError):
    """The server refused the request as a whole with a 4xx; ``code`` is its stable error code."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(f"{status} {code}: {reason}")
        self.status = status
        self.code = code
        self.reason = reason


@dataclass
class SyncReport:
    """What one round did."""

    photos_uploaded: int = 0
    pushed: int = 0
    acknowledged: int = 0
    refused: int = 0
    retry: int = 0
    pulled: int = 0
    pending: int = 0
    finished_at: datetime | None = None
    refused_cases: list[str] = field(default_factory=list)
    started_over: bool = False  # the server had gone back in time: pulled again from the start


def _now() -> datetime:
    return datetime.now(UTC)


class SyncClient:
    """Talks to one server for one signed-in user. ``token_provider`` is asked before each request."""

    def __init__(
        self,
        base_url: str,
        token_provider: Callable[[], str | None],
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        *,
        clock: Callable[[], datetime] = _now,
        batch_size: int = MAX_BATCH,
        prefetch: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.batch_size = min(batch_size, MAX_BATCH)
        self.token_provider = token_provider
        self.session = session or requests.Session()
        self.timeout = timeout
        self.clock = clock
        self.prefetch = prefetch  # ask for the next pull page while storing this one

    # --- HTTP ---------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, body: bytes | None = None, content_type: str = "application/json"
    ) -> requests.Response:
        """One authenticated request; maps failures onto the ``SyncError`` tree (4xx other than 401
        are returned for the caller to read, except where noted)."""
        token = self.token_provider()
        if not token:
            raise SignedOut("no token: sign in first")
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            response = self.session.request(
                method, self.base_url + path, data=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:  # connection refused, DNS, timeouts, reset
            raise SyncUnavailable(f"{method} {path}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code == 401:
            raise SignedOut(f"{method} {path}: 401")
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise SyncUnavailable(f"{method} {path}: {response.status_code}")
        return response

    def _json(self, path: str, message: Any) -> Any:
        response = self.request("POST", path, body=dumps(message))
        if response.status_code >= 400:
            raise _refused(response)
        return self._read(path, response.content)

    @staticmethod
    def _read(path: str, content: bytes) -> Any:
        try:
            return loads(content)
        except ProtocolError as exc:  # a proxy's HTML page, a truncated body
            raise SyncUnavailable(f"POST {path}: unreadable answer: {exc}") from exc

    # --- the round ----------------------------------------------------------------------------

    def sync_once(self, store: LocalStore) -> SyncReport:
        """Photos, push, pull; see the module docstring. Raises a ``SyncError`` when cut short."""
        report = SyncReport()
        if store.get_meta("reference") is None:
            self.refresh_reference(store)
        self.upload_photos(store, report)
        self.push(store, report)
        try:
            self.pull(store, report)
        except SyncRefused as exc:
            if exc.code != "bad_cursor" or store.cursor is None:
                raise
            self.start_over(store, report)
        report.pending = store.unacknowledged()
        report.finished_at = self.clock()
        with store.transaction():
            store.set_meta("last_sync", report.finished_at.isoformat())
        return report

    def start_over(self, store: LocalStore, report: SyncReport) -> None:
        """The server no longer holds what this phone pulled from it: forget that, send again what
        it had acknowledged, and pull everything from the start."""
        record_ids = store.forget_server_state()
        rebuild_view(store, record_ids, profile_of(store), reference_of(store).rules)
        report.started_over = True
        self.upload_photos(store, report)
        self.push(store, report)
        self.pull(store, report)

    def refresh_reference(self, store: LocalStore) -> None:
        response = self.request("GET", REFERENCE_PATH)
        if response.status_code >= 400:
            raise _refused(response)
        save_reference(store, response.json())

    def upload_photos(self, store: LocalStore, report: SyncReport) -> None:
        for item in store.outbox(statuses=OutboxStatus.PENDING):
            for sha in item.args.get("photos") or ():
                row = store.photo(sha)
                if row is not None and row.uploaded:
                    continue
                path = PHOTO_PATH.format(sha256=sha)
                if self.request("HEAD", path).status_code == 200:
                    store.mark_uploaded(sha)
                    continue
                try:
                    data = Path(row.path).read_bytes() if row is not None else None
                except FileNotFoundError:
                    data = None
                if data is None:
                    # gone from this phone and not on the server: the action can never be proven
                    self._refuse_locally(
                        store, item, PHOTO_LOST, "照片已丢失，请重新上报", "The photo is lost"
                    )
                    report.refused += 1
                    break
                response = self.request("PUT", path, body=data, content_type="image/jpeg")
                if response.status_code in (200, 201, 204):
                    store.mark_uploaded(sha)
                    report.photos_uploaded += 1
                else:
                    error = _refused(response)
                    self._refuse_locally(
                        store,
                        item,
                        PHOTO_REFUSED,
                        f"服务器拒收照片：{error.reason}",
                        f"Photo refused: {error.reason}",
                    )
                    report.refused += 1
                    break

    def _refuse_locally(self, store: LocalStore, item: OutboxItem, code: str, zh: str, en: str) -> None:
        """Take an action out of the queue without sending it: a later seq may go first, the server
        only needs seqs to increase."""
        with store.transaction():
            store.set_status(
                [item.id],
                OutboxStatus.REFUSED,
                at=self.clock().isoformat(),
                code=code,
                message_zh=zh,
                message_en=en,
            )
            rebuild_view(store, [item.case_id], profile_of(store), reference_of(store).rules)

    def push(self, store: LocalStore, report: SyncReport) -> None:
        while True:
            batch = store.outbox(statuses=OutboxStatus.PENDING, limit=self.batch_size)
            if not batch:
                return
            with store.transaction():
                store.set_status(
                    [i.id for i in batch], OutboxStatus.SENT, at=self.clock().isoformat(), count_attempt=True
                )
            request = PushRequest(PROTOCOL_VERSION, store.device_id, tuple(i.to_mutation() for i in batch))
            report.pushed += len(batch)
            try:
                answer = PushResponse.from_dict(self._json(PUSH_PATH, request))
            except SyncRefused as refused:
                if refused.code in ("device_taken", "unsupported_version") or len(batch) == 1:
                    if len(batch) == 1 and refused.code not in ("device_taken", "unsupported_version"):
                        # one mutation the server cannot even read: refuse it, never block the rest
                        self._refuse_locally(store, batch[0], refused.code, refused.reason, refused.reason)
                        report.refused += 1
                        continue
                    raise
                # a batch the server cannot read: send one by one to find the bad one
                self._push_singly(store, batch, report)
                continue
            if self._record_answers(store, batch, answer, report):
                return  # a retry: the round's push stops here, photos go up first next round

    def _push_singly(self, store: LocalStore, batch: list[OutboxItem], report: SyncReport) -> None:
        for item in batch:
            request = PushRequest(PROTOCOL_VERSION, store.device_id, (item.to_mutation(),))
            try:
                answer = PushResponse.from_dict(self._json(PUSH_PATH, request))
            except SyncRefused as refused:
                if refused.code in ("device_taken", "unsupported_version"):
                    raise
                self._refuse_locally(store, item, refused.code, refused.reason, refused.reason)
                report.refused += 1
                continue
            if self._record_answers(store, [item], answer, report):
                return

    def _record_answers(
        self, store: LocalStore, batch: list[OutboxItem], answer: PushResponse, report: SyncReport
    ) -> bool:
        """Store the server's answers; returns whether it asked to retry (and so stopped there)."""
        by_id = {item.id: item for item in batch}
        at = self.clock().isoformat()
        stopped = False
        refused_cases: list[str] = []
        with store.transaction():
            answered: set[str] = set()
            for result in answer.results:
                item = by_id.get(result.id)
                if item is None:
                    continue
                answered.add(result.id)
                if result.status in (MutationStatus.APPLIED, MutationStatus.DUPLICATE):
                    store.set_status([item.id], OutboxStatus.ACKNOWLEDGED, at=at)
                    report.acknowledged += 1
                elif result.status is MutationStatus.REJECTED:
                    store.set_status(
                        [item.id],
                        OutboxStatus.REFUSED,
                        at=at,
                        code=result.code,
                        message_zh=result.message_zh,
                        message_en=result.message_en,
                    )
                    refused_cases.append(item.case_id)
                    report.refused += 1
                else:
                    store.set_status(
                        [item.id],
                        OutboxStatus.RETRY,
                        code=result.code,
                        message_zh=result.message_zh,
                        message_en=result.message_en,
                    )
                    # the server lacks a photo we thought it had: check (HEAD) and upload again
                    for sha in item.args.get("photos") or ():
                        store.conn.execute("UPDATE photos SET uploaded = 0 WHERE sha256 = ?", (sha,))
                    report.retry += 1
                    stopped = True
            # not answered (after a retry): back to the queue, to go again in order
            store.set_status([i for i in by_id if i not in answered], OutboxStatus.QUEUED)
            if refused_cases:
                # a refused action no longer shows as done: rebuild those cases without it
                rebuild_view(store, refused_cases, profile_of(store), reference_of(store).rules)
        report.refused_cases.extend(refused_cases)
        # stop on a retry, or if the server left some unanswered without saying why (no busy loop)
        return stopped or len(answered) < len(batch)

    def pull(self, store: LocalStore, report: SyncReport) -> None:
        profile = profile_of(store)
        rules = reference_of(store).rules
        device_id = store.device_id
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull-ahead") as ahead:
            fetched = self._pull_page(device_id, store.cursor)
            while True:
                content, next_cursor = fetched
                following = ahead.submit(self._pull_page, device_id, next_cursor) if next_cursor else None
                page = PullResponse.from_dict(self._read(PULL_PATH, content))
                report.pulled += apply_pull(store, page, profile, rules)
                if not page.has_more:
                    return
                if following is not None and next_cursor == page.cursor:
                    fetched = following.result()
                else:  # no headers (an older server), or they disagreed with the body: ask now
                    fetched = self._pull_page(device_id, page.cursor)

    def _pull_page(self, device_id: str, cursor: str | None) -> tuple[bytes, str | None]:
        """One pull page's body, and the cursor to ask for next if the headers say there is more."""
        request = PullRequest(PROTOCOL_VERSION, device_id, cursor)
        response = self.request("POST", PULL_PATH, body=dumps(request))
        if response.status_code >= 400:
            raise _refused(response)
        more = response.headers.get(PULL_HAS_MORE_HEADER) == "true" and self.prefetch
        return response.content, response.headers.get(PULL_CURSOR_HEADER) if more else None

    # --- signing in ---------------------------------------------------------------------------

    def login(self, username: str, password: str) -> dict[str, Any]:
        """``POST`` the login; returns the server's answer (token, expires_at, user)."""
        body = json.dumps({"username": username, "password": password}).encode("utf-8")
        try:
            response = self.session.post(
                self.base_url + LOGIN_PATH,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise SyncUnavailable(f"login: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise SyncUnavailable(f"login: {response.status_code}")
        if response.status_code >= 400:
            raise _refused(response)
        answer: dict[str, Any] = response.json()
        return answer

    def logout(self) -> None:
        """``POST`` the logout: the server revokes the token. Raises ``SyncError`` kinds."""
        try:
            response = self.request("POST", LOGOUT_PATH)
        except SignedOut:
            return  # the server already refuses the token (revoked, expired): that is the goal
        if response.status_code >= 400:
            raise _refused(response)


def _refused(response: requests.Response) -> SyncRefused:
    code, reason = "http_error", response.reason or ""
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = str(error.get("code") or code)
            reason = str(error.get("reason") or reason)
        elif isinstance(body, dict) and "detail" in body:  # FastAPI's own validation errors
            code, reason = "invalid_request", json.dumps(body["detail"], ensure_ascii=False)[:500]
    except ValueError:
        pass
    return SyncRefused(response.status_code, code, reason)
