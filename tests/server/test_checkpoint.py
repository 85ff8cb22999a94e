"""WAL checkpoints run beside the writer, not inside the commit that fills the log."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from server.checkpoint import FALLBACK_PAGES, WalCheckpointer
from server.db import Database

PATIENCE = 10


def _wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_the_servers_database_leaves_checkpoints_to_a_thread_of_their_own(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'c.db'}", background_checkpoints=True)
    try:
        with db.write() as session:
            assert session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == FALLBACK_PAGES
            session.execute(text("CREATE TABLE rows (n INTEGER PRIMARY KEY, body TEXT)"))
        assert db.checkpointer is not None
        db.start()
        for start in range(0, 3000, 100):
            with db.write() as session:
                session.execute(
                    text("INSERT INTO rows VALUES (:n, :body)"),
                    [{"n": n, "body": "x" * 500} for n in range(start, start + 100)],
                )
        _wait_for(lambda: db.checkpointer is not None and db.checkpointer.checkpoints >= 1, "a checkpoint")
        with db.read() as session:
            assert session.execute(text("SELECT count(*) FROM rows")).scalar() == 3000
    finally:
        db.dispose()
    assert db.checkpointer is not None and db.checkpointer._thread is None  # stopped with the database


def test_a_checkpoint_copies_the_log_into_the_database_after_a_commit(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer copies
    writer.execute("CREATE TABLE rows (n INTEGER PRIMARY KEY, body TEXT)")
    writer.executemany("INSERT INTO rows VALUES (?, ?)", [(n, "x" * 500) for n in range(2000)])
    checkpointer = WalCheckpointer(path, interval=0.01)
    checkpointer.start()
    try:
        checkpointer.nudge()
        _wait_for(lambda: checkpointer.checkpoints >= 1, "a checkpoint")
        # the next commit starts the log over: what it holds is that commit alone
        writer.execute("INSERT INTO rows VALUES (5000, 'y')")
        checkpointer.nudge()
        _wait_for(lambda: checkpointer.checkpoints >= 2, "a second checkpoint")
    finally:
        checkpointer.stop()
    log_pages = (path.with_name("c.db-wal").stat().st_size - 32) // (4096 + 24)
    assert log_pages > 100  # the log reached that far before the first checkpoint...
    writer.execute("INSERT INTO rows VALUES (5001, 'z')")
    with sqlite3.connect(path) as probe:
        _busy, log, _done = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert log < 10  # ...and was started over afterwards
    writer.close()


def test_without_commits_the_checkpointer_does_nothing_and_stops_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").close()
    checkpointer = WalCheckpointer(path, interval=30)
    checkpointer.start()
    time.sleep(0.1)
    started = time.monotonic()
    checkpointer.stop()
    assert time.monotonic() - started < 5  # not held by its interval
    assert checkpointer.checkpoints == 0


def test_a_cli_or_test_database_keeps_sqlites_own_checkpoints(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        assert db.checkpointer is None
        with db.write() as session:
            assert session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
    finally:
        db.dispose()
