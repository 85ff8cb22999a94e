"""SQLite's one writer: pushes queued first come, first served, and committed in groups.

SQLite takes one writer at a time. With a lock per request, 32 phones pushing at once meant 32
threads queueing on that lock in no fair order and trading the GIL among themselves, and each
push paid a commit of its own (bench/load.py: p99 over a second). Here one thread takes the
pushes in arrival order and runs every push waiting at that moment in one transaction, each in
its own savepoint, then commits once and only then answers them all: a push that fails (a 403, a
bug) rolls back its savepoint alone; a commit that fails answers every push of the group with
that error, and none of them was applied. An answer still follows the commit that made it true.

PostgreSQL does not need this: its writers run concurrently and serialize per street on the
street's counter row (``server.sync``).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from .db import Database

__all__ = ["GroupWriter"]

T = TypeVar("T")

_STOP = object()


class _Job:
    __slots__ = ("future", "loop", "work")

    def __init__(self, work: Callable[[Session], Any], loop: asyncio.AbstractEventLoop) -> None:
        self.work = work
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()


class GroupWriter:
    """Runs write jobs on one thread, in arrival order, up to ``max_group`` per transaction."""

    def __init__(self, db: Database, max_group: int = 32) -> None:
        self.db = db
        self.max_group = max_group
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` inside a group's transaction; returns once that transaction committed."""
        self._ensure_started()
        job = _Job(work, asyncio.get_running_loop())
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
        while True:
            first = self._jobs.get()
            if first is _STOP:
                return
            group = [first]
            while len(group) < self.max_group:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    self._jobs.put(_STOP)  # finish this group, then stop
                    break
                group.append(job)
            self._run_group(group)

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
