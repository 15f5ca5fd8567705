"""Per-run, append-only event logs with sequence numbers; subscribers follow from any position.

`RunEventLog` is the interface; `InMemoryEventLog` serves one process. A Redis Streams
implementation (several replicas) fills the same interface.

Each event is encoded once, when it is logged (or read from Redis), to the bytes of its SSE
frame; every subscriber writes those same bytes. A subscriber that finds several events waiting
gets them as one batch (`follow_batches`), which the stream sends in one write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from backend.runs.events import TERMINAL_EVENT_TYPES, WireEvent, event_json

# sse-starlette's line separator: the frames are byte for byte what it would write.
SSE_SEPARATOR = "\r\n"


def sse_frame(seq: int, event_type: str, data: str) -> bytes:
    """One SSE frame: `id:` the sequence number, `event:` the type, `data:` the JSON (which
    never holds a line break: JSON escapes them)."""
    sep = SSE_SEPARATOR
    return f"id: {seq}{sep}event: {event_type}{sep}data: {data}{sep}{sep}".encode()


_Item = TypeVar("_Item")


async def flattened(batches: AsyncIterator[Sequence[_Item]]) -> AsyncIterator[_Item]:
    """Each item of each batch, in order: `follow` as the flat view of `follow_batches`."""
    async with aclosing(batches) as stream:  # type: ignore[type-var]
        async for batch in stream:
            for item in batch:
                yield item


class UnknownRunLog(LookupError):
    """No log is kept for this run: it never existed here, or its retention time has passed."""


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    seq: int
    type: str
    data: str  # the JSON payload, serialised once and shared by every subscriber
    frame: bytes = field(init=False, repr=False, compare=False)  # its SSE frame, also once

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame", sse_frame(self.seq, self.type, self.data))

    @property
    def is_terminal(self) -> bool:
        return self.type in TERMINAL_EVENT_TYPES


class RunEventLog(Protocol):
    async def create(self, run_id: str) -> None: ...

    async def append(self, run_id: str, event: WireEvent) -> LoggedEvent:
        """Add the next event; a terminal event (`complete`/`error`) closes the log."""
        ...

    async def last_seq(self, run_id: str) -> int:
        """The newest sequence number (0 before the first event); raises UnknownRunLog."""
        ...

    async def is_closed(self, run_id: str) -> bool: ...

    async def end_abandoned(self, run_id: str, event: WireEvent) -> bool:
        """Close the log of a run whose writer died with terminal `event`, unless it already
        ended; any replica may call it. False when nothing was added."""
        ...

    def follow(self, run_id: str, after_seq: int) -> AsyncIterator[LoggedEvent]:
        """Every event with seq > after_seq, waiting for new ones until the log closes."""
        ...

    def follow_batches(self, run_id: str, after_seq: int) -> AsyncIterator[Sequence[LoggedEvent]]:
        """The events of `follow`, in order, each batch holding every event already waiting."""
        ...

    async def aclose(self) -> None: ...


@dataclass
class _RunLog:
    events: list[LoggedEvent] = field(default_factory=list)
    closed: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        # Swap in a fresh Event so waiters wake once per change without clearing races.
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


class InMemoryEventLog:
    """Each run's events in this process; a closed log is dropped after `retention_seconds`."""

    def __init__(self, retention_seconds: float) -> None:
        self._retention_seconds = retention_seconds
        self._logs: dict[str, _RunLog] = {}
        self._expiries: dict[str, asyncio.TimerHandle] = {}

    def _get(self, run_id: str) -> _RunLog:
        try:
            return self._logs[run_id]
        except KeyError:
            raise UnknownRunLog(run_id) from None

    async def create(self, run_id: str) -> None:
        self._logs.setdefault(run_id, _RunLog())

    async def append(self, run_id: str, event: WireEvent) -> LoggedEvent:
        log = self._get(run_id)
        if log.closed:
            raise RuntimeError(f"run {run_id} already ended; its event log is closed")
        logged = LoggedEvent(seq=len(log.events) + 1, type=event.type, data=event_json(event))
        log.events.append(logged)
        if logged.is_terminal:
            log.closed = True
            self._expiries[run_id] = asyncio.get_running_loop().call_later(
                self._retention_seconds, self._drop, run_id
            )
        log.notify()
        return logged

    def _drop(self, run_id: str) -> None:
        self._expiries.pop(run_id, None)
        log = self._logs.pop(run_id, None)
        if log is not None:
            log.notify()

    async def last_seq(self, run_id: str) -> int:
        return len(self._get(run_id).events)

    async def is_closed(self, run_id: str) -> bool:
        return self._get(run_id).closed

    async def end_abandoned(self, run_id: str, event: WireEvent) -> bool:
        log = self._logs.get(run_id)
        if log is None or log.closed:
            return False
        await self.append(run_id, event)
        return True

    def follow(self, run_id: str, after_seq: int) -> AsyncIterator[LoggedEvent]:
        return flattened(self.follow_batches(run_id, after_seq))

    async def follow_batches(
        self, run_id: str, after_seq: int
    ) -> AsyncIterator[Sequence[LoggedEvent]]:
        log = self._get(run_id)
        position = max(after_seq, 0)
        while True:
            if position < len(log.events):
                batch = log.events[position:]
                position += len(batch)
                yield batch
                continue
            if log.closed or run_id not in self._logs:
                return
            await log.changed.wait()

    async def aclose(self) -> None:
        for handle in self._expiries.values():
            handle.cancel()
        self._expiries.clear()
        self._logs.clear()
