"""Pruning photos: what no accepted action names goes after the grace period; evidence never does."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from roadchief.cli import app
from server.photo_prune import PhotoPruner, prune_photos, referenced_photos
from server.photos import PhotoStore

from .photo_samples import jpeg, noise, sha
from .proofs import ServerProcess
from .world import CATEGORY, World

OLD = time.time() - 40 * 86_400  # uploaded 40 days ago
GRACE = timedelta(days=30)


def upload(world: World, seed: int) -> str:
    """A photo the road chief's phone uploads; its hash."""
    data = jpeg(noise(48, 32, seed=seed))
    api = world.a.apis["chief"]
    response = api.put(f"/api/v1/photos/{sha(data)}", content=data, headers={"content-type": "image/jpeg"})
    assert response.status_code in (200, 201), response.text
    return sha(data)


def age(store: PhotoStore, *hashes: str) -> None:
    for digest in hashes:
        os.utime(store.path(digest), (OLD, OLD))


def test_photos_no_accepted_action_names_go_after_the_grace_period(world: World) -> None:
    a = world.a
    store = PhotoStore(world.server.workdir / "photos")
    evidence = upload(world, seed=101)  # its report is accepted
    refused = upload(world, seed=102)  # its report is refused: named by nothing stored
    abandoned = upload(world, seed=103)  # never sent with any action
    fresh = upload(world, seed=104)  # not named either, but uploaded just now
    a.report(photos=[evidence])
    answer = a.phone("chief").do(
        "report",
        str(uuid.uuid4()),
        category=CATEGORY,
        road_id="no-such-road",
        description="占道",
        photos=[refused],
    )
    assert answer["status"] == "rejected"
    age(store, evidence, refused, abandoned)

    db = world.server.database()
    try:
        assert evidence in referenced_photos(db) and refused not in referenced_photos(db)
        counted = prune_photos(db, store, older_than=GRACE, dry_run=True)
        assert all(store.has(d) for d in (evidence, refused, abandoned, fresh))  # a dry run deletes nothing
        pruned = prune_photos(db, store, older_than=GRACE)
    finally:
        db.dispose()
    assert pruned.removed == counted.removed >= 2
    assert pruned.freed_bytes == counted.freed_bytes > 0
    assert store.has(evidence) and store.has(fresh)
    assert not store.has(refused) and not store.has(abandoned)
    assert not list(store.root.glob(f"*/*/{refused}.*"))  # its sidecar went too
    # the case still shows its photo
    chief = a.apis["chief"]
    assert chief.get(f"/api/v1/photos/{evidence}").status_code == 200


def test_a_pruned_photo_is_uploaded_again_when_its_action_comes_late(world: World) -> None:
    """A phone that uploaded, went offline before its push, and came back after the prune: the push
    is answered retry (photo_missing), the phone uploads again, and the push then goes through."""
    a = world.a
    store = PhotoStore(world.server.workdir / "photos")
    late = upload(world, seed=105)
    age(store, late)
    db = world.server.database()
    try:
        prune_photos(db, store, older_than=GRACE)
    finally:
        db.dispose()
    assert not store.has(late)
    phone = a.phone("chief")
    report = phone.mutation(
        "report", str(uuid.uuid4()), category=CATEGORY, road_id=a.roads[0], description="占道", photos=[late]
    )
    (first,) = phone.push(report)
    assert first["status"] == "retry" and first["code"] == "photo_missing"
    upload(world, seed=105)
    (second,) = phone.push(report)
    assert second["status"] == "applied"


def test_a_push_naming_a_photo_while_it_is_being_deleted_is_answered_retry(world: World) -> None:
    """The prune deletes holding every street's counter row (SQLite: the write lock), which each
    push takes before it checks its photos: a push that names a photo in the middle of the
    deletion waits, then finds it gone and is answered retry; it is never applied without it."""
    a = world.a
    store = PhotoStore(world.server.workdir / "photos")
    photo = upload(world, seed=106)
    age(store, photo)
    phone = a.phone("chief")
    report = phone.mutation(
        "report", str(uuid.uuid4()), category=CATEGORY, road_id=a.roads[0], description="占道", photos=[photo]
    )
    answers: list[dict[str, object]] = []
    pushing: list[threading.Thread] = []
    remove = store.remove

    def remove_while_a_push_names_it(digest: str) -> int:
        if not pushing:  # the push goes out after the second read, before the file is gone
            pushing.append(threading.Thread(target=lambda: answers.extend(phone.push(report))))
            pushing[0].start()
            time.sleep(1.0)  # long enough for the push to commit, were it not held back
        return remove(digest)

    store.remove = remove_while_a_push_names_it  # type: ignore[method-assign]
    db = world.server.database()
    try:
        pruned = prune_photos(db, store, older_than=GRACE)
    finally:
        db.dispose()
    pushing[0].join(timeout=60)
    assert pruned.removed >= 1 and not store.has(photo)
    (answer,) = answers
    assert answer["status"] == "retry" and answer["code"] == "photo_missing"


