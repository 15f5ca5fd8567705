"""The Redis event log's readers: every follower sees its run's events once and in order, from
any position, and a process's followers share one waiting connection instead of one each."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from backend.redis_clients import dedicated_client, pooled_client
from backend.runs.events import ContentEvent, ErrorEvent
from backend.runs.redis_log import RedisEventLog
from tests.databases import redis_url

FINISHED = ErrorEvent(message="cancelled by a parent", error_code="CANCELLED", retryable=False)


def redis_log(client: Redis, *, block_ms: int) -> RedisEventLog:
    return RedisEventLog(
        client,
        dedicated_client(redis_url()),
        retention_seconds=60,
        live_ttl_seconds=60,
        prefix=f"storystream-test:{uuid.uuid4().hex}:",
        block_ms=block_ms,
    )


@pytest.fixture
async def event_log() -> AsyncIterator[RedisEventLog]:
    log = redis_log(pooled_client(redis_url()), block_ms=200)
    yield log
    await log.aclose()


async def _chunks(log: RedisEventLog, run_id: str, first: int, count: int) -> None:
    for index in range(first, first + count):
        await log.append(run_id, ContentEvent(chunk=f"t{index}", attempt=1))


async def _sequence(log: RedisEventLog, run_id: str, after: int) -> list[int]:
    return [event.seq async for event in log.follow(run_id, after)]


async def test_followers_from_any_position_see_the_rest_once_then_stop_at_the_end(
    event_log: RedisEventLog,
) -> None:
    await event_log.create("r")
    await _chunks(event_log, "r", 0, 3)
    readers = [asyncio.create_task(_sequence(event_log, "r", after)) for after in (0, 2, 3)]
    await asyncio.sleep(0.1)  # the followers are waiting on the live part
    await _chunks(event_log, "r", 3, 2)
    await event_log.append("r", FINISHED)
    assert await asyncio.wait_for(asyncio.gather(*readers), 30) == [
        [1, 2, 3, 4, 5, 6],
        [3, 4, 5, 6],
        [4, 5, 6],
    ]


async def test_a_follower_of_an_ended_run_gets_the_rest_and_stops(
    event_log: RedisEventLog,
) -> None:
    await event_log.create("r")
    await _chunks(event_log, "r", 0, 2)
    await event_log.append("r", FINISHED)
    assert await asyncio.wait_for(_sequence(event_log, "r", 1), 30) == [2, 3]
    assert await asyncio.wait_for(_sequence(event_log, "r", 3), 30) == []


async def test_a_new_follower_is_served_at_once_while_the_reader_waits_on_other_runs() -> None:
    # The shared XREAD blocks for a minute: the newcomer is read only if the reader is woken.
    log = redis_log(pooled_client(redis_url()), block_ms=60_000)
    try:
        await log.create("waiting")
        await log.create("new")
        waiting = asyncio.create_task(_sequence(log, "waiting", 0))
        await asyncio.sleep(0.2)  # the reader is now blocked on "waiting" alone
        newcomer = asyncio.create_task(_sequence(log, "new", 0))
        await asyncio.sleep(0.2)
        await _chunks(log, "new", 0, 2)
        await log.append("new", FINISHED)
        assert await asyncio.wait_for(newcomer, 20) == [1, 2, 3]
        await log.append("waiting", FINISHED)
        assert await asyncio.wait_for(waiting, 20) == [1]
    finally:
        await log.aclose()


async def test_hundreds_of_followers_share_a_pool_of_four_connections() -> None:
    # One blocking read per follower would hold all four connections and starve the writers.
    log = redis_log(pooled_client(redis_url(), max_connections=4), block_ms=1000)
    runs = [f"run-{index}" for index in range(300)]
    try:
        for run_id in runs:
            await log.create(run_id)
        readers = [asyncio.create_task(_sequence(log, run_id, 0)) for run_id in runs]
        await asyncio.sleep(0.2)
        for step in range(3):
            for run_id in runs:
                await _chunks(log, run_id, step, 1)
        for run_id in runs:
            await log.append(run_id, FINISHED)
        seen = await asyncio.wait_for(asyncio.gather(*readers), 60)
    finally:
        await log.aclose()
    assert seen == [[1, 2, 3, 4]] * len(runs)


async def test_events_already_in_the_stream_come_as_one_batch(event_log: RedisEventLog) -> None:
    await event_log.create("r")
    await _chunks(event_log, "r", 0, 3)
    await event_log.append("r", FINISHED)
    batches = [[event.seq for event in batch] async for batch in event_log.follow_batches("r", 1)]
    assert batches == [[2, 3, 4]]
