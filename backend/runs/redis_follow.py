"""Following many run event streams with one blocking XREAD per process.

A follower per stream would hold a Redis connection for as long as it waits: a thousand open
streams, a thousand connections. Here one reader task waits on every followed stream at once and
hands each new entry to that stream's followers' queues. When a stream is followed for the first
time, the reader is woken (an entry on this hub's own wake stream, part of every XREAD), so the
new stream joins the wait at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from redis.asyncio import Redis
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential_jitter,
)

from backend.redis_clients import REDIS_OUTAGES
from backend.runs.log import LoggedEvent

logger = logging.getLogger(__name__)
READ_BATCH = 500
WAKE_TTL_SECONDS = 60


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _field(fields: Any, name: str) -> str:
    return text(fields.get(name.encode(), fields.get(name)))


def logged_events(entries: Any) -> list[LoggedEvent]:
    """Stream entries (XRANGE, or one stream of XREAD) as events; the entry id is "<seq>-0"."""
    return [
        LoggedEvent(
            seq=int(text(entry_id).split("-", 1)[0]),
            type=_field(fields, "type"),
            data=_field(fields, "data"),
        )
        for entry_id, fields in entries
    ]


def _streams(answer: Any) -> list[tuple[str, Any]]:
    """XREAD's answer as (stream key, entries): a list under RESP2, a dict under RESP3."""
    if not answer:
        return []
    if isinstance(answer, dict):
        pairs = [
            (key, value[0] if value and isinstance(value[0], list) else value)
            for key, value in answer.items()
        ]
    else:
        pairs = [(item[0], item[1]) for item in answer]
    return [(text(key), entries) for key, entries in pairs]


def _log_read_failure(state: RetryCallState) -> None:
    failure = state.outcome.exception() if state.outcome is not None else None
    if isinstance(failure, REDIS_OUTAGES):
        logger.warning("following run events: Redis unavailable (%s)", failure)
    else:
        logger.error("following run events failed; retrying", exc_info=failure)


def _read_retry() -> AsyncRetrying:
    """Read again until Redis answers (a restart, say), backing off to 2 s, with jitter so the
    replicas do not all come back at once; the hub's task is cancelled when it closes."""
    return AsyncRetrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_exponential_jitter(multiplier=0.2, max=2.0),
        before_sleep=_log_read_failure,
    )


class FollowerHub:
    def __init__(self, reader: Redis, control: Redis, block_ms: int) -> None:
        self._reader = reader  # one connection of its own: it blocks
        self._control = control
        self._block_ms = block_ms
        self._wake_key = f"storystream:follow-wake:{uuid.uuid4().hex}"
        self._followers: dict[str, set[asyncio.Queue[LoggedEvent]]] = {}
        self._positions: dict[str, int] = {}
        # The newest wake entry read; a wake written before the XREAD was sent still wakes it.
        self._wake_seen = "0-0"
        self._changed = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    async def subscribe(self, key: str, after_seq: int) -> asyncio.Queue[LoggedEvent]:
        """A queue that receives every entry of `key` the hub reads from now on (for a stream
        new to the hub: every entry after `after_seq`)."""
        queue: asyncio.Queue[LoggedEvent] = asyncio.Queue()
        new = key not in self._positions
        if new:
            self._positions[key] = after_seq
        self._followers.setdefault(key, set()).add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._read_forever(), name="event-log-follower")
        self._changed.set()
        if new:
            await self._wake()
        return queue

    def unsubscribe(self, key: str, queue: asyncio.Queue[LoggedEvent]) -> None:
        followers = self._followers.get(key)
        if followers is None:
            return
        followers.discard(queue)
        if not followers:
            del self._followers[key]
            self._positions.pop(key, None)

    async def _wake(self) -> None:
        # With Redis away the reader is retrying too, and reads the new stream once it is back.
        with contextlib.suppress(*REDIS_OUTAGES):
            async with self._control.pipeline(transaction=False) as pipe:
                pipe.xadd(self._wake_key, {"wake": "1"}, maxlen=1)
                pipe.expire(self._wake_key, WAKE_TTL_SECONDS)
                await pipe.execute()

    async def _read_forever(self) -> None:
        # Checked as well as cancelled: redis-py may swallow a cancel that lands mid-command.
        while not self._closing:
            if not self._positions:
                self._changed.clear()
                await self._changed.wait()
                continue
            streams: dict[str | bytes | memoryview, int | str | bytes | memoryview] = {
                key: f"{position}-0" for key, position in self._positions.items()
            }
            streams[self._wake_key] = self._wake_seen
            async for attempt in _read_retry():
                with attempt:
                    answer = await self._reader.xread(
                        streams, count=READ_BATCH, block=self._block_ms
                    )
            self._deliver(answer)

    def _deliver(self, answer: Any) -> None:
        for key, entries in _streams(answer):
            if key == self._wake_key:
                if entries:
                    self._wake_seen = text(entries[-1][0])
                continue
            if key not in self._positions:
                continue
            events = logged_events(entries)
            if not events:
                continue
            self._positions[key] = max(self._positions[key], events[-1].seq)
            for queue in self._followers.get(key, ()):
                for event in events:
                    queue.put_nowait(event)

    async def aclose(self) -> None:
        self._closing = True
        self._changed.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._reader.aclose()
