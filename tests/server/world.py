"""The people and places the server tests act with: two streets, A and B, one user per role.

Streets and their first admins are made the way ``roadchief create-admin`` makes them (the same
server function); everything else goes through the admin API over HTTP.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from server import Database, Settings
from server.auth import Passwords
from server.directory import bootstrap_admin
from shared import PROTOCOL_VERSION

PASSWORD = "correct horse battery"
CATEGORY = "E0501"  # 占道经营
LINE = {"type": "LineString", "coordinates": [[116.19, 39.93], [116.20, 39.94]]}
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(out, format="JPEG")
    return out.getvalue()


AFTER_PHOTO = jpeg((30, 160, 30))
AFTER_SHA = hashlib.sha256(AFTER_PHOTO).hexdigest()


@dataclass
class Server:
    base_url: str
    database_url: str
    kind: str
    workdir: Path
    clients: list[Api] = field(default_factory=list)

    def client(self, token: str | None = None) -> Api:
        api = Api(self, token)
        self.clients.append(api)
        return api

    def close(self) -> None:
        for api in self.clients:
            api.http.close()

    def database(self) -> Database:
        return Database(self.database_url)


class Api:
    """An HTTP client for one user (or nobody)."""

    def __init__(self, server: Server, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=server.base_url, headers=headers, timeout=30)
        self.token = token

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=body, **kw) if body is not None else self.http.post(path, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.http.patch(path, json=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.put(path, json=body, **kw) if body is not None else self.http.put(path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json() if response.content else None


_clock = itertools.count(1)


@dataclass
class Phone:
    """One device's outbox: mints mutation ids and seqs, pushes and pulls."""

    api: Api
    device_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    seq: int = 0
    cursor: str | None = None

    def mutation(self, name: str, case_id: str, **args: Any) -> dict[str, Any]:
        self.seq += 1
        when = START + timedelta(minutes=next(_clock))
        return {
            "id": str(uuid.uuid4()),
            "seq": self.seq,
            "name": name,
            "case_id": case_id,
            "args": args,
            "occurred_at": when.isoformat(),
        }

    def push_raw(self, *mutations: dict[str, Any]) -> httpx.Response:
        body = {
            "protocol_version": PROTOCOL_VERSION,
            "device_id": self.device_id,
            "mutations": list(mutations),
        }
        return self.api.post("/api/v1/sync/push", body)

    def push(self, *mutations: dict[str, Any]) -> list[dict[str, Any]]:
        return self.api.ok(self.push_raw(*mutations))["results"]

    def do(self, name: str, case_id: str, **args: Any) -> dict[str, Any]:
        """Push one action now and return its answer."""
        (result,) = self.push(self.mutation(name, case_id, **args))
        return result

    def pull(self, cursor: str | None = None, limit: int = 500) -> dict[str, Any]:
        body = {
            "protocol_version": PROTOCOL_VERSION,
            "device_id": self.device_id,
            "cursor": cursor,
            "limit": limit,
        }
        return self.api.ok(self.api.post("/api/v1/sync/pull", body))

    def pull_all(self) -> list[dict[str, Any]]:
        """Pull page by page from this phone's cursor until nothing more is waiting."""
        events: list[dict[str, Any]] = []
        while True:
            page = self.pull(self.cursor, limit=50)
            events += page["events"]
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return events


@dataclass
class Street:
    name: str
    id: str
    communities: list[str]
    departments: list[str]
    roads: list[str]
    users: dict[str, dict[str, Any]]  # key -> user json
    apis: dict[str, Api]

    def phone(self, who: str) -> Phone:
        return Phone(self.apis[who])

    def report(self, case_id: str | None = None, who: str = "chief", **extra: Any) -> str:
        """A new case reported by ``who`` on the first road; returns its id."""
        case_id = case_id or str(uuid.uuid4())
        args = {"category": CATEGORY, "road_id": self.roads[0], "description": "占道摆摊", **extra}
        result = self.phone(who).do("report", case_id, **args)
        assert result["status"] == "applied", result
        return case_id

    def walk(self, case_id: str, *steps: str) -> None:
        """Move a case along the ordinary road: dispatch, accept, complete, approve."""
        actions = {
            "dispatch": ("station", {"department_id": self.departments[0]}),
            "accept": ("handler", {}),
            "complete": ("handler", {"note": "已清理", "photos": [AFTER_SHA]}),
            "approve": ("supervisor", {"note": "现场核实"}),
        }
        for step in steps:
            who, args = actions[step]
            result = self.phone(who).do(step, case_id, **args)
            assert result["status"] == "applied", (step, result)


@dataclass
class World:
    server: Server
    a: Street
    b: Street


def _login(server: Server, username: str, password: str = PASSWORD) -> str:
    response = httpx.post(
        f"{server.base_url}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


def make_street(server: Server, label: str) -> Street:
    name = f"{label}-{uuid.uuid4().hex[:6]}"
    settings = Settings(password_time_cost=1, password_memory_kib=1024)
    db = server.database()
    try:
        with db.write() as session:
            street, _ = bootstrap_admin(session, Passwords(settings), name, f"admin-{name}", PASSWORD)
            street_id = street.id
    finally:
        db.dispose()
    admin = server.client(_login(server, f"admin-{name}"))
    uploaded = admin.put(
        f"/api/v1/photos/{AFTER_SHA}", content=AFTER_PHOTO, headers={"content-type": "image/jpeg"}
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    c = [
        admin.ok(admin.post("/api/v1/admin/communities", {"name": n}), 201)["id"]
        for n in ("金顶街", "模式口")
    ]
    d = [admin.ok(admin.post("/api/v1/admin/departments", {"name": n}), 201)["id"] for n in ("城管", "环卫")]
    roads = [
        admin.ok(
            admin.post("/api/v1/admin/roads", {"name": f"路{i}", "geometry": LINE, "community_id": c[i]}), 201
        )["id"]
        for i in range(2)
    ]
    cast = {
        "chief": {"role": "road_chief", "community_id": c[0]},
        "chief2": {"role": "road_chief", "community_id": c[0]},
        "station": {"role": "coordinator", "community_id": c[0]},
        "centre": {"role": "coordinator"},
        "handler": {"role": "handler", "department_id": d[0]},
        "handler2": {"role": "handler", "department_id": d[1]},
        "supervisor": {"role": "supervisor"},
    }
    users: dict[str, dict[str, Any]] = {}
    apis: dict[str, Api] = {"admin": admin}
    for key, scope in cast.items():
        username = f"{key}-{name}"
        users[key] = admin.ok(
            admin.post("/api/v1/admin/users", {"username": username, "password": PASSWORD, **scope}), 201
        )
        apis[key] = server.client(_login(server, username))
    return Street(name, street_id, c, d, roads, users, apis)


def build_world(server: Server) -> World:
    return World(server, make_street(server, "A"), make_street(server, "B"))
