"""Leases on a family's open-stream places, counted across every replica.

A stream claims a place with a lease that expires after `ttl_seconds` unless renewed; the stream
renews it while it is open and gives it back when it ends. A replica that dies (or a response
that never starts) cannot hold a place for longer than one lease. In memory for one process; in
a Redis sorted set per family (member: lease id, score: expiry in Redis's own clock) for several.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

from backend.redis_clients import DEFAULT_REDIS_NAMESPACE, REDIS_OUTAGES, redis_key

logger = logging.getLogger(__name__)
DEFAULT_PREFIX = redis_key(DEFAULT_REDIS_NAMESPACE, "streams", "")

# Drop expired leases, then add this one if the family has a free place. Redis's TIME keeps every
# replica on one clock. KEYS[1]: the family's set; ARGV: lease id, places, lease ms.
_CLAIM = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
# Extend a lease (re-adding it if Redis lost it in a restart: the stream is still open).
_RENEW = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 1
"""


def new_lease_id() -> str:
    return uuid.uuid4().hex


class StreamLeases(Protocol):
    async def claim(self, family: int, lease_id: str, places: int) -> bool:
        """Take one of `places` for `family` unless all are leased; False when full."""
        ...

    async def renew(self, family: int, lease_id: str) -> None: ...

    async def release(self, family: int, lease_id: str) -> None: ...

    @property
    def ttl_seconds(self) -> float: ...

    async def aclose(self) -> None: ...


class InMemoryStreamLeases:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._leases: dict[int, dict[str, float]] = {}

    @property
    def ttl_seconds(self) -> float:
        return self._ttl

    async def claim(self, family: int, lease_id: str, places: int) -> bool:
        now = self._clock()
        held = self._leases.get(family, {})
        leases = {lease: until for lease, until in held.items() if until > now}
        self._leases[family] = leases
        if len(leases) >= places:
            return False
        leases[lease_id] = now + self._ttl
        return True

    async def renew(self, family: int, lease_id: str) -> None:
        self._leases.setdefault(family, {})[lease_id] = self._clock() + self._ttl

    async def release(self, family: int, lease_id: str) -> None:
        leases = self._leases.get(family, {})
        leases.pop(lease_id, None)
        if not leases:
            self._leases.pop(family, None)

    async def aclose(self) -> None:
        self._leases.clear()


class RedisStreamLeases:
    def __init__(self, client: Redis, ttl_seconds: float, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = client
        self._ttl = ttl_seconds
        self._prefix = prefix
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)

    @property
    def ttl_seconds(self) -> float:
        return self._ttl

    def _key(self, family: int) -> str:
        return f"{self._prefix}{family}"

    def _ttl_ms(self) -> int:
        return max(1, round(self._ttl * 1000))

    async def claim(self, family: int, lease_id: str, places: int) -> bool:
        try:
            claimed = await self._claim(
                keys=[self._key(family)], args=[lease_id, places, self._ttl_ms()]
            )
        except REDIS_OUTAGES as exc:
            # A quota is about fairness between families, not safety: a child keeps reading.
            logger.warning("stream places not checked, Redis unavailable (%s)", exc)
            return True
        return bool(claimed)

    async def renew(self, family: int, lease_id: str) -> None:
        await self._renew(keys=[self._key(family)], args=[lease_id, self._ttl_ms()])

    async def release(self, family: int, lease_id: str) -> None:
        await self._redis.zrem(self._key(family), lease_id)

    async def aclose(self) -> None:
        await self._redis.aclose()


class StreamPlace:
    """A claimed place, held (renewed) while used as a context manager, given back after.

    `release` also gives it back when the stream never started (a later check refused it)."""

    def __init__(self, leases: StreamLeases, family: int, lease_id: str) -> None:
        self._leases = leases
        self._family = family
        self._lease_id = lease_id
        self._renewing: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        self._renewing = asyncio.create_task(self._renew_forever(), name="stream-place")

    async def __aexit__(self, *exc: object) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            await asyncio.gather(self._renewing, return_exceptions=True)
        await self.release()

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._leases.ttl_seconds / 3)
            try:
                await self._leases.renew(self._family, self._lease_id)
            except REDIS_OUTAGES as exc:
                logger.warning("a stream place was not renewed, Redis unavailable (%s)", exc)

    async def release(self) -> None:
        with contextlib.suppress(*REDIS_OUTAGES):  # unreleased, the lease simply expires
            await self._leases.release(self._family, self._lease_id)
