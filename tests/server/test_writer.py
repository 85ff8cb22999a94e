"""SQLite's one writer: pushes queued in arrival order, committed together, each answered after commit."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, text

from server.db import Database, transaction_memo
from server.writer import GroupWriter, WriteInterrupted, WriterStopped

# long enough for any answer here; a writer thread that died would otherwise leave the test hanging
PATIENCE = 10


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with database.write() as session:
        session.execute(text("CREATE TABLE parents (id INTEGER PRIMARY KEY)"))
        session.execute(
            text(
                "CREATE TABLE rows (n INTEGER PRIMARY KEY, parent INTEGER "
                "REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
        session.execute(text("INSERT INTO parents VALUES (1)"))
    return database


def stored(db: Database) -> list[int]:
    with db.read() as session:
        return [n for (n,) in session.execute(text("SELECT n FROM rows ORDER BY n"))]


def insert(n: int, parent: int = 1):  # type: ignore[no-untyped-def]
    def work(connection: Connection) -> int:
        connection.execute(text("INSERT INTO rows VALUES (:n, :p)"), {"n": n, "p": parent})
        return n

    return work


async def held_group(writer: GroupWriter, jobs: list) -> list:  # type: ignore[type-arg]
    """Run ``jobs`` as one group: the writer is held busy (on a group of its own) until all of
    them are queued behind it; answers for the holding job and then for each of ``jobs``."""
    gate = threading.Event()

    def hold(_connection: Connection) -> str:
        gate.wait(10)
        return "held"

    first = asyncio.ensure_future(writer.run(hold))
    await asyncio.sleep(0.05)  # the writer has taken the holding job and waits in it
    rest = [asyncio.ensure_future(writer.run(job)) for job in jobs]
    await asyncio.sleep(0.05)
    gate.set()
    return await asyncio.wait_for(asyncio.gather(first, *rest, return_exceptions=True), PATIENCE)


def answer(writer: GroupWriter, work) -> object:  # type: ignore[no-untyped-def]
    """One push on its own, answered (or refused) within ``PATIENCE``."""

    async def main() -> object:
        return await asyncio.wait_for(writer.run(work), PATIENCE)

    return asyncio.run(main())


def interrupted(n: int, error: BaseException):  # type: ignore[no-untyped-def]
    """A push that writes row ``n`` and then raises ``error``, which is no ``Exception``."""

    def work(connection: Connection) -> int:
        connection.execute(text("INSERT INTO rows VALUES (:n, 1)"), {"n": n})
        raise error

    return work


def interrupting_the_commit(error: BaseException):  # type: ignore[no-untyped-def]
    """A push that succeeds, but whose group's commit then raises ``error``."""

    def work(connection: Connection) -> str:
        def interrupt(_connection: Connection) -> None:
            raise error

        event.listen(connection, "commit", interrupt, once=True)  # this group's commit only
        return "done"

    return work


def test_many_pushes_at_once_are_all_committed_in_arrival_order(db: Database) -> None:
    writer = GroupWriter(db, max_group=8)

    async def main() -> list[int]:
        return await asyncio.gather(*(writer.run(insert(n)) for n in range(1, 51)))

    try:
        assert asyncio.run(main()) == list(range(1, 51))
    finally:
        writer.stop()
    assert stored(db) == list(range(1, 51))


def test_a_failing_push_undoes_only_itself(db: Database) -> None:
    writer = GroupWriter(db)

    def broken(connection: Connection) -> int:
        connection.execute(text("INSERT INTO rows VALUES (99, 1)"))
        raise ValueError("this push is refused")

    try:
        answers = asyncio.run(held_group(writer, [insert(1), broken, insert(2)]))
    finally:
        writer.stop()
    assert answers[0] == "held"
    assert answers[1] == 1 and answers[3] == 2
    assert isinstance(answers[2], ValueError)
    assert stored(db) == [1, 2]  # 99 was rolled back with its savepoint


def test_a_failing_push_takes_back_what_it_taught_the_transaction(db: Database) -> None:
    """The group's pushes share what their transaction has read (``transaction_memo``: the street's
    counter, for one); a push rolled back must not leave the next one a value it wrote."""
    writer = GroupWriter(db)

    def count(step: int, fail: bool = False):  # type: ignore[no-untyped-def]
        def work(connection: Connection) -> int:
            memo = transaction_memo(connection)
            memo["counter"] = memo.get("counter", 0) + step
            if fail:
                raise ValueError("refused after it counted")
            return int(memo["counter"])

        return work

    try:
        answers = asyncio.run(held_group(writer, [count(1), count(10, fail=True), count(100)]))
        # the next transaction starts from nothing, though SQLite's writer keeps its connection
        later = answer(writer, count(1000))
    finally:
        writer.stop()
    assert answers[1] == 1
    assert isinstance(answers[2], ValueError)
    assert answers[3] == 101  # not 111: the failed push's 10 went with its savepoint
    assert later == 1000


def test_the_writer_keeps_one_connection_until_a_transaction_fails(db: Database) -> None:
    writer = GroupWriter(db)

    def the_connection(connection: Connection) -> Connection:
        return connection

    try:
        first, second = answer(writer, the_connection), answer(writer, the_connection)
        assert first is second  # no checkout from the pool per transaction
        answers = asyncio.run(held_group(writer, [insert(3, parent=7)]))  # its COMMIT fails
        assert isinstance(answers[1], Exception)
        assert first.closed  # given back to the pool, which rolls it back
        assert answer(writer, the_connection) is not first
        assert answer(writer, insert(4)) == 4
    finally:
        writer.stop()
    assert stored(db) == [4]


