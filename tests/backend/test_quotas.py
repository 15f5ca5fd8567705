"""Per-family limits: stories started per minute and streams open at once, each a clear 429."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from backend.app import create_app
from tests.support import (
    STORY_TEXT,
    collect,
    create_child,
    make_settings,
    running,
    sign_up,
    start_run,
)


async def _family_with_a_story(client: httpx.AsyncClient) -> tuple[int, str]:
    """Sign up a parent with one child and start one story: (child id, run id)."""
    await sign_up(client)
    child_id = await create_child(client)
    return child_id, await start_run(client, child_id)


async def test_a_family_starting_too_many_stories_a_minute_gets_429(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, scripted_text=STORY_TEXT, family_runs_per_minute=2)
    async with running(create_app(settings)) as client:
        await sign_up(client)
        child_id = await create_child(client)
        body: dict[str, str | int] = {"child_id": child_id, "theme": "space"}
        assert [(await client.post("/api/v1/runs", json=body)).status_code for _ in range(2)] == [
            201,
            201,
        ]
        refused = await client.post("/api/v1/runs", json=body)
        assert refused.status_code == 429
        assert refused.json() == {
            "detail": (
                "this family started 2 stories in the last minute; "
                "wait a little before the next one"
            )
        }
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        streamed = await client.get("/api/v1/stories/generate/stream", params=body)
        assert streamed.status_code == 429

        # Another family is not affected.
        await sign_up(client)
        other_child = await create_child(client)
        assert (
            await client.post("/api/v1/runs", json={"child_id": other_child, "theme": "space"})
        ).status_code == 201


async def test_a_family_with_too_many_open_streams_gets_429(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        scripted_text=STORY_TEXT,
        scripted_tokens_per_second=20,
        family_concurrent_streams=1,
    )
    async with running(create_app(settings)) as client:
        _, run_id = await _family_with_a_story(client)
        first = asyncio.create_task(collect(client, f"/api/v1/runs/{run_id}/stream"))
        await asyncio.sleep(0.3)
        second = await client.get(f"/api/v1/runs/{run_id}/stream")
        assert second.status_code == 429
        assert (
            second.json()["detail"] == "this family already has 1 story streaming; close one first"
        )
        frames = await first
        assert frames[-1].event == "complete"
        # The place is given back when a stream ends.
        again = await collect(client, f"/api/v1/runs/{run_id}/stream")
        assert again == frames


async def test_a_story_stream_refused_for_another_reason_gives_its_place_back(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path,
        scripted_text=STORY_TEXT,
        family_concurrent_streams=1,
        family_runs_per_minute=1,
    )
    async with running(create_app(settings)) as client:
        child_id, run_id = await _family_with_a_story(client)
        story: dict[str, str | int] = {"child_id": child_id, "theme": "space"}
        too_many = await client.get("/api/v1/stories/generate/stream", params=story)
        assert too_many.status_code == 429
        assert "stories in the last minute" in too_many.json()["detail"]
        # The refused stream held no place: the family's one stream can still open.
        assert (await collect(client, f"/api/v1/runs/{run_id}/stream"))[-1].event == "complete"
