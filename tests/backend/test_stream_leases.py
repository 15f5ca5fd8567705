"""A family's open-stream places: leased, renewed while a stream is open, given back after, and
counted across replicas through Redis; a place nobody renews frees itself."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from backend.app import create_app
from backend.stream_leases import InMemoryStreamLeases, RedisStreamLeases, StreamPlace
from tests.databases import redis_url
from tests.support import (
    STORY_TEXT,
    ManualClock,
    collect,
    create_child,
    make_settings,
    running,
    sign_up,
    start_run,
)

FAMILY = 7


@pytest.fixture
async def two_replicas_leases() -> AsyncIterator[tuple[RedisStreamLeases, RedisStreamLeases]]:
    prefix = f"storystream-test:{uuid.uuid4().hex}:streams:"
    leases = tuple(
        RedisStreamLeases(Redis.from_url(redis_url()), ttl_seconds=0.5, prefix=prefix)
        for _ in range(2)
    )
    yield leases[0], leases[1]
    for lease in leases:
        await lease.aclose()


async def test_in_memory_places_are_refused_when_full_and_free_again_after_release() -> None:
    clock = ManualClock()
    leases = InMemoryStreamLeases(ttl_seconds=30, clock=clock)
    assert await leases.claim(FAMILY, "a", places=2)
    assert await leases.claim(FAMILY, "b", places=2)
    assert not await leases.claim(FAMILY, "c", places=2)
    assert await leases.claim(FAMILY + 1, "other family", places=2)
    await leases.release(FAMILY, "a")
    assert await leases.claim(FAMILY, "c", places=2)

    # "b" is renewed; "c" is not, and its place frees itself after one lease.
    clock.now += 20
    await leases.renew(FAMILY, "b")
    clock.now += 15
    assert await leases.claim(FAMILY, "d", places=2)
    assert not await leases.claim(FAMILY, "e", places=2)


async def test_places_are_counted_across_replicas_through_redis(
    two_replicas_leases: tuple[RedisStreamLeases, RedisStreamLeases],
) -> None:
    on_a, on_b = two_replicas_leases
    assert await on_a.claim(FAMILY, "a", places=2)
    assert await on_b.claim(FAMILY, "b", places=2)
    assert not await on_a.claim(FAMILY, "c", places=2)
    assert not await on_b.claim(FAMILY, "c", places=2)
    await on_a.release(FAMILY, "a")
    assert await on_b.claim(FAMILY, "c", places=2)


async def test_a_place_held_open_is_renewed_and_one_left_alone_expires(
    two_replicas_leases: tuple[RedisStreamLeases, RedisStreamLeases],
) -> None:
    on_a, on_b = two_replicas_leases
    assert await on_a.claim(FAMILY, "open", places=2)
    assert await on_a.claim(FAMILY, "abandoned", places=2)  # its replica died, say
    async with StreamPlace(on_a, FAMILY, "open"):
        await asyncio.sleep(1.0)  # two lease lifetimes: "open" was renewed meanwhile
        assert await on_b.claim(FAMILY, "new", places=2)
        assert not await on_b.claim(FAMILY, "one more", places=2)
    # Leaving the stream gives its place back at once.
    assert await on_b.claim(FAMILY, "one more", places=2)


async def test_a_family_with_a_stream_open_on_one_replica_is_refused_on_another(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path,
        redis_url=redis_url(),
        scripted_text=STORY_TEXT,
        scripted_tokens_per_second=30,
        family_concurrent_streams=1,
    )
    async with running(create_app(settings)) as on_a, running(create_app(settings)) as on_b:
        token = await sign_up(on_a)
        on_b.headers["Authorization"] = f"Bearer {token}"
        child_id = await create_child(on_a)
        run_id = await start_run(on_a, child_id)
        first = asyncio.create_task(collect(on_a, f"/api/v1/runs/{run_id}/stream"))
        await asyncio.sleep(0.3)
        refused = await on_b.get(f"/api/v1/runs/{run_id}/stream")
        assert refused.status_code == 429
        assert refused.json() == {
            "detail": "this family already has 1 story streaming; close one first"
        }
        assert (await first)[-1].event == "complete"
        assert (await collect(on_b, f"/api/v1/runs/{run_id}/stream"))[-1].event == "complete"


async def test_deployments_sharing_one_redis_count_their_families_apart(tmp_path: Path) -> None:
    """Family 1 of one deployment is not family 1 of another that shares the Redis: with its own
    namespace, each may open its one stream."""
    settings = {
        name: make_settings(
            tmp_path / name,
            redis_url=redis_url(),
            redis_namespace=f"storystream-test-{name}-{uuid.uuid4().hex[:8]}",
            scripted_text=STORY_TEXT,
            scripted_tokens_per_second=30,
            family_concurrent_streams=1,
        )
        for name in ("staging", "production")
    }
    for folder in settings:
        (tmp_path / folder).mkdir()
    async with (
        running(create_app(settings["staging"])) as staging,
        running(create_app(settings["production"])) as production,
    ):
        runs = []
        for client in (staging, production):
            await sign_up(client)
            runs.append(await start_run(client, await create_child(client)))
        first = asyncio.create_task(collect(staging, f"/api/v1/runs/{runs[0]}/stream"))
        await asyncio.sleep(0.3)
        # The same family id (1) in the other deployment: its place is free.
        second = await collect(production, f"/api/v1/runs/{runs[1]}/stream")
        assert second[-1].event == "complete"
        assert (await first)[-1].event == "complete"
