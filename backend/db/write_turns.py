"""Turns at SQLite's one write lock for the runs' writers of this process.

SQLite lets one connection write at a time. Left to itself, a writer that finds the lock taken
waits inside its connection's thread (the busy timeout), retrying by sleeping, and keeps its
pooled connection all the while. Under load the event loop lags, each write transaction holds the
lock across several trips through the loop, and the waiting writers hold the pool's connections:
readers then wait 30 s for one and get 503, and a writer can lose the lock to newer ones until
its busy timeout says "database is locked" (`make capacity`, 500 streams). Here the runs' writers
(a run's row at its start, its chapter and its end, its status) wait their turn in order on the
event loop, holding no connection, and only the writer whose turn it is talks to SQLite.
PostgreSQL locks rows, not the database: its writers need no turns.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

SessionSource = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class WriteTurns:
    """First come, first served (asyncio.Lock wakes its waiters in order); `taken=False` turns
    every turn into a no-op."""

    def __init__(self, taken: bool) -> None:
        self._lock = asyncio.Lock() if taken else None

    @property
    def taken(self) -> bool:
        """Whether writers wait for their turn here at all."""
        return self._lock is not None

    @property
    def busy(self) -> bool:
        """Whether a writer would wait for its turn now."""
        return self._lock is not None and self._lock.locked()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._lock is None:
            yield
            return
        async with self._lock:
            yield

    @asynccontextmanager
    async def transaction(self, sessions: SessionSource) -> AsyncIterator[AsyncSession]:
        """A session from `sessions` in one transaction, opened once it is this writer's turn."""
        async with self.turn(), sessions() as session, session.begin():
            yield session


def write_turns_for(engine: AsyncEngine) -> WriteTurns:
    """Turns for a SQLite database; none for a server database."""
    return WriteTurns(taken=engine.dialect.name == "sqlite")


NO_TURNS = WriteTurns(taken=False)
