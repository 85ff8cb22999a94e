"""A phone for the core tests: a street, users, a context on a temp store, and a fake server.

``FakeServer`` speaks the sync protocol through a ``requests`` transport adapter mounted on a
``Session`` (the way httpx's ``MockTransport`` is used): the engine replays pushes, photos are
content-addressed, pulls page through the street's events. Tests make it fail on purpose: drop an
answer after committing, time out, answer 5xx or 401.
"""

from __future__ import annotations

import hashlib
import io
import json
import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from PIL import Image
from requests.adapters import BaseAdapter

from engine import Event, Rejection, Role, apply
from mobile import AppContext, Credentials, DesktopServices, UserProfile, open_app
from mobile.view import save_profile, save_reference
from shared import (
    PROTOCOL_VERSION,
    PULL_CURSOR_HEADER,
    PULL_HAS_MORE_HEADER,
    PULL_PATH,
    EventRecord,
    MutationResult,
    MutationStatus,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    dumps,
    loads,
)

STREET = "street-1"
COMMUNITY = "community-1"
DEPARTMENT = "dept-1"
ROAD = "road-1"
OTHER_ROAD = "road-2"
CATEGORY = "E0501"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing
HERE = (39.930, 116.190)

CHIEF = UserProfile("u-chief", "chief", Role.ROAD_CHIEF, STREET, COMMUNITY, None, "王路长")
CHIEF2 = UserProfile("u-chief2", "chief2", Role.ROAD_CHIEF, STREET, COMMUNITY, None, "李路长")
STATION = UserProfile("u-station", "station", Role.COORDINATOR, STREET, COMMUNITY, None, "站长")
HANDLER = UserProfile("u-handler", "handler", Role.HANDLER, STREET, None, DEPARTMENT, "城管队员")
SUPERVISOR = UserProfile("u-super", "super", Role.SUPERVISOR, STREET, None, None, "督察")

REFERENCE: dict[str, Any] = {
    "street": {"id": STREET, "name": "广宁街道"},
    "communities": [{"id": COMMUNITY, "name": "金顶街"}],
    "departments": [{"id": DEPARTMENT, "name": "城管"}],
    "roads": [
        {
            "id": ROAD,
            "name": "金顶街",
            "community_id": COMMUNITY,
            "chief_id": CHIEF.id,
            "geometry": {"type": "LineString", "coordinates": [[116.190, 39.930], [116.192, 39.931]]},
        },
        {
            "id": OTHER_ROAD,
            "name": "模式口大街",
            "community_id": COMMUNITY,
            "chief_id": CHIEF2.id,
            "geometry": {"type": "LineString", "coordinates": [[116.180, 39.940], [116.181, 39.941]]},
        },
    ],
    "categories": [],  # the engine's table
}


