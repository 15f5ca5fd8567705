"""Run event logs in Redis Streams, so that any replica can serve a join or a resume.

Per run:  <prefix><run_id>:events   a stream; entry id "<seq>-0", fields type and data
          <prefix><run_id>:meta     a hash; last (newest seq) and closed (1 after the end)
The replica executing a run is its only writer; it keeps the run's events until the run ends and
replays them if Redis comes back empty (a restart without persistence), so readers, who ride out
the outage, continue without a gap. Both keys expire `retention_seconds` after the run's last
event (and `live_ttl_seconds` after the last write, for a run whose writer died).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import WatchError

from backend.redis_clients import DEFAULT_REDIS_NAMESPACE, REDIS_OUTAGES, redis_key
from backend.runs.events import TERMINAL_EVENT_TYPES, WireEvent, event_json
from backend.runs.log import LoggedEvent, UnknownRunLog, flattened
from backend.runs.redis_follow import FollowerHub, logged_events, text

logger = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_PREFIX = redis_key(DEFAULT_REDIS_NAMESPACE, "run", "")


class RedisEventLog:
    def __init__(
        self,
        client: Redis,
        reader: Redis,
        *,
        retention_seconds: float,
        live_ttl_seconds: float,
        block_ms: int = 5000,
        prefix: str = DEFAULT_PREFIX,
        outage_seconds: float = 30.0,
    ) -> None:
        self._redis = client
        self._retention = max(1, round(retention_seconds))
        self._live_ttl = max(1, round(live_ttl_seconds))
        self._block_ms = block_ms
        self._prefix = prefix
        # How long writers and readers ride out Redis being away (a restart, a failover).
        self._outage_seconds = outage_seconds
        # The events of the runs this process writes: replayed if Redis restarts empty.
        self._written: dict[str, list[LoggedEvent]] = {}
        # `reader` is a connection of its own, on which one XREAD waits for every follower.
        self._hub = FollowerHub(reader, client, block_ms)

    def _events_key(self, run_id: str) -> str:
        return f"{self._prefix}{run_id}:events"

    def _meta_key(self, run_id: str) -> str:
        return f"{self._prefix}{run_id}:meta"

    async def _retrying(self, action: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self._outage_seconds
        delay = 0.05
        while True:
            try:
                return await action()
            except REDIS_OUTAGES:
                if time.monotonic() + delay > deadline:
                    raise
                logger.warning("Redis unavailable; retrying in %.2fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def create(self, run_id: str) -> None:
        self._written[run_id] = []
        await self._retrying(lambda: self._start(run_id))

    async def _start(self, run_id: str) -> None:
        meta = self._meta_key(run_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._events_key(run_id))
            pipe.hset(meta, mapping={"last": 0, "closed": 0})
            pipe.expire(meta, self._live_ttl)
            await pipe.execute()

    async def _publish(self, run_id: str, new: list[LoggedEvent]) -> None:
        """Write `new` events; first replay the earlier ones if Redis lost them."""
        meta, events = self._meta_key(run_id), self._events_key(run_id)
        written = self._written.get(run_id, [])
        known, ended = await self._redis.hmget(meta, ["last", "closed"])
        if ended is not None and text(ended) == "1":
            # Ended already: by this writer (an answer lost), or by a replica that took this
            # one for dead (end_abandoned). Nothing may follow the terminal event.
            return
        stored = int(text(known)) if known is not None else 0
        pending = [event for event in written if event.seq > stored]
        if not pending and new and new[-1].seq <= stored:
            return  # an earlier attempt got through; its answer was lost
        last = pending[-1] if pending else None
        async with self._redis.pipeline(transaction=True) as pipe:
            for event in pending:
                pipe.xadd(events, {"type": event.type, "data": event.data}, id=f"{event.seq}-0")
            closed = last is not None and last.is_terminal
            pipe.hset(meta, mapping={"last": last.seq if last else stored, "closed": int(closed)})
            ttl = self._retention if closed else self._live_ttl
            pipe.expire(meta, ttl)
            if pending:
                pipe.expire(events, ttl)
            await pipe.execute()

    async def append(self, run_id: str, event: WireEvent) -> LoggedEvent:
        written = self._written.get(run_id)
        if written is None:
            raise UnknownRunLog(run_id)  # only the replica running a run writes its log
        if written and written[-1].is_terminal:
            raise RuntimeError(f"run {run_id} already ended; its event log is closed")
        logged = LoggedEvent(seq=len(written) + 1, type=event.type, data=event_json(event))
        written.append(logged)
        await self._retrying(lambda: self._publish(run_id, [logged]))
        if logged.is_terminal:
            del self._written[run_id]
        return logged

    async def end_abandoned(self, run_id: str, event: WireEvent) -> bool:
        if event.type not in TERMINAL_EVENT_TYPES:
            raise ValueError("only a terminal event can end an abandoned run's log")
        while True:
            try:
                return await self._retrying(lambda: self._close_for_dead_writer(run_id, event))
            except WatchError:
                continue  # the log changed under us (its writer is alive after all): look again

    async def _close_for_dead_writer(self, run_id: str, event: WireEvent) -> bool:
        meta, events = self._meta_key(run_id), self._events_key(run_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(meta)
            last, closed = await pipe.hmget(meta, ["last", "closed"])
            if closed is not None and text(closed) == "1":
                return False
            # No log at all (expired, or lost in a Redis restart with its writer): start one
            # that says how the run ended, for whoever joins later.
            seq = int(text(last)) + 1 if last is not None else 1
            pipe.multi()  # type: ignore[no-untyped-call]
            if last is None:
                pipe.delete(events)
            pipe.xadd(events, {"type": event.type, "data": event_json(event)}, id=f"{seq}-0")
            pipe.hset(meta, mapping={"last": seq, "closed": 1})
            pipe.expire(meta, self._retention)
            pipe.expire(events, self._retention)
            await pipe.execute()
        return True

    async def last_seq(self, run_id: str) -> int:
        last = await self._retrying(lambda: self._redis.hget(self._meta_key(run_id), "last"))
        if last is None:
            raise UnknownRunLog(run_id)
        return int(text(last))

    async def is_closed(self, run_id: str) -> bool:
        closed = await self._retrying(lambda: self._redis.hget(self._meta_key(run_id), "closed"))
        if closed is None:
            raise UnknownRunLog(run_id)
        return text(closed) == "1"

    def follow(self, run_id: str, after_seq: int) -> AsyncIterator[LoggedEvent]:
        return flattened(self.follow_batches(run_id, after_seq))

    async def follow_batches(
        self, run_id: str, after_seq: int
    ) -> AsyncIterator[Sequence[LoggedEvent]]:
        events = self._events_key(run_id)
        position = max(after_seq, 0)
        # Subscribe first, then read what is already there: an entry is in the backlog, or
        # arrives on the queue, or both (skipped by its sequence number).
        queue = await self._hub.subscribe(events, position)
        try:
            backlog = await self._backlog(events, position)
            if backlog is None:
                return  # the client reconnects with Last-Event-ID when Redis is back
            batch, ended = _after(backlog, position)
            if batch:
                position = batch[-1].seq
                yield batch
            if ended:
                return
            missing_since: float | None = None
            while True:
                try:
                    first = await asyncio.wait_for(queue.get(), self._block_ms / 1000)
                except TimeoutError:
                    # Quiet for a while: stop if the log ended before our position, or is gone
                    # for longer than a restart takes.
                    try:
                        if await self.is_closed(run_id) and await self.last_seq(run_id) <= position:
                            return
                        missing_since = None
                    except UnknownRunLog:
                        missing_since = missing_since or time.monotonic()
                        if time.monotonic() - missing_since > self._outage_seconds:
                            return
                    except REDIS_OUTAGES:
                        await asyncio.sleep(0.2)
                    continue
                waiting = [first]
                while not queue.empty():
                    waiting.append(queue.get_nowait())
                batch, ended = _after(waiting, position)
                if batch:
                    position = batch[-1].seq
                    yield batch
                if ended:
                    return
        finally:
            self._hub.unsubscribe(events, queue)

    async def _backlog(self, events: str, after_seq: int) -> list[LoggedEvent] | None:
        """The entries after `after_seq`; None when Redis stays away longer than an outage."""
        deadline = time.monotonic() + self._outage_seconds
        while True:
            try:
                entries = await self._redis.xrange(events, min=f"{after_seq + 1}-0", max="+")
            except REDIS_OUTAGES:
                if time.monotonic() > deadline:
                    return None
                await asyncio.sleep(0.2)  # Redis restarting: the writer replays, we read on
                continue
            return logged_events(entries)

    async def aclose(self) -> None:
        await self._hub.aclose()
        await self._redis.aclose()


def _after(events: Sequence[LoggedEvent], position: int) -> tuple[list[LoggedEvent], bool]:
    """The events past `position`, up to and including a terminal one, and whether one came."""
    batch: list[LoggedEvent] = []
    for event in events:
        if event.seq <= position:
            continue  # read twice (backlog and queue): already sent
        batch.append(event)
        position = event.seq
        if event.is_terminal:
            return batch, True
    return batch, False
