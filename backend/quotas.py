"""Per-family limits: new stories per minute (the `limits` library, in memory or in Redis) and
streams open at once (counted in this process). Past either, a 429 with a JSON reason."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import HTTPException, status
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter


def _too_many(detail: str, retry_after: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS, detail, headers={"Retry-After": str(retry_after)}
    )


class FamilyQuotas:
    def __init__(
        self, runs_per_minute: int, concurrent_streams: int, redis_url: str | None
    ) -> None:
        storage: Storage = (
            RedisStorage(redis_url.replace("redis://", "async+redis://", 1))
            if redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(storage)
        self._runs = RateLimitItemPerMinute(runs_per_minute)
        self.runs_per_minute = runs_per_minute
        self.concurrent_streams = concurrent_streams
        self._open: Counter[int] = Counter()

    async def take_run(self, parent_id: int) -> None:
        if await self._limiter.hit(self._runs, "runs", str(parent_id)):
            return
        stats = await self._limiter.get_window_stats(self._runs, "runs", str(parent_id))
        raise _too_many(
            f"this family started {self.runs_per_minute} stories in the last minute; "
            "wait a little before the next one",
            retry_after=max(1, math.ceil(stats.reset_time - time.time())),
        )

    def check_stream(self, parent_id: int) -> None:
        """Refuse before the response starts; `stream` then holds the place while it is open."""
        if self._open[parent_id] >= self.concurrent_streams:
            raise _too_many(
                f"this family already has {self.concurrent_streams} "
                f"{'story' if self.concurrent_streams == 1 else 'stories'} streaming; "
                "close one first",
                retry_after=5,
            )

    @asynccontextmanager
    async def stream(self, parent_id: int) -> AsyncIterator[None]:
        self._open[parent_id] += 1
        try:
            yield
        finally:
            self._open[parent_id] -= 1
            if self._open[parent_id] <= 0:
                del self._open[parent_id]
