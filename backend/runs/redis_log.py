"""Run event logs in Redis Streams, so that any replica can serve a join or a resume.

Per run:  <prefix><run_id>:events   a stream; entry id "<seq>-0", fields type and data
          <prefix><run_id>:meta     a hash; last (newest seq) and closed (1 after the end)
The replica executing a run is its only writer. Both keys expire `retention_seconds` after the
run's last event (and `live_ttl_seconds` after creation, for a run whose writer died).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from backend.runs.events import WireEvent, event_json
from backend.runs.log import LoggedEvent, UnknownRunLog

DEFAULT_PREFIX = "storystream:run:"
READ_BATCH = 500


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _field(fields: Any, name: str) -> str:
    value = fields.get(name.encode(), fields.get(name))
    return _text(value)


def _stream_entries(answer: Any) -> list[LoggedEvent]:
    """XREAD's answer for one stream (a list under RESP2, a dict under RESP3) as events."""
    if not answer:
        return []
    streams = list(answer.values()) if isinstance(answer, dict) else [item[1] for item in answer]
    entries = streams[0] if streams else []
    if isinstance(entries, list) and entries and isinstance(entries[0], list):
        entries = entries[0]  # RESP3 nests the entries one level deeper
    return [
        LoggedEvent(
            seq=int(_text(entry_id).split("-", 1)[0]),
            type=_field(fields, "type"),
            data=_field(fields, "data"),
        )
        for entry_id, fields in entries
    ]


class RedisEventLog:
    def __init__(
        self,
        client: Redis,
        *,
        retention_seconds: float,
        live_ttl_seconds: float,
        block_ms: int = 5000,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._redis = client
        self._retention = max(1, round(retention_seconds))
        self._live_ttl = max(1, round(live_ttl_seconds))
        self._block_ms = block_ms
        self._prefix = prefix

    def _events_key(self, run_id: str) -> str:
        return f"{self._prefix}{run_id}:events"

    def _meta_key(self, run_id: str) -> str:
        return f"{self._prefix}{run_id}:meta"

    async def create(self, run_id: str) -> None:
        meta = self._meta_key(run_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(meta, mapping={"last": 0, "closed": 0})
            pipe.expire(meta, self._live_ttl)
            await pipe.execute()

    async def append(self, run_id: str, event: WireEvent) -> LoggedEvent:
        meta = self._meta_key(run_id)
        state = await self._redis.hmget(meta, ["last", "closed"])
        if state[0] is None:
            raise UnknownRunLog(run_id)
        if _text(state[1]) == "1":
            raise RuntimeError(f"run {run_id} already ended; its event log is closed")
        seq = int(await self._redis.hincrby(meta, "last", 1))
        logged = LoggedEvent(seq=seq, type=event.type, data=event_json(event))
        events = self._events_key(run_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(events, {"type": logged.type, "data": logged.data}, id=f"{seq}-0")
            if logged.is_terminal:
                pipe.hset(meta, "closed", 1)
                pipe.expire(meta, self._retention)
                pipe.expire(events, self._retention)
            else:
                pipe.expire(events, self._live_ttl)
            await pipe.execute()
        return logged

    async def last_seq(self, run_id: str) -> int:
        last = await self._redis.hget(self._meta_key(run_id), "last")
        if last is None:
            raise UnknownRunLog(run_id)
        return int(_text(last))

    async def is_closed(self, run_id: str) -> bool:
        closed = await self._redis.hget(self._meta_key(run_id), "closed")
        if closed is None:
            raise UnknownRunLog(run_id)
        return _text(closed) == "1"

    async def follow(self, run_id: str, after_seq: int) -> AsyncIterator[LoggedEvent]:
        events = self._events_key(run_id)
        position = max(after_seq, 0)
        while True:
            answer = await self._redis.xread(
                {events: f"{position}-0"}, count=READ_BATCH, block=self._block_ms
            )
            entries = _stream_entries(answer)
            for logged in entries:
                position = logged.seq
                yield logged
                if logged.is_terminal:
                    return
            if not entries:
                # Quiet for a while: stop if the log is gone or ended before our position.
                try:
                    if await self.is_closed(run_id) and await self.last_seq(run_id) <= position:
                        return
                except UnknownRunLog:
                    return

    async def aclose(self) -> None:
        await self._redis.aclose()
