"""200 clients drop and reconnect at random points of their streams; every reconnect continues
exactly where it stopped, and the server keeps serving throughout."""

from __future__ import annotations

import asyncio
import random

import httpx

from tests.e2e.conftest import Serve
from tests.support import STORY_TEXT, Frame, collect, create_child, start_run

CLIENTS = 200
RUNS = 20


async def _read_with_drops(
    client: httpx.AsyncClient, run_id: str, rng: random.Random
) -> list[Frame]:
    """Read a run's stream in pieces, dropping the connection after a random number of events."""
    frames: list[Frame] = []
    while not frames or frames[-1].event not in {"complete", "error"}:
        headers = {"Last-Event-ID": str(frames[-1].id)} if frames else None
        piece = await collect(
            client,
            f"/api/v1/runs/{run_id}/stream",
            headers=headers,
            stop_after_content=rng.randint(1, 25),
        )
        frames.extend(piece)
    return frames


async def test_every_reconnect_continues_exactly(serve: Serve) -> None:
    async with serve(
        scripted_text=STORY_TEXT,
        scripted_tokens_per_second=150,
        max_concurrent_runs=RUNS,
        ping_seconds=1,
        # One family, 200 readers: a dropped stream's place comes back when the server notices
        # the disconnect, which may be just after the reconnect has claimed a new one.
        family_concurrent_streams=2 * CLIENTS,
    ) as client:
        child_id = await create_child(client)
        run_ids = [await start_run(client, child_id) for _ in range(RUNS)]
        rng = random.Random(20261122)
        readers = [
            _read_with_drops(client, run_ids[number % RUNS], random.Random(rng.random()))
            for number in range(CLIENTS)
        ]

        async def health_while_streaming() -> list[int]:
            codes = []
            for _ in range(5):
                codes.append((await client.get("/healthz")).status_code)
                await asyncio.sleep(0.05)
            return codes

        results, health = await asyncio.gather(asyncio.gather(*readers), health_while_streaming())
        assert health == [200] * 5
        complete = {
            run_id: await collect(client, f"/api/v1/runs/{run_id}/stream") for run_id in run_ids
        }
        for number, frames in enumerate(results):
            expected = complete[run_ids[number % RUNS]]
            assert [frame.id for frame in frames] == list(range(1, len(expected) + 1))
            assert frames == expected
            assert frames[-1].event == "complete"
