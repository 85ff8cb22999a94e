"""The driver's reads on PostgreSQL: a push's reads by id are planned for their own ids every time,
never kept as a prepared statement whose generic plan was chosen while the table was empty."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from server.driver import Driver

pytestmark = pytest.mark.postgres

RUNS = 12  # psycopg prepares a statement on its fifth run


def _prepared(connection: object) -> list[str]:
    rows = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements").all()  # type: ignore[attr-defined]
    return [row[0] for row in rows]


def test_reads_by_id_are_never_prepared_so_each_is_planned_for_its_ids(pg_database: str) -> None:
    engine = create_engine(pg_database)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE answers (id text PRIMARY KEY, status text)"))
            driver = Driver(connection)
            by_id = "SELECT id, status FROM answers WHERE id IN (?, ?)"
            for run in range(RUNS):
                driver.read_all([(by_id, [f"a{run}", f"b{run}"])], prepare=False)
                driver.rows(by_id, [f"c{run}", f"d{run}"], prepare=False)
            assert not [s for s in _prepared(connection) if "FROM answers" in s]

            # the default, for contrast: psycopg prepares it, and PostgreSQL may keep a generic plan
            for run in range(RUNS):
                driver.read_all([(by_id, [f"a{run}", f"b{run}"])])
            assert [s for s in _prepared(connection) if "FROM answers" in s]
    finally:
        engine.dispose()
