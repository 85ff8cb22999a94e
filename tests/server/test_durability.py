"""An acknowledged push is on disk: SQLite syncs every commit of the server's writer, and a
PostgreSQL that would answer a commit before it is on disk is named in the server's log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from server.db import Database

from .conftest import start_server, stop_server


def _set_synchronous_commit(url: str, value: str) -> None:
    name = make_url(url).database
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = {value}'))
    engine.dispose()


def _fsync_off(url: str) -> bool:
    engine = create_engine(url)
    with engine.connect() as connection:
        off = connection.execute(text("SHOW fsync")).scalar() == "off"
    engine.dispose()
    return off


def test_every_sqlite_write_is_synced_to_disk_before_it_is_answered(tmp_path: Path) -> None:
    # FULL syncs the log at each commit; NORMAL would sync it only at checkpoints, and a power cut
    # could then take back pushes already acknowledged
    db = Database(f"sqlite:///{tmp_path / 'street.db'}")
    try:
        with db.write_connection() as connection:  # the push writer's
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        with db.write() as session:  # admin, seeding
            assert session.execute(text("PRAGMA synchronous")).scalar() == 2
        with db.read() as session:  # commits nothing
            assert session.execute(text("PRAGMA synchronous")).scalar() == 1
        assert db.durability_warnings() == []  # nothing left to whoever runs it
    finally:
        db.dispose()


@pytest.mark.postgres
def test_postgresql_answering_commits_before_they_are_on_disk_is_warned_of(pg_database: str) -> None:
    _set_synchronous_commit(pg_database, "off")
    db = Database(pg_database)
    try:
        warnings = db.durability_warnings()
    finally:
        db.dispose()
    assert any("synchronous_commit = off" in warning for warning in warnings)
    # the throwaway cluster may run without fsync (scripts/pg-throwaway): named if so, never if not
    assert any("fsync = off" in warning for warning in warnings) == _fsync_off(pg_database)

    _set_synchronous_commit(pg_database, "on")
    db = Database(pg_database)
    try:
        assert not any("synchronous_commit" in warning for warning in db.durability_warnings())
    finally:
        db.dispose()


@pytest.mark.postgres
def test_a_server_on_a_postgresql_without_synchronous_commit_says_so_when_it_starts(
    pg_database: str, tmp_path: Path
) -> None:
    _set_synchronous_commit(pg_database, "off")
    process, _base = start_server(pg_database, tmp_path)
    stop_server(process)
    logged = "\n".join(path.read_text() for path in tmp_path.glob("server-*.log"))
    assert "synchronous_commit = off" in logged
