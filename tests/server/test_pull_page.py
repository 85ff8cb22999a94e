"""The pull page written straight from column tuples (``read_pull_json``) says what the protocol
messages say (``dumps(read_pull(...))``): the same fields and values, page by page."""

from __future__ import annotations

import json

from .world import World


def test_the_fast_pull_page_equals_the_protocol_messages(world: World) -> None:
    from server.auth import CurrentUser
    from server.models import User
    from server.pull import read_pull, read_pull_json
    from shared import PROTOCOL_VERSION, PullRequest, dumps, loads

    a = world.a
    case_id = a.report(description="路面坑洼，直径约 30 厘米")
    a.walk(case_id, "dispatch", "accept")
    a.report(extra_note=12345678901234567890123)  # refused or stored: either way the pages must agree
    reader = a.phone("supervisor")
    db = world.server.database()
    try:
        with db.read() as session:
            user = CurrentUser.of(session.get(User, a.users["supervisor"]["id"]))
        for limit in (1, 2, 500):
            cursor, seen = None, 0
            while True:
                request = PullRequest(PROTOCOL_VERSION, reader.device_id, cursor, limit)
                with db.read() as session:
                    fast = read_pull_json(session, user, request)
                with db.read() as session:
                    slow = dumps(read_pull(session, user, request))
                page = loads(fast)
                assert page == json.loads(slow)
                assert "\\u" not in fast.decode()  # Chinese is written as is, as ``dumps`` writes it
                seen += len(page["events"])
                cursor = page["cursor"]
                if not page["has_more"]:
                    break
            assert seen >= 4  # the report, its dispatch and accept, the second report
    finally:
        db.dispose()


def test_stored_args_pass_through_unchanged() -> None:
    import orjson

    from server.pull import _raw_json

    for text in ('{"a":1,"b":[1.5,"x"]}', '{"d": "\\u4e2d", "n": 100000000000000000000000000000}', "{}"):
        written = orjson.dumps({"args": _raw_json(text)})
        assert json.loads(written) == {"args": json.loads(text)}
