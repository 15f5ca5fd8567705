"""The database refuses connections when a finished chapter is to be stored: the run ends with
PERSIST_FAILED (retryable), its text stays in the run's events, the service keeps serving, and
once the database is back the run is recorded as failed, not left running."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.app import create_app
from tests.databases import admin_statement, postgres_database
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
def database() -> Iterator[str]:
    with postgres_database() as url:
        yield url


async def test_a_database_outage_at_persist_time_ends_with_persist_failed(
    tmp_path: Path, database: str
) -> None:
    name = database.rsplit("/", 1)[1]
    settings = make_settings(
        tmp_path,
        database_url=database,
        scripted_text=STORY_TEXT,
        scripted_tokens_per_second=40,
        persist_attempts=3,
        persist_first_delay_seconds=0.05,
    )
    with LiveServer(create_app(settings)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            await sign_up(client)
            child_id = await create_child(client)
            run_id = await start_run(client, child_id)
            reading = asyncio.create_task(collect(client, f"/api/v1/runs/{run_id}/stream"))
            await asyncio.sleep(0.5)

            # The database goes away mid-story: no new connections, existing ones cut.
            await admin_statement(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin_statement(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
            try:
                frames = await reading
                assert (await client.get("/healthz")).status_code == 200
                meanwhile = await client.get(f"/api/v1/runs/{run_id}")
                assert meanwhile.status_code == 503
                assert meanwhile.headers["retry-after"] == "5"
                assert meanwhile.json() == {
                    "detail": "the story library is unavailable right now; try again shortly"
                }
            finally:
                await admin_statement(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

            assert frames[-1].data["error_code"] == "PERSIST_FAILED"
            assert frames[-1].data["retryable"] is True
            assert [frame.event for frame in frames].count("error") == 1
            # The text the child saw stays in the run's events.
            assert streamed_text(frames) == STORY_BODY
            await asyncio.sleep(0)
            run = await wait_for_run(client, run_id, {"failed"}, patience=60)
            assert (run["error_code"], run["story_id"]) == ("PERSIST_FAILED", None)
