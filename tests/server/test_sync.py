"""Push and pull over HTTP: the loop, idempotence, conflicts between offline phones, paging, photos."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone

from shared import MAX_BATCH, PROTOCOL_VERSION

from .world import CATEGORY, Phone, World, jpeg


def case_of(world: World, case_id: str) -> dict:
    chief = world.a.apis["station"]
    return chief.ok(chief.get(f"/api/v1/cases/{case_id}"))


def test_a_case_goes_round_the_loop_and_every_phone_pulls_it(world: World) -> None:
    a = world.a
    case_id = a.report()
    a.walk(case_id, "dispatch", "accept")
    case = case_of(world, case_id)
    assert case["record"]["state"] == "disposal"
    assert [e["name"] for e in case["events"]] == ["report", "dispatch", "accept"]
    # the supervisor's phone, which did none of it, sees all three events in server order
    pulled = [r for r in a.phone("supervisor").pull_all() if r["event"]["case_id"] == case_id]
    assert [r["event"]["name"] for r in pulled] == ["report", "dispatch", "accept"]
    assert pulled[0]["event"]["actor"]["user_id"] == a.users["chief"]["id"]
    assert pulled[0]["event"]["received_at"] is not None


def test_the_same_batch_twice_has_exactly_one_effect(world: World) -> None:
    a = world.a
    phone = a.phone("chief")
    case_id = str(uuid.uuid4())
    batch = [
        phone.mutation("report", case_id, category=CATEGORY, road_id=a.roads[0], description="井盖缺失"),
        phone.mutation("comment", case_id, text="请尽快处理"),
    ]
    first = phone.push(*batch)
    second = phone.push(*batch)
    assert [r["status"] for r in first] == ["applied", "applied"]
    assert [r["status"] for r in second] == ["duplicate", "duplicate"]
    case = case_of(world, case_id)
    assert len(case["events"]) == 2 and case["record"]["comment_count"] == 1


def test_a_batch_whose_answer_was_lost_is_resent_with_more_and_only_the_new_ones_apply(world: World) -> None:
    a = world.a
    phone = a.phone("chief")
    case_id = str(uuid.uuid4())
    lost = [phone.mutation("report", case_id, category=CATEGORY, road_id=a.roads[0], description="占道")]
    phone.push_raw(*lost)  # the answer never reached the phone
    more = [phone.mutation("comment", case_id, text=f"补充{i}") for i in range(3)]
    results = phone.push(*lost, *more)
    assert [r["status"] for r in results] == ["duplicate", "applied", "applied", "applied"]
    assert len(case_of(world, case_id)["events"]) == 4
    assert phone.pull()["last_seq"] == phone.seq


def test_a_rejected_mutation_is_processed_and_gets_the_same_answer_when_resent(world: World) -> None:
    a = world.a
    phone = a.phone("chief")
    case_id = a.report()
    approve = phone.mutation("approve", case_id, note="我来核查")
    (first,) = phone.push(approve)
    (again,) = phone.push(approve)
    assert first["status"] == again["status"] == "rejected"
    assert first["code"] == again["code"] == "role_not_allowed"
    assert first["message_zh"] and first["message_en"] == again["message_en"]
    # rejected still counts as processed: the outbox moves on
    assert phone.pull()["last_seq"] == approve["seq"]
    assert phone.do("comment", case_id, text="好的")["status"] == "applied"


def test_two_phones_offline_on_one_case_the_server_order_wins_and_the_loser_is_told_why(world: World) -> None:
    a = world.a
    case_id = a.report()
    station, centre = a.phone("station"), a.phone("centre")
    # both act while offline: the station dispatches, the command centre cancels
    dispatch = station.mutation("dispatch", case_id, department_id=a.departments[0])
    cancel = centre.mutation("cancel", case_id, reason="重复上报")
    (won,) = station.push(dispatch)  # reaches the server first
    (lost,) = centre.push(cancel)
    assert won["status"] == "applied"
    assert lost["status"] == "rejected" and lost["code"] == "not_allowed_in_state"
    assert "派" in lost["message_zh"] or "dispatched" in lost["message_en"]
    assert case_of(world, case_id)["record"]["state"] == "dispatched"
    # both phones pull the same truth
    events_station = [r["event"]["id"] for r in station.pull_all() if r["event"]["case_id"] == case_id]
    events_centre = [r["event"]["id"] for r in centre.pull_all() if r["event"]["case_id"] == case_id]
    assert (
        events_station == events_centre
        and dispatch["id"] in events_centre
        and cancel["id"] not in events_centre
    )


def test_a_reused_seq_with_a_new_id_is_refused_not_swallowed(world: World) -> None:
    a = world.a
    phone = a.phone("chief")
    case_id = a.report()
    phone.do("comment", case_id, text="一")
    phone.seq -= 1  # a phone that lost its counter
    result = phone.do("comment", case_id, text="二")
    assert result["status"] == "rejected" and result["code"] == "seq_reused"
    assert case_of(world, case_id)["record"]["comment_count"] == 1


def test_seqs_may_skip_but_must_increase(world: World) -> None:
    a = world.a
    phone = a.phone("chief")
    case_id = a.report()
    phone.seq = 10
    assert phone.do("comment", case_id, text="跳号")["status"] == "applied"
    phone.seq = 4
    result = phone.do("comment", case_id, text="倒退")
    assert result["code"] == "seq_out_of_order"


def test_pull_pages_with_a_cursor_and_never_repeats(world: World) -> None:
    a = world.a
    for _ in range(3):
        a.report()
    phone = a.phone("supervisor")
    everything = phone.pull(limit=2000)["events"]
    pages, cursor = [], None
    while True:
        page = phone.pull(cursor, limit=2)
        pages += page["events"]
        cursor = page["cursor"]
        assert len(page["events"]) <= 2
        if not page["has_more"]:
            break
    assert [r["position"] for r in pages] == [r["position"] for r in everything]
    assert len({r["event"]["id"] for r in pages}) == len(pages)
    assert phone.pull(cursor)["events"] == []


def test_a_mutation_naming_a_photo_the_server_lacks_waits_and_stops_the_batch(world: World) -> None:
    a = world.a
    phone = a.phone("chief")
    photo = jpeg((200, 30, 30))
    sha = hashlib.sha256(photo).hexdigest()
    case_id, later = str(uuid.uuid4()), str(uuid.uuid4())
    report = phone.mutation("report", case_id, category=CATEGORY, road_id=a.roads[0], photos=[sha])
    other = phone.mutation("report", later, category=CATEGORY, road_id=a.roads[0], description="另一处")
    results = phone.push(report, other)
    assert [r["status"] for r in results] == ["retry"]  # nothing after a retry is processed
    assert results[0]["code"] == "photo_missing"
    assert phone.pull()["last_seq"] == report["seq"] - 1
    uploaded = phone.api.put(f"/api/v1/photos/{sha}", content=photo, headers={"content-type": "image/jpeg"})
    assert uploaded.status_code == 201, uploaded.text
    assert [r["status"] for r in phone.push(report, other)] == ["applied", "applied"]
    assert case_of(world, case_id)["record"]["before_photos"] == [sha]


def test_a_device_belongs_to_the_first_user_who_pushes_from_it(world: World) -> None:
    a = world.a
    chief = a.phone("chief")
    case_id = a.report()
    chief.do("comment", case_id, text="我的手机")
    borrowed = Phone(a.apis["chief2"], device_id=chief.device_id, seq=chief.seq)
    response = borrowed.push_raw(borrowed.mutation("comment", case_id, text="借来的"))
    assert response.status_code == 403 and response.json()["error"]["code"] == "device_taken"
    body = {"protocol_version": PROTOCOL_VERSION, "device_id": chief.device_id, "cursor": None}
    assert a.apis["chief2"].post("/api/v1/sync/pull", body).status_code == 403


def test_server_checks_what_the_engine_cannot_know(world: World) -> None:
    a, b = world.a, world.b
    chief = a.phone("chief")
    # a road of another street
    result = chief.do("report", str(uuid.uuid4()), category=CATEGORY, road_id=b.roads[0], description="x")
    assert result["code"] == "invalid_field" and "road" in result["message_en"]
    # a road of another community of the same street
    result = chief.do("report", str(uuid.uuid4()), category=CATEGORY, road_id=a.roads[1], description="x")
    assert result["code"] == "invalid_field"
    # a department of another street
    case_id = a.report()
    result = a.phone("station").do("dispatch", case_id, department_id=b.departments[0])
    assert result["code"] == "invalid_field"
    # merging into a case that does not exist
    result = a.phone("station").do("merge", case_id, into=str(uuid.uuid4()))
    assert result["code"] == "invalid_field"
    # merging into an open case works
    target = a.report()
    assert a.phone("station").do("merge", case_id, into=target)["status"] == "applied"
    assert case_of(world, case_id)["record"]["state"] == "merged"


def test_a_patrol_is_synced_like_a_case(world: World) -> None:
    a = world.a
    chief = a.phone("chief")
    patrol_id = str(uuid.uuid4())
    assert chief.do("start_patrol", patrol_id, road_id=a.roads[0])["status"] == "applied"
    points = [{"lat": 39.93, "lon": 116.19}, {"lat": 39.931, "lon": 116.191}]
    assert chief.do("record_points", patrol_id, points=points)["status"] == "applied"
    assert chief.do("end_patrol", patrol_id)["status"] == "applied"
    patrol = chief.api.ok(chief.api.get(f"/api/v1/patrols/{patrol_id}"))
    assert patrol["record"]["state"] == "ended" and len(patrol["events"]) == 3


def test_a_batch_larger_than_the_protocol_allows_is_refused_whole(world: World) -> None:
    a = world.a
    phone = a.phone("chief")
    case_id = a.report()
    batch = [phone.mutation("comment", case_id, text=str(i)) for i in range(MAX_BATCH + 1)]
    response = phone.push_raw(*batch)
    assert response.status_code == 422 and response.json()["error"]["code"] == "malformed_payload"
    assert case_of(world, case_id)["record"]["comment_count"] == 0


def test_an_action_a_phone_clock_dated_in_the_future_is_dated_when_the_server_heard_of_it(
    world: World,
) -> None:
    phone = world.a.phone("chief")
    case_id = str(uuid.uuid4())
    road = world.a.roads[0]
    report = phone.mutation("report", case_id, category=CATEGORY, road_id=road, description="钟快")
    beijing = timezone(timedelta(hours=8))
    report["occurred_at"] = (datetime.now(UTC) + timedelta(days=1)).astimezone(beijing).isoformat()
    sent = datetime.now(UTC)
    (answer,) = phone.push(report)
    assert answer["status"] == "applied"
    (stored,) = [entry["event"] for entry in phone.pull_all() if entry["event"]["id"] == report["id"]]
    occurred = datetime.fromisoformat(stored["occurred_at"])
    assert occurred == datetime.fromisoformat(stored["received_at"])  # not a day ahead
    assert sent - timedelta(seconds=5) <= occurred <= datetime.now(UTC)
    assert occurred.utcoffset() == timedelta(hours=8)  # still in the phone's offset
    # a phone whose clock is right keeps its own time: the action happened before it was sent
    on_time = phone.mutation("comment", case_id, text="补充")
    (answer,) = phone.push(on_time)
    (kept,) = [entry["event"] for entry in phone.pull_all() if entry["event"]["id"] == on_time["id"]]
    assert datetime.fromisoformat(kept["occurred_at"]) == datetime.fromisoformat(on_time["occurred_at"])