def test_a_failed_commit_fails_the_whole_group_and_applies_none_of_it(db: Database) -> None:
    writer = GroupWriter(db)
    try:
        # row 3 names a parent that does not exist: the deferred check fails the COMMIT itself
        answers = asyncio.run(held_group(writer, [insert(1), insert(3, parent=7), insert(2)]))
        assert answers[0] == "held"  # the holding job was a group of its own
        assert all(isinstance(answer, Exception) for answer in answers[1:])
        assert stored(db) == []
        # the writer carries on with the next pushes
        assert asyncio.run(writer.run(insert(4))) == 4
    finally:
        writer.stop()
    assert stored(db) == [4]


def test_on_postgresql_a_group_holds_one_streets_pushes(db: Database) -> None:
    # one street per transaction: street B's failed commit cannot touch street A's pushes, which
    # run together although B's push arrived between them
    writer = GroupWriter(db, one_key_per_group=True)

    async def main() -> list:  # type: ignore[type-arg]
        gate = threading.Event()
        first = asyncio.ensure_future(writer.run(lambda _s: gate.wait(10), key="A"))
        await asyncio.sleep(0.05)
        jobs = [("A", insert(1)), ("B", insert(3, parent=7)), ("A", insert(2)), ("B", insert(4))]
        rest = [asyncio.ensure_future(writer.run(work, key=key)) for key, work in jobs]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    try:
        answers = asyncio.run(main())
    finally:
        writer.stop()
    assert answers[1] == 1 and answers[3] == 2  # street A's group committed
    assert isinstance(answers[2], Exception) and isinstance(answers[4], Exception)  # B's failed together
    assert stored(db) == [1, 2]


def test_a_push_raising_a_base_exception_fails_alone_and_the_writer_carries_on(db: Database) -> None:
    writer = GroupWriter(db)
    try:
        group = [insert(1), interrupted(99, KeyboardInterrupt()), insert(2)]
        answers = asyncio.run(held_group(writer, group))
        assert answers[1] == 1 and answers[3] == 2
        assert isinstance(answers[2], WriteInterrupted) and "KeyboardInterrupt" in str(answers[2])
        assert isinstance(answers[2].__cause__, KeyboardInterrupt)
        with pytest.raises(WriteInterrupted, match="SystemExit"):
            answer(writer, interrupted(98, SystemExit(3)))
        assert answer(writer, insert(3)) == 3
    finally:
        writer.stop()
    assert stored(db) == [1, 2, 3]  # 99 and 98 went with their savepoints


def test_a_commit_raising_a_base_exception_fails_the_whole_group_and_the_writer_carries_on(
    db: Database,
) -> None:
    writer = GroupWriter(db)
    try:
        group = [insert(1), interrupting_the_commit(KeyboardInterrupt()), insert(2)]
        answers = asyncio.run(held_group(writer, group))
        assert answers[0] == "held"
        assert all(isinstance(answer, WriteInterrupted) for answer in answers[1:])
        assert "none of its pushes was applied" in str(answers[1])
        assert stored(db) == []
        assert answer(writer, insert(4)) == 4
    finally:
        writer.stop()
    assert stored(db) == [4]


def test_a_stopped_writer_answers_what_was_queued_and_refuses_later_pushes_at_once(db: Database) -> None:
    writer = GroupWriter(db)

    async def main() -> tuple[object, object]:
        gate = threading.Event()
        held = asyncio.ensure_future(writer.run(lambda _s: gate.wait(PATIENCE)))
        await asyncio.sleep(0.05)
        queued = asyncio.ensure_future(writer.run(insert(1)))
        await asyncio.sleep(0.05)
        stopping = asyncio.get_running_loop().run_in_executor(None, writer.stop)
        await asyncio.sleep(0.05)  # the server is shutting down: the writer takes nothing new
        with pytest.raises(WriterStopped) as refused:
            await asyncio.wait_for(writer.run(insert(2)), 1)
        gate.set()
        await asyncio.wait_for(stopping, PATIENCE)
        return await asyncio.wait_for(asyncio.gather(held, queued), PATIENCE), refused.value

    (_, first), refused = asyncio.run(main())
    assert first == 1  # queued before the stop: still committed and answered
    assert isinstance(refused, WriterStopped) and refused.status == 503  # the phone keeps it and retries
    with pytest.raises(WriterStopped):
        answer(writer, insert(3))
    assert stored(db) == [1]


def test_a_writer_whose_loop_breaks_refuses_every_waiting_and_later_push_at_once(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    writer = GroupWriter(db)

    def broken_loop(_pending: object) -> list[object]:
        raise SystemExit("a bug in the writer itself")

    async def main() -> list[object]:
        gate = threading.Event()
        held = asyncio.ensure_future(writer.run(lambda _s: gate.wait(PATIENCE)))
        await asyncio.sleep(0.05)
        monkeypatch.setattr(writer, "_take_group", broken_loop)  # the next group is never formed
        waiting = [asyncio.ensure_future(writer.run(insert(n))) for n in (1, 2)]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.wait_for(asyncio.gather(held, *waiting, return_exceptions=True), PATIENCE)

    try:
        held, *waiting = asyncio.run(main())
        assert held is True
        assert all(isinstance(refused, WriterStopped) for refused in waiting)
        with pytest.raises(WriterStopped, match="internal error"):
            answer(writer, insert(3))
    finally:
        writer.stop()
    assert stored(db) == []
    assert "the push writer stopped" in caplog.text


def test_the_writer_keeps_its_savepoint_journals_in_memory_not_in_a_temp_file_per_push(db: Database) -> None:
    with db.write() as session:
        assert session.execute(text("PRAGMA temp_store")).scalar() == 2  # MEMORY
    with db.read() as session:  # readers' big sorts may still spill to disk
        assert session.execute(text("PRAGMA temp_store")).scalar() == 0
