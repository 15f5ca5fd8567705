"""Per-family limits: new stories per minute (the `limits` library) and streams open at once
(expiring leases), each in memory or, with several replicas, in Redis. Past either, a 429 with a
JSON reason."""

from __future__ import annotations

import math
import time

from fastapi import HTTPException, status
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from backend.redis_clients import DEFAULT_REDIS_NAMESPACE, pooled_client, redis_key
from backend.stream_leases import (
    InMemoryStreamLeases,
    RedisStreamLeases,
    StreamLeases,
    StreamPlace,
    new_lease_id,
)

# A stream renews its place three times per lease; a dead replica's places free up after one.
STREAM_LEASE_SECONDS = 30.0


def _too_many(detail: str, retry_after: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS, detail, headers={"Retry-After": str(retry_after)}
    )


class FamilyQuotas:
    def __init__(
        self,
        runs_per_minute: int,
        concurrent_streams: int,
        redis_url: str | None,
        stream_lease_seconds: float = STREAM_LEASE_SECONDS,
        redis_namespace: str = DEFAULT_REDIS_NAMESPACE,
    ) -> None:
        storage: Storage = (
            RedisStorage(
                redis_url.replace("redis://", "async+redis://", 1),
                key_prefix=redis_key(redis_namespace, "story-quota"),
            )
            if redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(storage)
        self._runs = RateLimitItemPerMinute(runs_per_minute)
        self.runs_per_minute = runs_per_minute
        self.concurrent_streams = concurrent_streams
        self._streams: StreamLeases = (
            RedisStreamLeases(
                pooled_client(redis_url),
                stream_lease_seconds,
                prefix=redis_key(redis_namespace, "streams", ""),
            )
            if redis_url
            else InMemoryStreamLeases(stream_lease_seconds)
        )

    async def take_run(self, parent_id: int) -> None:
        if await self._limiter.hit(self._runs, "runs", str(parent_id)):
            return
        stats = await self._limiter.get_window_stats(self._runs, "runs", str(parent_id))
        raise _too_many(
            f"this family started {self.runs_per_minute} stories in the last minute; "
            "wait a little before the next one",
            retry_after=max(1, math.ceil(stats.reset_time - time.time())),
        )

    async def claim_stream(self, parent_id: int) -> StreamPlace:
        """Take one of the family's stream places before the response starts, or refuse with
        429. Use the place as the stream's context (it is held while open), or `release` it."""
        lease_id = new_lease_id()
        if not await self._streams.claim(parent_id, lease_id, self.concurrent_streams):
            raise _too_many(
                f"this family already has {self.concurrent_streams} "
                f"{'story' if self.concurrent_streams == 1 else 'stories'} streaming; "
                "close one first",
                retry_after=5,
            )
        return StreamPlace(self._streams, parent_id, lease_id)

    async def aclose(self) -> None:
        await self._streams.aclose()
