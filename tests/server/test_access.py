"""Tenancy and roles: nothing of street B is readable or writable from street A, and a role does only
what the engine allows it. Every refusal leaves the data unchanged."""

from __future__ import annotations

import uuid

import pytest

from .world import CATEGORY, LINE, PASSWORD, World


def state_of(street, case_id: str) -> str:  # type: ignore[no-untyped-def]
    api = street.apis["station"]
    return api.ok(api.get(f"/api/v1/cases/{case_id}"))["record"]["state"]


def test_a_user_of_street_a_cannot_read_street_b(world: World) -> None:
    a, b = world.a, world.b
    b_case = b.report()
    b_patrol = str(uuid.uuid4())
    assert b.phone("chief").do("start_patrol", b_patrol, road_id=b.roads[0])["status"] == "applied"
    for who in a.apis:
        api = a.apis[who]
        for path in (f"/api/v1/cases/{b_case}", f"/api/v1/patrols/{b_patrol}"):
            response = api.get(path)
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        pulled = a.phone(who).pull_all()
        assert all(r["event"]["actor"]["street_id"] == a.id for r in pulled)
        assert b_case not in {r["event"]["case_id"] for r in pulled}
        reference = api.ok(api.get("/api/v1/reference"))
        assert reference["street"]["id"] == a.id
        assert not {r["id"] for r in reference["roads"]} & set(b.roads)
        # the people a timeline names are the street's own, never another street's
        people = {p["id"] for p in reference["people"]}
        assert {u["id"] for u in a.users.values()} <= people
        assert not people & {u["id"] for u in b.users.values()}
        assert all(set(p) == {"id", "display_name", "role"} for p in reference["people"])


def test_a_user_of_street_a_cannot_change_street_b(world: World) -> None:
    a, b = world.a, world.b
    b_case = b.report()
    for who in ("chief", "station", "centre", "handler", "supervisor", "admin"):
        phone = a.phone(who)
        for name, args in (
            ("comment", {"text": "越权"}),
            ("dispatch", {"department_id": b.departments[0]}),
            ("cancel", {"reason": "越权"}),
            ("report", {"category": CATEGORY, "road_id": b.roads[0], "description": "x"}),
        ):
            result = phone.do(name, b_case, **args)
            assert result["status"] == "rejected", (who, name)
            # never "out of scope" or "exists": the case does not exist for street A
            assert result["code"] in ("case_not_found", "role_not_allowed"), (who, name, result)
    assert state_of(b, b_case) == "feedback"
    case = b.apis["station"].ok(b.apis["station"].get(f"/api/v1/cases/{b_case}"))
    assert len(case["events"]) == 1


def test_admin_of_street_a_cannot_touch_street_b_directory(world: World) -> None:
    a, b = world.a, world.b
    admin = a.apis["admin"]
    for path, body in (
        (f"/api/v1/admin/communities/{b.communities[0]}", {"name": "夺取"}),
        (f"/api/v1/admin/departments/{b.departments[0]}", {"name": "夺取"}),
        (f"/api/v1/admin/roads/{b.roads[0]}", {"name": "夺取"}),
        (f"/api/v1/admin/users/{b.users['chief']['id']}", {"active": False}),
    ):
        response = admin.patch(path, body)
        assert response.status_code == 404, (path, response.text)
    # nor point its own rows at B's
    response = admin.post(
        "/api/v1/admin/users",
        {
            "username": f"x-{uuid.uuid4().hex[:8]}",
            "password": PASSWORD,
            "role": "road_chief",
            "community_id": b.communities[0],
        },
    )
    assert response.status_code == 422
    response = admin.post(
        "/api/v1/admin/roads",
        {"name": f"r-{uuid.uuid4().hex[:6]}", "geometry": LINE, "chief_id": b.users["chief"]["id"]},
    )
    assert response.status_code == 422
    # lists show only A
    users = admin.ok(admin.get("/api/v1/admin/users"))
    assert {u["street_id"] for u in users} == {a.id}
    assert b.apis["chief"].ok(b.apis["chief"].get("/api/v1/me"))["active"] is True