def jpeg(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class UiQueue:
    """``post_to_ui`` for tests: callbacks wait in a queue until the test runs them (the "main thread")."""

    def __init__(self) -> None:
        self.q: queue.Queue[Callable[[], None]] = queue.Queue()

    def __call__(self, callback: Callable[[], None]) -> None:
        self.q.put(callback)

    def run(self, timeout: float = 10.0, count: int = 1) -> int:
        done = 0
        while done < count:
            self.q.get(timeout=timeout)()
            done += 1
        return done

    def drain(self) -> int:
        done = 0
        while True:
            try:
                self.q.get_nowait()()
            except queue.Empty:
                return done
            done += 1


def make_ctx(
    directory: Path,
    user: UserProfile = CHIEF,
    *,
    clock: Clock | None = None,
    http: requests.Session | None = None,
    server_url: str = "http://phone.test",
    token: str | None = "token-secret-123",
    position: tuple[float, float] | None = HERE,
) -> AppContext:
    """A signed-in phone (profile, reference, token) that does not sync unless asked."""
    ctx = open_app(
        directory,
        UiQueue(),
        services=DesktopServices(position=position),
        clock=clock or Clock(),
        http=http,
        start_sync=False,
    )
    save_profile(ctx.store, user)
    save_reference(ctx.store, REFERENCE)
    with ctx.store.transaction():
        ctx.store.set_meta("server_url", server_url)
    if token:
        ctx.credentials.save(Credentials(token, server_url))
    ctx._profile = user
    return ctx


def report_args(**extra: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "category": CATEGORY,
        "road_id": ROAD,
        "description": "路口有人占道摆摊",
        "location": {"lat": HERE[0], "lon": HERE[1]},
    }
    args.update(extra)
    return args


# --- a fake server ---------------------------------------------------------------------------------


@dataclass
class FakeServer:
    """The sync protocol's semantics in a few dozen lines, for unit tests of the client."""

    users: dict[str, UserProfile] = field(default_factory=dict)  # token -> user
    events: list[Event] = field(default_factory=list)
    records: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, MutationResult] = field(default_factory=dict)
    last_seq: dict[str, int] = field(default_factory=dict)
    photos: dict[str, bytes] = field(default_factory=dict)
    # failure switches
    drop_push_answers: int = 0  # commit, then fail the response (a lost answer)
    timeouts: int = 0
    server_errors: int = 0
    unreadable: set[str] = field(default_factory=set)  # mutation ids that make a push a 400
    calls: list[str] = field(default_factory=list)
    page_size: int = 3
    clock: Callable[[], datetime] = lambda: START
    # the real server repeats a pull page's cursor and has_more in headers (off: an older server)
    pull_headers: bool = True
    # called with each pull request's cursor as it arrives (on the thread that sent it)
    on_pull: Callable[[str | None], None] | None = None

    def session(self) -> requests.Session:
        http = requests.Session()
        http.mount("http://phone.test", _Adapter(self))
        return http

    def handle(self, method: str, path: str, token: str | None, body: bytes | None) -> tuple[int, bytes]:
        self.calls.append(f"{method} {path}")
        if self.timeouts:
            self.timeouts -= 1
            raise requests.ReadTimeout("fake timeout")
        if self.server_errors:
            self.server_errors -= 1
            return 503, b'{"error": {"code": "unavailable", "reason": "down"}}'
        if path == "/api/v1/auth/login":
            creds = json.loads(body or b"{}")
            for tok, user in self.users.items():
                if user.username == creds.get("username") and creds.get("password") == "pw":
                    answer = {"token": tok, "expires_at": "2026-12-31T00:00:00+00:00", "user": user.to_dict()}
                    return 200, json.dumps(answer).encode()
            return 401, b'{"error": {"code": "bad_credentials", "reason": "wrong password"}}'
        user = self.users.get(token or "")
        if user is None:
            return 401, b'{"error": {"code": "unauthorized", "reason": "no"}}'
        if path == "/api/v1/reference":
            return 200, json.dumps(REFERENCE).encode()
        if path.startswith("/api/v1/photos/"):
            sha = path.rsplit("/", 1)[1]
            if method == "HEAD":
                return (200 if sha in self.photos else 404), b""
            assert body is not None and hashlib.sha256(body).hexdigest() == sha
            created = sha not in self.photos
            self.photos[sha] = body
            return (201 if created else 200), b""
        if path == "/api/v1/sync/push":
            if any(m["id"] in self.unreadable for m in loads(body or b"")["mutations"]):
                return 400, b'{"error": {"code": "malformed_payload", "reason": "mutations[0].args: bad"}}'
            answer = self.push(user, PushRequest.from_dict(loads(body or b"")))
            if self.drop_push_answers:
                self.drop_push_answers -= 1
                raise requests.ConnectionError("connection reset after commit")
            return 200, dumps(answer)
        if path == "/api/v1/sync/pull":
            request = PullRequest.from_dict(loads(body or b""))
            if self.on_pull is not None:
                self.on_pull(request.cursor)
            return 200, dumps(self.pull(request))
        return 404, b'{"error": {"code": "not_found", "reason": "?"}}'

    def push(self, user: UserProfile, request: PushRequest) -> PushResponse:
        results = []
        last = self.last_seq.get(request.device_id, 0)
        for m in request.mutations:
            if m.id in self.answers:
                old = self.answers[m.id]
                results.append(
                    MutationResult(m.id, m.seq, MutationStatus.DUPLICATE)
                    if old.status in (MutationStatus.APPLIED, MutationStatus.DUPLICATE)
                    else old
                )
                last = max(last, m.seq)
                continue
            event = Event(
                m.id,
                m.case_id,
                str(m.name),
                user.actor,
                user.role,
                m.occurred_at,
                m.args,
                received_at=self.clock(),
            )
            outcome = apply(self.records.get(m.case_id), event)
            if isinstance(outcome, Rejection):
                result = MutationResult(
                    m.id,
                    m.seq,
                    MutationStatus.REJECTED,
                    outcome.code.value,
                    outcome.message_zh,
                    outcome.message_en,
                )
            else:
                missing = [s for s in m.args.get("photos") or () if s not in self.photos]
                if missing:
                    results.append(
                        MutationResult(
                            m.id, m.seq, MutationStatus.RETRY, "photo_missing", "照片未上传", "photo missing"
                        )
                    )
                    break
                self.records[m.case_id] = outcome
                self.events.append(event)
                result = MutationResult(m.id, m.seq, MutationStatus.APPLIED)
            self.answers[m.id] = result
            results.append(result)
            last = m.seq
        self.last_seq[request.device_id] = last
        return PushResponse(PROTOCOL_VERSION, tuple(results), last)

    def act(self, user: UserProfile, name: str, case_id: str, args: dict[str, Any], at: datetime) -> Any:
        """Another phone acts directly on the server."""
        event = Event(
            f"00000000-0000-4000-8000-{len(self.events):012d}",
            case_id,
            name,
            user.actor,
            user.role,
            at,
            args,
            received_at=at,
        )
        outcome = apply(self.records.get(case_id), event)
        assert not isinstance(outcome, Rejection), outcome
        self.records[case_id] = outcome
        self.events.append(event)
        return outcome

    def pull(self, request: PullRequest) -> PullResponse:
        after = int(request.cursor or 0)
        page = self.events[after : after + self.page_size]
        records = tuple(EventRecord(e, after + i + 1) for i, e in enumerate(page))
        cursor = after + len(page)
        return PullResponse(
            PROTOCOL_VERSION,
            records,
            str(cursor),
            cursor < len(self.events),
            self.last_seq.get(request.device_id, 0),
        )


class _Adapter(BaseAdapter):
    def __init__(self, server: FakeServer) -> None:
        super().__init__()
        self.server = server

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else None
        path = (request.path_url or "/").split("?")[0]
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode() or None
        status, content = self.server.handle(request.method or "GET", path, token, body)
        response = requests.Response()
        response.status_code = status
        response._content = content
        response.headers["Content-Type"] = "application/json"
        if path == PULL_PATH and status == 200 and self.server.pull_headers:
            page = loads(content)
            response.headers[PULL_CURSOR_HEADER] = page["cursor"]
            response.headers[PULL_HAS_MORE_HEADER] = "true" if page["has_more"] else "false"
        response.request = request
        response.url = request.url or ""
        response.reason = "fake"
        return response

    def close(self) -> None:
        pass
