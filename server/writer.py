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
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from .db import Database

__all__ = ["GroupWriter"]

T = TypeVar("T")

_STOP = object()


class _Job:
    __slots__ = ("future", "key", "loop", "work")

    def __init__(self, work: Callable[[Session], Any], key: str, loop: asyncio.AbstractEventLoop) -> None:
        self.work = work
        self.key = key
        self.loop = loop
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
        self._start_lock = threading.Lock()

    async def run(self, work: Callable[[Session], T], key: str = "") -> T:
        """``work(session)`` inside a group's transaction; returns once that transaction committed."""
        self._ensure_started()
        job = _Job(work, key, asyncio.get_running_loop())
        self._jobs.put(job)
        return await job.future  # type: ignore[no-any-return]

    def stop(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                self._jobs.put(_STOP)
                self._thread.join(timeout=30)
                self._thread = None

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="roadchief-writer", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        pending: deque[_Job] = deque()  # taken from the queue, not yet run, in arrival order
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
            self._run_group(self._take_group(pending))

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
            with self.db.write() as session:
                for job in group:
                    savepoint = session.begin_nested()
                    try:
                        result = job.work(session)
                    except Exception as exc:  # this push's own failure: undo it alone
                        savepoint.rollback()
                        outcomes.append((job, None, exc))
                    else:
                        savepoint.commit()
                        outcomes.append((job, result, None))
        except Exception as exc:  # the commit (or the transaction) failed: nothing of the group stands
            for job in group:
                _settle(job, None, exc)
            return
        for job, result, error in outcomes:
            _settle(job, result, error)


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
