"""Runs of replicas that died: found through missing heartbeats, ended once, in the database and
in the event log, without mistaking a Redis restart for a dead replica."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from backend.db.engine import create_engine, create_session_factory
from backend.db.migrate import upgrade_database
from backend.runs.events import ContentEvent
from backend.runs.failures import interrupted_event
from backend.runs.log import InMemoryEventLog, LoggedEvent
from backend.runs.redis_log import RedisEventLog
from backend.runs.runners import OrphanSweeper, RedisHeartbeats
from tests.databases import redis_url
from tests.support import ManualClock, left_behind_runs, run_states

LIFETIME = 10.0


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url())
    yield client
    await client.aclose()


@pytest.fixture
async def event_log(redis: Redis) -> AsyncIterator[RedisEventLog]:
    log = RedisEventLog(
        Redis.from_url(redis_url()),
        Redis.from_url(redis_url(), single_connection_client=True),
        retention_seconds=60,
        live_ttl_seconds=60,
        prefix=f"storystream-test:{uuid.uuid4().hex}:",
        block_ms=100,
    )
    yield log
    await log.aclose()


def heartbeats(runner_id: str, prefix: str) -> RedisHeartbeats:
    return RedisHeartbeats(Redis.from_url(redis_url()), runner_id, LIFETIME, prefix=prefix)


async def migrated(database_url: str) -> None:
    await asyncio.to_thread(upgrade_database, database_url)


async def everything(log: RedisEventLog | InMemoryEventLog, run_id: str) -> list[LoggedEvent]:
    return [event async for event in log.follow(run_id, 0)]


async def test_runs_of_a_replica_whose_heartbeat_stays_missing_are_interrupted_once(
    database_url: str, event_log: RedisEventLog
) -> None:
    await migrated(database_url)
    await left_behind_runs(
        database_url,
        {
            "dead-running": ("running", "replica-dead"),
            "dead-queued": ("queued", "replica-dead"),
            "dead-done": ("completed", "replica-dead"),
            "alive-running": ("running", "replica-alive"),
            "mine": ("running", "replica-me"),
        },
    )
    # The dead replica had streamed two events of its running story before it died.
    await event_log.create("dead-running")
    for text in ("Once ", "upon"):
        await event_log.append("dead-running", ContentEvent(chunk=text, attempt=1))
    prefix = f"storystream-test:{uuid.uuid4().hex}:runner:"
    alive = heartbeats("replica-alive", prefix)
    await alive.beat()
    me = heartbeats("replica-me", prefix)
    engine = create_engine(database_url)
    clock = ManualClock()
    sweepers = [
        OrphanSweeper(
            sessions=create_session_factory(engine),
            event_log=event_log,
            runner_id="replica-me",
            heartbeats=me,
            clock=clock,
        )
        for _ in range(2)
    ]
    try:
        # First seen missing: not yet gone (it may be a Redis restart).
        assert await sweepers[0].sweep() == []
        assert await sweepers[1].sweep() == []
        clock.now += LIFETIME
        await alive.beat()
        # Two replicas sweep at once: each run is ended by exactly one of them.
        ended = await asyncio.gather(*(sweeper.sweep() for sweeper in sweepers))
    finally:
        await engine.dispose()
        await alive.aclose()
        await me.aclose()

    assert sorted(ended[0] + ended[1]) == ["dead-queued", "dead-running"]
    assert await run_states(database_url) == {
        "dead-running": ("interrupted", "INTERRUPTED"),
        "dead-queued": ("interrupted", "INTERRUPTED"),
        "dead-done": ("completed", None),
        "alive-running": ("running", None),
        "mine": ("running", None),
    }
    logged = await everything(event_log, "dead-running")
    assert [(event.seq, event.type) for event in logged] == [
        (1, "content"),
        (2, "content"),
        (3, "error"),
    ]
    assert '"error_code":"INTERRUPTED"' in logged[-1].data
    assert '"retryable":true' in logged[-1].data
    # The queued run never wrote a log: one now says how it ended, for whoever joins.
    assert [event.type for event in await everything(event_log, "dead-queued")] == ["error"]


async def test_a_heartbeat_lost_in_a_redis_restart_and_renewed_is_not_a_dead_replica(
    database_url: str, event_log: RedisEventLog
) -> None:
    await migrated(database_url)
    await left_behind_runs(database_url, {"story": ("running", "replica-b")})
    prefix = f"storystream-test:{uuid.uuid4().hex}:runner:"
    other, me = heartbeats("replica-b", prefix), heartbeats("replica-a", prefix)
    engine = create_engine(database_url)
    clock = ManualClock()
    sweeper = OrphanSweeper(
        sessions=create_session_factory(engine),
        event_log=event_log,
        runner_id="replica-a",
        heartbeats=me,
        clock=clock,
    )
    try:
        assert await sweeper.sweep() == []  # Redis came back empty: the key is missing
        clock.now += LIFETIME / 3
        await other.beat()  # replica B's next beat
        assert await sweeper.sweep() == []
        clock.now += LIFETIME / 3
        await other.aclose()  # replica B stops for good and takes its key with it
        assert await sweeper.sweep() == []
        clock.now += LIFETIME * 2 / 3
        assert await sweeper.sweep() == []  # missing for less than a lifetime so far
        clock.now += LIFETIME / 3
        assert await sweeper.sweep() == ["story"]
    finally:
        await engine.dispose()
        await me.aclose()


async def test_a_log_that_already_ended_is_left_as_it_is(event_log: RedisEventLog) -> None:
    await event_log.create("finished")
    await event_log.append("finished", interrupted_event())
    assert not await event_log.end_abandoned("finished", interrupted_event())
    assert [event.seq for event in await everything(event_log, "finished")] == [1]

    memory = InMemoryEventLog(retention_seconds=60)
    await memory.create("run")
    await memory.append("run", ContentEvent(chunk="Hello", attempt=1))
    assert await memory.end_abandoned("run", interrupted_event())
    assert not await memory.end_abandoned("run", interrupted_event())
    assert not await memory.end_abandoned("never-started", interrupted_event())
    assert [event.type for event in await everything(memory, "run")] == ["content", "error"]
    await memory.aclose()


async def test_only_a_terminal_event_can_end_an_abandoned_log(event_log: RedisEventLog) -> None:
    await event_log.create("run")
    with pytest.raises(ValueError, match="terminal"):
        await event_log.end_abandoned("run", ContentEvent(chunk="more", attempt=1))


async def test_a_replica_taken_for_dead_adds_nothing_after_its_runs_were_ended(
    event_log: RedisEventLog,
) -> None:
    await event_log.create("run")
    await event_log.append("run", ContentEvent(chunk="Once ", attempt=1))
    assert await event_log.end_abandoned("run", interrupted_event())
    # The writer was alive after all (cut off from Redis for a while) and writes on.
    await event_log.append("run", ContentEvent(chunk="upon", attempt=1))
    await event_log.append("run", ContentEvent(chunk=" a time", attempt=1))
    logged = await everything(event_log, "run")
    assert [(event.seq, event.type) for event in logged] == [(1, "content"), (2, "error")]
    assert await event_log.is_closed("run")
    assert await event_log.last_seq("run") == 2
