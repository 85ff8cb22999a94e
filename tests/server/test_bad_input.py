"""Every bad input gets a 4xx with a machine-readable code and a reason; never a 500."""

from __future__ import annotations

import uuid

import pytest

from shared import PROTOCOL_VERSION

from .world import World


def refused(response, status: int | tuple[int, ...], code: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    error = response.json()["error"]
    assert error["code"] and error["reason"]
    if code is not None:
        assert error["code"] == code, error
    return error


RAW_PATHS = ["/api/v1/sync/push", "/api/v1/sync/pull", "/api/v1/auth/login", "/api/v1/admin/communities"]


@pytest.mark.parametrize("path", RAW_PATHS)
@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b'{"a": NaN}', b"[" * 5000])
def test_malformed_json_is_a_400(world: World, path: str, body: bytes) -> None:
    api = world.a.apis["admin"]
    response = api.post(path, content=body, headers={"content-type": "application/json"})
    error = refused(response, (400, 422))
    assert error["code"] in ("malformed_json", "invalid_request")


def _push(world: World, body: object):  # type: ignore[no-untyped-def]
    return world.a.apis["chief"].post("/api/v1/sync/push", body)


def _mutation(**overrides: object) -> dict:
    base = {
        "id": str(uuid.uuid4()),
        "seq": 1,
        "name": "comment",
        "case_id": str(uuid.uuid4()),
        "args": {"text": "x"},
        "occurred_at": "2026-03-02T09:00:00+08:00",
    }
    return {**base, **overrides}


def test_an_unknown_protocol_version_is_a_clear_4xx(world: World) -> None:
    device = str(uuid.uuid4())
    for version in (0, 2, 999):
        refused(
            _push(world, {"protocol_version": version, "device_id": device, "mutations": [_mutation()]}),
            400,
            "unsupported_version",
        )
        body = {"protocol_version": version, "device_id": device, "cursor": None}
        refused(world.a.apis["chief"].post("/api/v1/sync/pull", body), 400, "unsupported_version")
    refused(
        _push(world, {"protocol_version": "1", "device_id": device, "mutations": []}),
        422,
        "malformed_payload",
    )


@pytest.mark.parametrize(
    "mutation",
    [
        _mutation(seq=2**64),
        _mutation(seq=10**400),
        _mutation(seq=0),
        _mutation(seq=-1),
        _mutation(seq=1.5),
        _mutation(seq=True),
        _mutation(seq="1"),
        _mutation(id="not-a-uuid"),
        _mutation(id=str(uuid.uuid4()).upper()),
        _mutation(name="delete_everything"),
        _mutation(case_id=12),
        _mutation(args=[]),
        _mutation(args={"text": "x" * 20000}),
        _mutation(occurred_at="2026-03-02T09:00:00"),
        _mutation(occurred_at="yesterday"),
        _mutation(occurred_at=None),
    ],
)
def test_wrong_types_and_huge_numbers_in_a_push_are_422(world: World, mutation: dict) -> None:
    body = {"protocol_version": PROTOCOL_VERSION, "device_id": str(uuid.uuid4()), "mutations": [mutation]}
    refused(_push(world, body), (400, 422))


def test_huge_numbers_in_json_args_are_refused(world: World) -> None:
    body = (
        b'{"protocol_version":1,"device_id":"%s","mutations":[{"id":"%s","seq":1,"name":"comment",'
        b'"case_id":"%s","args":{"n":1e400},"occurred_at":"2026-03-02T09:00:00+08:00"}]}'
        % (str(uuid.uuid4()).encode(), str(uuid.uuid4()).encode(), str(uuid.uuid4()).encode())
    )
    response = world.a.apis["chief"].post(
        "/api/v1/sync/push", content=body, headers={"content-type": "application/json"}
    )
    refused(response, 400, "malformed_json")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "",
        "Yzp4OjE",
        "c1:x:1",
        "YzE6eDox",
        "Zm9v" * 100,
        "YzE6eDotMQ",
        "YzE6eDo5OTk5OTk5OTk5OTk5OTk5OTk5",
    ],
)
def test_a_bad_cursor_is_a_400_not_a_500(world: World, cursor: str) -> None:
    body = {"protocol_version": PROTOCOL_VERSION, "device_id": str(uuid.uuid4()), "cursor": cursor}
    refused(world.a.apis["chief"].post("/api/v1/sync/pull", body), (400, 422))


def test_a_cursor_of_another_street_or_from_the_future_is_refused(world: World) -> None:
    world.b.report()
    b_cursor = world.b.phone("chief").pull()["cursor"]
    a_phone = world.a.phone("chief")
    body = {"protocol_version": PROTOCOL_VERSION, "device_id": a_phone.device_id, "cursor": b_cursor}
    refused(world.a.apis["chief"].post("/api/v1/sync/pull", body), 400, "bad_cursor")
    import base64

    future = base64.urlsafe_b64encode(f"c1:{world.a.id}:{2**52}".encode()).decode().rstrip("=")
    body["cursor"] = future
    refused(world.a.apis["chief"].post("/api/v1/sync/pull", body), 400, "bad_cursor")