ADMIN_ENDPOINTS = [
    ("get", "/api/v1/admin/communities", None),
    ("post", "/api/v1/admin/communities", {"name": "新社区"}),
    ("get", "/api/v1/admin/departments", None),
    ("post", "/api/v1/admin/departments", {"name": "新部门"}),
    ("get", "/api/v1/admin/roads", None),
    ("post", "/api/v1/admin/roads", {"name": "新路", "geometry": LINE}),
    ("get", "/api/v1/admin/users", None),
    ("post", "/api/v1/admin/users", {"username": "intruder", "password": PASSWORD, "role": "admin"}),
    ("get", "/api/v1/admin/categories", None),
    ("put", "/api/v1/admin/categories/E0501", {"normal": {"amount": 99, "unit": "working_days"}}),
    ("delete", "/api/v1/admin/categories/E0501", None),
]


@pytest.mark.parametrize("method,path,body", ADMIN_ENDPOINTS)
def test_only_the_admin_may_use_the_admin_api(world: World, method: str, path: str, body: object) -> None:
    a = world.a
    for who in ("chief", "station", "centre", "handler", "supervisor"):
        api = a.apis[who]
        call = getattr(api, method)
        response = call(path, body) if body is not None else call(path)
        assert response.status_code == 403, (who, response.text)
        assert response.json()["error"]["code"] == "forbidden"
    anonymous = world.server.client()
    call = getattr(anonymous, method)
    response = call(path, body) if body is not None else call(path)
    assert response.status_code == 401
    admin = a.apis["admin"]
    names = {u["username"] for u in admin.ok(admin.get("/api/v1/admin/users"))}
    assert "intruder" not in names


def test_a_road_chief_cannot_approve_and_a_handler_of_another_department_cannot_dispose(world: World) -> None:
    a = world.a
    case_id = a.report()
    a.walk(case_id, "dispatch")
    result = a.phone("handler2").do("accept", case_id)
    assert result["status"] == "rejected" and result["code"] == "not_assigned"
    assert state_of(a, case_id) == "dispatched"
    a.walk(case_id, "accept", "complete")
    result = a.phone("chief").do("approve", case_id, note="我说行")
    assert result["status"] == "rejected" and result["code"] == "role_not_allowed"
    result = a.phone("handler").do("approve", case_id)
    assert result["code"] == "role_not_allowed"
    assert state_of(a, case_id) == "supervision"
    a.walk(case_id, "approve")
    assert state_of(a, case_id) == "closed"


def test_mass_assigned_fields_are_refused_and_nothing_changes(world: World) -> None:
    a, b = world.a, world.b
    admin = a.apis["admin"]
    username = f"m-{uuid.uuid4().hex[:8]}"
    for extra in ({"street_id": b.id}, {"id": str(uuid.uuid4())}, {"active": False}, {"password_hash": "x"}):
        response = admin.post(
            "/api/v1/admin/users",
            {"username": username, "password": PASSWORD, "role": "supervisor", **extra},
        )
        assert response.status_code == 422, extra
        assert response.json()["error"]["code"] == "invalid_request"
    assert username not in {u["username"] for u in admin.ok(admin.get("/api/v1/admin/users"))}
    chief_id = a.users["chief"]["id"]
    for extra in ({"street_id": b.id}, {"username": "renamed"}, {"id": "x"}):
        response = admin.patch(f"/api/v1/admin/users/{chief_id}", extra)
        assert response.status_code == 422, extra
    me = a.apis["chief"].ok(a.apis["chief"].get("/api/v1/me"))
    assert me["street_id"] == a.id and me["username"] == a.users["chief"]["username"]
    response = a.apis["chief"].post(
        "/api/v1/auth/login", {"username": me["username"], "password": PASSWORD, "role": "admin"}
    )
    assert response.status_code == 422
    # a mutation cannot carry fields beyond the protocol's either
    phone = a.phone("chief")
    mutation = {**phone.mutation("comment", a.report(), text="x"), "street_id": b.id}
    assert phone.push_raw(mutation).status_code == 422


