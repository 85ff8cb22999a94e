"""SQLite's one writer: pushes queued first come, first served, and committed in groups.

SQLite takes one writer at a time. With a lock per request, 32 phones pushing at once meant 32
threads queueing on that lock in no fair order and trading the GIL among themselves, and each
push paid a commit of its own (bench/load.py: p99 over a second). Here one thread takes the
pushes in arrival order and runs every push waiting at that moment in one transaction, each in
its own savepoint, then commits once and only then answers them all: a push that fails (a 403, a
bug) rolls back its savepoint alone; a commit that fails answers every push of the group with
that error, and none of them was applied. An answer still follows the commit that made it true.

On PostgreSQL the same writer runs one street's pushes per group: its transactions lock the
street's counter row (``server.sync``), so 32 pushes of one street in 32 concurrent transactions
only queued on that row lock, each paying its own commit (bench/load.py: 49 pushes/s, p99 2.8 s).
Several server processes still write concurrently, ordered per street by that row lock.

A group's pushes share what their transaction has read (``server.db.transaction_memo``): the
street's counter, locked by the group's first push of that street, its rules, the roads named. A
push that fails takes back what it added there along with its savepoint. On PostgreSQL a small
push runs in pipeline mode (``Driver.pipeline``): its statements go out without waiting on each
answer, since round trips, not the server's work, were most of its time.

Nothing a push does may take the writer down with it, since every later push would wait on a
thread that is gone: a push (or a commit) that raises even a ``BaseException`` is answered with a
``WriteInterrupted`` and the thread carries on. Once the writer has stopped for good (the server
is shutting down, or its own loop broke), every push still waiting and every later one is answered
at once with ``WriterStopped``.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, TypeVar

from sqlalchemy import Connection

from .db import Database, transaction_memo
from .driver import Driver
from .errors import ApiError

__all__ = ["GroupWriter", "WriteInterrupted", "WriterStopped"]

log = logging.getLogger("server")

T = TypeVar("T")

_STOP = object()
_PUSH_INTERRUPTED = "the push raised {}; it alone was rolled back"
_COMMIT_INTERRUPTED = "the group's commit raised {}; none of its pushes was applied"


class WriteInterrupted(RuntimeError):
    """A push, or its group's commit, raised something that is not an ``Exception``."""