def test_a_photo_named_by_a_push_after_the_prune_chose_it_is_kept(world: World) -> None:
    """The prune reads every event, chooses, then reads again what pushes added meanwhile (each
    street's events above the counter it first saw) before it deletes: that push's photo stays."""
    a = world.a
    store = PhotoStore(world.server.workdir / "photos")
    photo = upload(world, seed=107)
    age(store, photo)
    stored = store.stored
    named_meanwhile: list[str] = []

    def stored_while_a_push_names_it() -> Iterator[tuple[str, Path]]:
        named_meanwhile.append(a.report(photos=[photo]))  # applied before anything is deleted
        yield from stored()

    store.stored = stored_while_a_push_names_it  # type: ignore[method-assign]
    db = world.server.database()
    try:
        pruned = prune_photos(db, store, older_than=GRACE)
    finally:
        db.dispose()
    assert named_meanwhile and store.has(photo)
    assert pruned.removed == 0


def test_the_server_prunes_on_its_own_schedule(tmp_path: Path) -> None:
    """Every ``ROADCHIEF_PHOTO_PRUNE_EVERY_HOURS`` the server itself deletes what no action names."""
    with ServerProcess(
        f"sqlite:///{tmp_path / 'pruned.db'}", tmp_path, ROADCHIEF_PHOTO_PRUNE_EVERY_HOURS="0.0003"
    ):
        store = PhotoStore(tmp_path / "photos")
        stray, fresh = jpeg(noise(40, 30, seed=11)), jpeg(noise(40, 30, seed=12))
        store.put(sha(stray), stray)
        store.put(sha(fresh), fresh)
        age(store, sha(stray))
        deadline = time.monotonic() + 30
        while store.has(sha(stray)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not store.has(sha(stray))  # about a second after it was there
        assert store.has(sha(fresh))  # within the grace period


def test_one_server_process_prunes_at_a_time(world: World) -> None:
    """With several server processes on one PostgreSQL database, a prune that finds another
    under way skips its turn (an advisory lock); on SQLite there is only one process to ask."""
    store = PhotoStore(world.server.workdir / "photos")
    stray = upload(world, seed=108)
    age(store, stray)
    db = world.server.database()
    try:
        pruner = PhotoPruner(db, store, older_than=GRACE, every=3600)
        if not db.sqlite:
            with db.write_engine.connect() as other_process:
                other_process.exec_driver_sql("SELECT pg_advisory_lock(7270102)")
                assert pruner.run_once() is None  # another process is pruning
                assert store.has(stray) and pruner.runs == 0
                other_process.exec_driver_sql("SELECT pg_advisory_unlock(7270102)")
        result = pruner.run_once()
    finally:
        db.dispose()
    assert result is not None and result.removed >= 1 and pruner.runs == 1
    assert not store.has(stray)


def test_the_office_prunes_from_the_command_line(tmp_path: Path) -> None:
    """``roadchief prune-photos`` on the demo street: its evidence stays, an old stray goes."""
    cheap = {"ROADCHIEF_PASSWORD_TIME_COST": "1", "ROADCHIEF_PASSWORD_MEMORY_KIB": "1024"}
    runner = CliRunner()
    seeded = runner.invoke(app, ["demo", "--dir", str(tmp_path), "--no-serve"], env=cheap)
    assert seeded.exit_code == 0, seeded.output
    store = PhotoStore(tmp_path / "photos")
    evidence = [digest for digest, _ in store.stored()]
    assert evidence
    stray = jpeg(noise(40, 30, seed=9))
    store.put(sha(stray), stray)
    age(store, sha(stray), *evidence)
    where = [
        "--database-url",
        f"sqlite:///{tmp_path / 'roadchief.db'}",
        "--photo-dir",
        str(tmp_path / "photos"),
    ]

    dry = runner.invoke(app, ["prune-photos", *where, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"{len(evidence) + 1} photos stored: {len(evidence)} named by cases" in dry.output
    assert "would delete 1" in dry.output and store.has(sha(stray))
    done = runner.invoke(app, ["prune-photos", *where])
    assert done.exit_code == 0, done.output
    assert "deleted 1" in done.output
    assert not store.has(sha(stray)) and all(store.has(digest) for digest in evidence)
