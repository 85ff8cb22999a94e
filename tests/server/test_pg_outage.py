"""PostgreSQL going away and coming back, seen from a phone: while it is down every authenticated
request is told 503 ``unavailable`` (try again), never a 500; once it is back the server answers
again at once, although every connection it held died with the old database process."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest

from shared import PROTOCOL_VERSION, PUSH_PATH, Mutation, PushRequest, dumps

from .proofs import ServerProcess, own_cluster, setup_street
from .world import CATEGORY, Street

pytestmark = pytest.mark.postgres

ME = "/api/v1/me"


def _get(base: str, token: str) -> httpx.Response:
    return httpx.get(base + ME, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _get_at_once(base: str, token: str, count: int) -> list[int]:
    async def ask() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            headers = {"Authorization": f"Bearer {token}"}
            answers = await asyncio.gather(*(client.get(base + ME, headers=headers) for _ in range(count)))
        return [answer.status_code for answer in answers]

    return asyncio.run(ask())


def _push_report(base: str, token: str, street: Street, device_id: str, seq: int) -> httpx.Response:
    mutation = Mutation.from_dict(
        {
            "id": str(uuid.uuid4()),
            "seq": seq,
            "name": "report",
            "case_id": str(uuid.uuid4()),
            "occurred_at": "2026-12-01T09:00:00+08:00",
            "args": {"category": CATEGORY, "road_id": street.roads[0], "description": "井盖缺失"},
        }
    )
    body = dumps(PushRequest(PROTOCOL_VERSION, device_id, (mutation,)))
    return httpx.post(
        base + PUSH_PATH,
        content=body,
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
        timeout=30,
    )


def test_while_postgresql_is_down_requests_are_told_to_try_again_and_served_once_it_is_back(
    tmp_path: Path,
) -> None:
    with own_cluster() as cluster, ServerProcess(cluster.url, tmp_path) as server:
        handle, street = setup_street(server)
        handle.close()
        token = street.apis["chief"].token or ""
        device = str(uuid.uuid4())
        # several requests at once, so the server holds several connections when the database goes
        assert _get_at_once(server.base_url, token, 8) == [200] * 8
        assert _push_report(server.base_url, token, street, device, 1).json()["results"][0]["status"] == (
            "applied"
        )

        cluster.crash()
        started = time.monotonic()
        down = _get(server.base_url, token)
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "unavailable"
        assert time.monotonic() - started < 15  # told within the connect timeout, not left hanging
        refused = _push_report(server.base_url, token, street, device, 2)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "unavailable"

        cluster.restart()
        back = _get(server.base_url, token)  # the first request after the restart is served
        assert back.status_code == 200, back.text
        assert back.json()["username"] == street.users["chief"]["username"]
        again = _push_report(server.base_url, token, street, device, 2)
        assert again.status_code == 200, again.text
        assert again.json()["results"][0]["status"] == "applied"
        log = (tmp_path / f"server-{server.port}.log").read_text()
        assert "Traceback" not in log, log[-3000:]
