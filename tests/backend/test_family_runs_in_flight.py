"""One family cannot fill the shared queue (issue 13, finding 3): a per-family cap on runs being
written or waiting (429 past it), and the last places kept for other families' first stories."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from backend.app import create_app
from tests.support import STORY_TEXT, create_child, make_settings, running, sign_up

AT_CAP = (
    "this family already has 3 stories being written or waiting; start the next when one has "
    "finished"
)


def _slow_settings(tmp_path: Path, **overrides: Any) -> Any:
    # Slow stories, so every run admitted stays in flight for the whole test.
    return make_settings(
        tmp_path,
        scripted_text=STORY_TEXT,
        scripted_tokens_per_second=2,
        shutdown_grace_seconds=0,
        **overrides,
    )


async def _family(transport: httpx.ASGITransport) -> tuple[httpx.AsyncClient, int]:
    client = httpx.AsyncClient(transport=transport, base_url="http://storystream.test")
    await sign_up(client)
    return client, await create_child(client)


async def _post_runs(client: httpx.AsyncClient, child_id: int, count: int) -> list[httpx.Response]:
    body = {"child_id": child_id, "theme": "space"}
    return list(
        await asyncio.gather(*(client.post("/api/v1/runs", json=body) for _ in range(count)))
    )


async def test_a_familys_burst_of_sixteen_gets_429_past_its_cap_and_another_family_still_starts(
    tmp_path: Path,
) -> None:
    app = create_app(_slow_settings(tmp_path, family_runs_in_flight=3))
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        (family_a, child_a), (family_b, child_b) = [await _family(transport) for _ in range(2)]
        try:
            burst = await _post_runs(family_a, child_a, 16)
            statuses = sorted(response.status_code for response in burst)
            assert statuses == [201] * 3 + [429] * 13
            refused = next(response for response in burst if response.status_code == 429)
            assert refused.json() == {"detail": AT_CAP}
            assert refused.headers["retry-after"] == "5"
            assert (await _post_runs(family_b, child_b, 1))[0].status_code == 201
        finally:
            await family_a.aclose()
            await family_b.aclose()


async def test_the_last_places_are_kept_for_families_without_a_story_in_progress(
    tmp_path: Path,
) -> None:
    # Eight places (one writing, seven waiting), a quarter of them (two) kept for first stories;
    # the cap (7) would let family A take seven, the reserve stops it at six.
    settings = _slow_settings(
        tmp_path, max_concurrent_runs=1, max_queued_runs=7, family_runs_in_flight=7
    )
    app = create_app(settings)
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        families = [await _family(transport) for _ in range(4)]
        try:
            (a, child_a), (b, child_b), (c, child_c), (d, child_d) = families
            taken = [(await _post_runs(a, child_a, 1))[0].status_code for _ in range(6)]
            assert taken == [201] * 6
            kept = (await _post_runs(a, child_a, 1))[0]
            assert kept.status_code == 503
            assert kept.json()["detail"] == (
                "StoryStream is nearly full and keeps its last places for families without a "
                "story in progress; try again when one of yours has finished"
            )
            assert (await _post_runs(b, child_b, 1))[0].status_code == 201
            assert (await _post_runs(c, child_c, 1))[0].status_code == 201
            assert (await _post_runs(d, child_d, 1))[0].status_code == 503  # every place taken
        finally:
            for client, _ in families:
                await client.aclose()
