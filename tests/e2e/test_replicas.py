"""Two service processes' worth of replicas (two uvicorn servers, two apps) sharing PostgreSQL
and Redis: a run started on one is joined, resumed and cancelled on the other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.app import create_app
from tests.databases import postgres_database, redis_url
from tests.support import (
    STORY_BODY,
    STORY_TEXT,
    LiveServer,
    collect,
    create_child,
    make_settings,
    sign_up,
    start_run,
    streamed_text,
    wait_for_run,
)


@pytest.fixture
def shared_database() -> Iterator[str]:
    with postgres_database() as url:
        yield url


async def test_a_run_started_on_one_replica_is_joined_resumed_and_cancelled_on_another(
    tmp_path: Path, shared_database: str
) -> None:
    settings = make_settings(
        tmp_path,
        database_url=shared_database,
        redis_url=redis_url(),
        scripted_text=STORY_TEXT,
        scripted_tokens_per_second=60,
    )
    with LiveServer(create_app(settings)) as a, LiveServer(create_app(settings)) as b:
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=30) as on_a,
            httpx.AsyncClient(base_url=b.url, timeout=30) as on_b,
        ):
            token = await sign_up(on_a)
            on_b.headers["Authorization"] = f"Bearer {token}"
            child_id = await create_child(on_a)

            run_id = await start_run(on_a, child_id)
            first = await collect(on_b, f"/api/v1/runs/{run_id}/stream", stop_after_content=5)
            rest = await collect(
                on_b,
                f"/api/v1/runs/{run_id}/stream",
                headers={"Last-Event-ID": str(first[-1].id)},
            )
            joined = first + rest
            assert [frame.id for frame in joined] == list(range(1, len(joined) + 1))
            assert joined == await collect(on_a, f"/api/v1/runs/{run_id}/stream")
            assert streamed_text(joined) == STORY_BODY
            story_id = joined[-1].data["story"]["id"]
            assert (await on_b.get(f"/api/v1/stories/{story_id}")).json()["content"] == STORY_BODY

            second = (
                await on_a.post("/api/v1/runs", json={"child_id": child_id, "theme": "ocean"})
            ).json()["run_id"]
            seen = await collect(on_b, f"/api/v1/runs/{second}/stream", stop_after_content=2)
            cancelled = await on_b.post(f"/api/v1/runs/{second}/cancel")
            assert cancelled.status_code == 202
            tail = await collect(
                on_b, f"/api/v1/runs/{second}/stream", headers={"Last-Event-ID": str(seen[-1].id)}
            )
            assert tail[-1].data["error_code"] == "CANCELLED"
            run = await wait_for_run(on_b, second, {"cancelled"})
            assert run["story_id"] is None
