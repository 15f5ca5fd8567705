"""Cancel requests across replicas: the replica that receives a cancel publishes it, and the
one executing the run (subscribed to the channel) stops it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from backend.redis_clients import DEFAULT_REDIS_NAMESPACE, REDIS_OUTAGES, redis_key

logger = logging.getLogger(__name__)
CANCEL_CHANNEL = redis_key(DEFAULT_REDIS_NAMESPACE, "cancel")


class RedisCancelRelay:
    def __init__(
        self, client: Redis, cancel_local: Callable[[str], bool], channel: str = CANCEL_CHANNEL
    ) -> None:
        self._redis = client
        self._channel = channel
        self._cancel_local = cancel_local
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._channel)
        self._listener = asyncio.create_task(self._listen(self._pubsub), name="cancel-relay")

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(timeout=1.0)
            except REDIS_OUTAGES as exc:
                # Redis restarting: wait, then subscribe again on a fresh connection.
                logger.warning("cancel relay lost Redis (%s); resubscribing", exc)
                await asyncio.sleep(0.5)
                with contextlib.suppress(*REDIS_OUTAGES):
                    await pubsub.subscribe(self._channel)
                continue
            if message is None or message.get("type") != "message":
                continue
            data = message["data"]
            run_id = data.decode() if isinstance(data, bytes) else str(data)
            if self._cancel_local(run_id):
                logger.info("run %s cancelled on request from another replica", run_id)

    async def request(self, run_id: str) -> None:
        await self._redis.publish(self._channel, run_id)

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        if self._pubsub is not None:
            await self._pubsub.aclose()
