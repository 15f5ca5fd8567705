"""A first-come, first-served queue for a bounded resource, whose waiters learn their place.

Used for the embedded model's loaded copies and for the run slots of a story model host: a
run that has to wait says so in its stream, with its position, instead of hanging silently.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
# Called with the 1-based place in the queue whenever it changes, then with 0 when the wait ends.
ReportPosition = Callable[[int], Awaitable[None]]


@dataclass
class _Waiter(Generic[T]):
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    item: T | None = None
    served: bool = False


class FairQueue(Generic[T]):
    def __init__(self, capacity: int, create: Callable[[], Awaitable[T]]) -> None:
        self.capacity = capacity
        self._create = create
        self._idle: list[T] = []
        self._created = 0
        self._waiters: list[_Waiter[T]] = []

    @property
    def queued(self) -> int:
        return len(self._waiters)

    async def _new_item(self) -> T:
        self._created += 1
        try:
            return await self._create()
        except BaseException:
            self._created -= 1
            raise

    async def prepare(self) -> None:
        """Create one item ahead of the first borrower (loading a model, say)."""
        if self._created == 0:
            self.release(await self._new_item())

    async def try_take(self) -> T | None:
        """An item at once when one is free and nobody waits; None when the caller would queue.
        Give it back with `release`."""
        if self._idle and not self._waiters:
            return self._idle.pop()
        if self._created < self.capacity and not self._waiters:
            return await self._new_item()
        return None

    async def take(self, report: ReportPosition) -> T:
        """An item, waiting in order for one when none is free (`report` hears the place).
        Give it back with `release`."""
        item = await self.try_take()
        if item is not None:
            return item
        waiter: _Waiter[T] = _Waiter()
        self._waiters.append(waiter)
        reported = 0
        try:
            while not waiter.served:
                position = self._waiters.index(waiter) + 1
                if position != reported:
                    await report(position)
                    reported = position
                await waiter.woken.wait()
                waiter.woken.clear()
            await report(0)
            return waiter.item  # type: ignore[return-value]
        except BaseException:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                for other in self._waiters:
                    other.woken.set()
            elif waiter.served:
                self.release(waiter.item)  # type: ignore[arg-type]
            raise

    def release(self, item: T) -> None:
        if self._waiters:
            waiter = self._waiters.pop(0)
            waiter.item, waiter.served = item, True
            for other in (waiter, *self._waiters):
                other.woken.set()
        else:
            self._idle.append(item)

    @asynccontextmanager
    async def lend(self, report: ReportPosition) -> AsyncIterator[T]:
        item = await self.take(report)
        try:
            yield item
        finally:
            self.release(item)

    def clear(self) -> None:
        self._idle.clear()