def test_a_cursor_naming_another_event_than_the_one_at_its_position_is_refused(world: World) -> None:
    # what a server restored from a backup sees: the position exists, another event stands there
    from server.pull import decode_cursor, encode_cursor

    world.a.report()
    phone = world.a.phone("chief")
    given = phone.pull()["cursor"]
    position = decode_cursor(given, world.a.id)
    assert position.seq > 0 and position.event_id is not None
    body = {"protocol_version": PROTOCOL_VERSION, "device_id": phone.device_id, "cursor": given}
    api = world.a.apis["chief"]
    assert api.post("/api/v1/sync/pull", body).status_code == 200
    body["cursor"] = encode_cursor(world.a.id, position.seq, str(uuid.uuid4()))
    refused(api.post("/api/v1/sync/pull", body), 400, "bad_cursor")
    body["cursor"] = encode_cursor(world.a.id, position.seq)  # the plain form older servers gave
    assert api.post("/api/v1/sync/pull", body).status_code == 200


@pytest.mark.parametrize("limit", [0, -1, 2001, 2**63, 1.5, "10", None])
def test_a_bad_pull_limit_is_refused(world: World, limit: object) -> None:
    body = {
        "protocol_version": PROTOCOL_VERSION,
        "device_id": str(uuid.uuid4()),
        "cursor": None,
        "limit": limit,
    }
    refused(world.a.apis["chief"].post("/api/v1/sync/pull", body), 422, "malformed_payload")


@pytest.mark.parametrize(
    "path,body",
    [
        ("/api/v1/admin/communities", {"name": ""}),
        ("/api/v1/admin/communities", {"name": "x" * 101}),
        ("/api/v1/admin/communities", {"name": 5}),
        ("/api/v1/admin/communities", {}),
        ("/api/v1/admin/communities", []),
        ("/api/v1/admin/roads", {"name": "r", "geometry": {"type": "Point", "coordinates": [1, 2]}}),
        ("/api/v1/admin/roads", {"name": "r", "geometry": {"type": "LineString", "coordinates": [[1, 2]]}}),
        (
            "/api/v1/admin/roads",
            {"name": "r", "geometry": {"type": "LineString", "coordinates": [[1e308, 2], [1, 2]]}},
        ),
        (
            "/api/v1/admin/roads",
            {"name": "r", "geometry": {"type": "LineString", "coordinates": [[181, 2], [1, 2]]}},
        ),
        (
            "/api/v1/admin/roads",
            {"name": "r", "geometry": {"type": "LineString", "coordinates": [["1", 2], [1, 2]]}},
        ),
        ("/api/v1/admin/users", {"username": "ok-name", "password": "long enough", "role": "emperor"}),
        ("/api/v1/admin/users", {"username": "../etc", "password": "long enough", "role": "admin"}),
        ("/api/v1/admin/users", {"username": "ok-name", "password": 12345678, "role": "admin"}),
    ],
)
def test_bad_admin_input_is_422(world: World, path: str, body: object) -> None:
    refused(world.a.apis["admin"].post(path, body), 422)


@pytest.mark.parametrize(
    "body",
    [
        {"normal": {"amount": 10**20, "unit": "working_days"}},
        {"normal": {"amount": 0, "unit": "working_days"}},
        {"normal": {"amount": 1, "unit": "fortnights"}},
        {"normal": {"amount": "1", "unit": "working_days"}},
        {"domain": "weather"},
        {"name_zh": None, "bogus": 1},
    ],
)
def test_bad_category_input_is_422(world: World, body: dict) -> None:
    refused(world.a.apis["admin"].put("/api/v1/admin/categories/E0501", body), 422)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/admin/categories/X0501", "/api/v1/admin/categories/E05011", "/api/v1/admin/users/" + "x" * 40],
)
def test_bad_path_parameters_are_4xx(world: World, path: str) -> None:
    refused(
        world.a.apis["admin"].patch(path, {"active": True})
        if "users" in path
        else world.a.apis["admin"].delete(path),
        (404, 405, 422),
    )


def test_a_body_too_large_is_413(world: World) -> None:
    response = world.a.apis["admin"].post(
        "/api/v1/admin/communities",
        content=b"x" * (9 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    refused(response, 413, "too_large")


def test_unknown_paths_and_methods_answer_in_the_same_shape(world: World) -> None:
    api = world.a.apis["chief"]
    refused(api.get("/api/v1/nothing-here"), 404)
    refused(api.get("/api/v1/sync/push"), 405)
    refused(api.get("/api/v1/cases/" + "x" * 65), 422)