def test_the_admin_keeps_the_directory(world: World) -> None:
    a = world.a
    admin = a.apis["admin"]
    community = admin.ok(admin.post("/api/v1/admin/communities", {"name": f"新{uuid.uuid4().hex[:4]}"}), 201)
    assert admin.post("/api/v1/admin/communities", {"name": community["name"]}).status_code == 409
    renamed = admin.ok(
        admin.patch(f"/api/v1/admin/communities/{community['id']}", {"name": community["name"] + "2"})
    )
    assert renamed["name"].endswith("2")
    road = admin.ok(
        admin.post(
            "/api/v1/admin/roads",
            {
                "name": f"路{uuid.uuid4().hex[:4]}",
                "geometry": LINE,
                "community_id": community["id"],
                "chief_id": a.users["chief"]["id"],
            },
        ),
        201,
    )
    assert road["geometry"] == LINE and road["chief_id"] == a.users["chief"]["id"]
    moved = admin.ok(admin.patch(f"/api/v1/admin/roads/{road['id']}", {"chief_id": None}))
    assert moved["chief_id"] is None
    # a handler needs a department; a deactivated user can no longer sign in
    bad = admin.post("/api/v1/admin/users", {"username": "h-nodept", "password": PASSWORD, "role": "handler"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_scope"
    short = admin.post(
        "/api/v1/admin/users", {"username": "shorty", "password": "1234567", "role": "supervisor"}
    )
    assert short.status_code == 422
    username = f"temp-{uuid.uuid4().hex[:6]}"
    user = admin.ok(
        admin.post("/api/v1/admin/users", {"username": username, "password": PASSWORD, "role": "supervisor"}),
        201,
    )
    token = admin.ok(admin.post("/api/v1/auth/login", {"username": username, "password": PASSWORD}))["token"]
    temp = world.server.client(token)
    assert temp.get("/api/v1/me").status_code == 200
    admin.ok(admin.patch(f"/api/v1/admin/users/{user['id']}", {"active": False}))
    assert temp.get("/api/v1/me").status_code == 401
    assert admin.post("/api/v1/auth/login", {"username": username, "password": PASSWORD}).status_code == 401


def test_a_street_sets_its_own_deadlines(world: World) -> None:
    a = world.a
    admin = a.apis["admin"]
    changed = admin.ok(
        admin.put("/api/v1/admin/categories/E0501", {"normal": {"amount": 1, "unit": "working_hours"}})
    )
    assert changed["customized"] and changed["normal"] == {"amount": 1, "unit": "working_hours"}
    case_id = a.report()
    a.walk(case_id, "dispatch")
    record = a.apis["station"].ok(a.apis["station"].get(f"/api/v1/cases/{case_id}"))["record"]
    assert record["due_at"] is not None
    # street B still has the engine's default
    b_admin = world.b.apis["admin"]
    b_cat = next(c for c in b_admin.ok(b_admin.get("/api/v1/admin/categories")) if c["code"] == "E0501")
    assert not b_cat["customized"] and b_cat["normal"] != changed["normal"]
    # a street's own category
    added = admin.put(
        "/api/v1/admin/categories/E9901",
        {
            "kind": "event",
            "domain": "order",
            "major_code": "E99",
            "major_zh": "其他",
            "major_en": "Other",
            "name_zh": "共享单车乱停",
            "name_en": "Bikes parked badly",
            "normal": {"amount": 2, "unit": "working_days"},
            "urgent": {"amount": 4, "unit": "working_hours"},
        },
    )
    assert added.status_code == 200, added.text
    assert any(
        c["code"] == "E9901"
        for c in a.apis["chief"].ok(a.apis["chief"].get("/api/v1/reference"))["categories"]
    )
    assert admin.put("/api/v1/admin/categories/E9902", {"name_zh": "缺字段"}).status_code == 422
    assert admin.delete("/api/v1/admin/categories/E0501").status_code == 204
    assert admin.delete("/api/v1/admin/categories/E0501").status_code == 404