class WriterStopped(ApiError):
    """The writer takes no more pushes.

    A 503 rather than a 500: nothing is wrong with the push, and the phone keeps it in its outbox
    and sends it again once the server is back.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(503, "unavailable", reason)


class _Job:
    __slots__ = ("future", "key", "loop", "pipelined", "work")

    def __init__(
        self, work: Callable[[Connection], Any], key: str, loop: asyncio.AbstractEventLoop, pipelined: bool
    ) -> None:
        self.work = work
        self.key = key
        self.loop = loop
        self.pipelined = pipelined
        self.future: asyncio.Future[Any] = loop.create_future()


class GroupWriter:
    """Runs write jobs on one thread, in arrival order, up to ``max_group`` per transaction.

    With ``one_key_per_group`` (PostgreSQL) a group holds jobs of one key (the street) only: each
    transaction then locks one street's counter row, first, as every push does, so two server
    processes' groups wait for each other instead of deadlocking.
    """

    def __init__(self, db: Database, max_group: int = 32, *, one_key_per_group: bool = False) -> None:
        self.db = db
        self.max_group = max_group
        self.one_key_per_group = one_key_per_group
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # guards _thread and _stopped: a job is queued only while the writer still takes jobs, so
        # whoever stops it finds every job it will never run in the queue
        self._lock = threading.Lock()
        self._stopped: str | None = None  # why the writer takes no more jobs

    async def run(self, work: Callable[[Connection], T], key: str = "", *, pipelined: bool = False) -> T:
        """``work(connection)`` inside a group's transaction (``Database.write_connection``); returns
        once that transaction committed.

        ``pipelined``: on PostgreSQL, send the job's statements in pipeline mode (``Driver.pipeline``):
        for small jobs, whose time is mostly round trips; a large one would lose ``COPY``.
        Raises ``WriterStopped`` at once if the writer has stopped for good.
        """
        job = _Job(work, key, asyncio.get_running_loop(), pipelined)
        with self._lock:
            if self._stopped is not None:
                raise WriterStopped(self._stopped)
            if self._thread is None:
                thread = threading.Thread(target=self._serve, name="roadchief-writer", daemon=True)
                thread.start()
                self._thread = thread
            self._jobs.put(job)
        return await job.future  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Run the jobs already queued, then take no more: later ``run`` calls fail at once."""
        with self._lock:
            if self._stopped is None:
                self._stopped = "the server is shutting down"
            thread = self._thread
            if thread is not None:
                self._jobs.put(_STOP)
        # joined outside the lock: a ``run`` on the event loop must not wait for the queue to drain
        if thread is not None:
            thread.join(timeout=30)

    def _serve(self) -> None:
        pending: deque[_Job] = deque()  # taken from the queue, not yet run, in arrival order
        group: list[_Job] = []
        try:
            stopping = False
            while True:
                if not pending:
                    if stopping:
                        return
                    job = self._jobs.get()
                    if job is _STOP:
                        return
                    pending.append(job)
                while not stopping:  # whatever else is waiting right now
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is _STOP:
                        stopping = True  # run what was queued before it, then stop
                    else:
                        pending.append(job)
                group = self._take_group(pending)
                self._run_group(group)
                group = []
        except BaseException as exc:  # the writer's own loop broke: nothing would run a push again
            log.critical("the push writer stopped", exc_info=exc)
            with self._lock:
                self._stopped = f"the server's writer stopped after an internal error ({type(exc).__name__})"
        finally:
            self._answer_left_behind([*group, *pending])

    def _answer_left_behind(self, taken: list[_Job]) -> None:
        """Fail every job that will never run: those taken from the queue and those still in it."""
        with self._lock:
            self._stopped = self._stopped or "the server's writer stopped"
            reason = self._stopped
        left: list[_Job] = list(taken)
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not _STOP:
                left.append(job)
        for job in left:
            _settle(job, None, WriterStopped(reason))

    def _take_group(self, pending: deque[_Job]) -> list[_Job]:
        """The oldest job and, behind it, up to ``max_group`` waiting jobs it may share a commit with."""
        first = pending.popleft()
        group = [first]
        if not self.one_key_per_group:
            while pending and len(group) < self.max_group:
                group.append(pending.popleft())
            return group
        others: deque[_Job] = deque()
        while pending and len(group) < self.max_group:
            job = pending.popleft()
            (group if job.key == first.key else others).append(job)
        pending.extendleft(reversed(others))  # the rest keep their places, ahead of later arrivals
        return group

    def _run_group(self, group: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            with self.db.write_connection() as connection:
                driver = Driver(connection)
                for job in group:
                    # plain SQL through the driver: SQLAlchemy's begin_nested() and its commit cost
                    # more than a small push itself (bench/load.py, py-spy); SQLAlchemy never sees
                    # the savepoint, and nothing a push does goes through the ORM
                    memo = transaction_memo(connection)
                    remembered = dict(memo)
                    try:
                        # a small push's statements go out without waiting on each (PostgreSQL)
                        with driver.pipeline() if job.pipelined else nullcontext():
                            driver.run(_SAVEPOINT)
                            result = job.work(connection)
                            driver.run(_RELEASE)
                    except BaseException as exc:
                        driver.run(_ROLLBACK_TO)  # undo this push alone, and what it taught the memo
                        driver.run(_RELEASE)
                        memo.clear()
                        memo.update(remembered)
                        if not isinstance(exc, Exception):  # not the push's to end the writer
                            exc = _interrupted(exc, _PUSH_INTERRUPTED)
                        outcomes.append((job, None, exc))
                    else:
                        outcomes.append((job, result, None))
        except Exception as exc:  # the commit (or the transaction) failed: nothing of the group stands
            for job in group:
                _settle(job, None, exc)
            return
        except BaseException as exc:
            for job in group:
                _settle(job, None, _interrupted(exc, _COMMIT_INTERRUPTED))
            return
        for job, result, error in outcomes:
            _settle(job, result, error)


_SAVEPOINT = "SAVEPOINT push"
_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT push"  # the savepoint stays open: released after
_RELEASE = "RELEASE SAVEPOINT push"


def _interrupted(cause: BaseException, message: str) -> WriteInterrupted:
    # wrapped: a KeyboardInterrupt or SystemExit set on a request's future would be raised again in
    # the event loop, and take the whole server down instead of answering one request with a 500
    error = WriteInterrupted(message.format(repr(cause)))
    error.__cause__ = cause
    return error


def _settle(job: _Job, result: Any, error: BaseException | None) -> None:
    def deliver() -> None:
        if job.future.done():  # the request went away (client hung up): nothing to tell
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)

    try:
        job.loop.call_soon_threadsafe(deliver)
    except RuntimeError:  # the request's event loop is closed (server shutting down)
        pass
