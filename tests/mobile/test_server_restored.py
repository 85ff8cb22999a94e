"""The server restored from last night's backup, seen from the phones, against a real server process.

What the server acknowledged after the backup is gone from it (the photos uploaded since too), and
its street counter is back behind the phones' cursors. Other phones then push past it, so the
cursors no longer even look ahead: events numbered again from there would be skipped. Each phone's
next pull is answered ``bad_cursor`` (the cursor names an event the server no longer holds there);
the phone starts over and sends again what the server had acknowledged, with the photos it lost.
Nothing a road chief filed is lost or doubled, and every phone ends with the server's view.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from engine import Rejection, State, Trigger
from mobile import SyncClient, SyncReport, record_action
from shared import PROTOCOL_VERSION, PULL_PATH
from tests.server.world import Street

from .server_process import Launcher
from .test_e2e_sync import file_reports, phone, server_api


def copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy, whatever the WAL holds."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def syncer(base: str):
    def sync(ctx) -> SyncReport:
        return SyncClient(base, ctx.credentials.token).sync_once(ctx.store)

    return sync


def test_phones_notice_a_restored_server_and_send_again_what_it_lost(
    launcher: Launcher, street: Street, tmp_path: Path
) -> None:
    sync = syncer(launcher.base)
    database = Path(launcher.url.removeprefix("sqlite:///"))
    backup = tmp_path / "backup.db"
    chief = phone(tmp_path / "chief", launcher, street, "chief")
    station = phone(tmp_path / "station", launcher, street, "station")
    before, before_photos = file_reports(chief, street, 3, seed=21)
    assert sync(chief).acknowledged == 3
    sync(station)

    photos = launcher.workdir / "photos"
    launcher.stop()  # last night's backup: the database and the photo directory
    copy_database(database, backup)
    shutil.copytree(photos, tmp_path / "photos-backup")
    launcher.start()

    after, after_photos = file_reports(chief, street, 4, seed=22)  # acknowledged today, lost
    assert sync(chief).acknowledged == 4
    sync(station)
    cancelled = record_action(
        station.store, station.profile, Trigger.CANCEL, before[0], {"reason": "重复上报"}, station.now()
    )
    assert not isinstance(cancelled, Rejection)
    assert sync(station).acknowledged == 1

    launcher.stop()  # the disk fails; the backup is restored
    copy_database(backup, database)
    shutil.rmtree(photos)
    shutil.copytree(tmp_path / "photos-backup", photos)
    launcher.start()
    # a phone that signs in after the restore pushes past the counter the others had read up to
    other = phone(tmp_path / "chief2", launcher, street, "chief2")
    _, other_photos = file_reports(other, street, 12, seed=23)
    assert sync(other).acknowledged == 12

    uploaded = {}
    for name, ctx in (("chief", chief), ("station", station)):
        report = sync(ctx)
        assert report.started_over
        assert report.pending == 0 and report.refused == 0
        assert {item.status for item in ctx.store.outbox()} == {"acknowledged"}
        uploaded[name] = report.photos_uploaded
    # today's photos went with the restored photo directory; the chief's phone still held them (a
    # photo is named by its bytes: some plain test pictures come out as one, or as one of the others)
    lost = set(after_photos.values()) - set(before_photos.values()) - set(other_photos.values())
    assert lost and uploaded == {"chief": len(lost), "station": 0}
    assert not sync(chief).started_over  # once is enough: its cursor is good again

    with server_api(launcher, chief) as api:
        for case_id in [*before, *after]:
            body = api.get(f"/api/v1/cases/{case_id}").json()
            assert Counter(event["name"] for event in body["events"])["report"] == 1, case_id
        for sha in after_photos.values():
            assert api.head(f"/api/v1/photos/{sha}").status_code == 200
        cancelled_case = api.get(f"/api/v1/cases/{before[0]}").json()["record"]
        assert cancelled_case["state"] == State.CANCELLED.value
        # every phone sees what the server holds, the restored server's own new events included
        for ctx in (chief, station, other):
            sync(ctx)
            for case_id in [*before, *after]:
                record = api.get(f"/api/v1/cases/{case_id}").json()["record"]
                seen = ctx.store.view_record(case_id)
                assert seen is not None, (ctx, case_id)
                assert (seen.state.value, seen.version) == (record["state"], record["version"])
            assert ctx.store.event_count() == len(api_events(api))
    for ctx in (chief, station, other):
        ctx.close()


def api_events(api: httpx.Client) -> list[dict[str, Any]]:
    """Every event of the street, through the pull (as a fresh phone would read them)."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = {"protocol_version": PROTOCOL_VERSION, "device_id": str(uuid.uuid4()), "cursor": cursor}
        page = api.post(PULL_PATH, json=body).json()
        events.extend(page["events"])
        if not page["has_more"]:
            return events
        cursor = page["cursor"]
