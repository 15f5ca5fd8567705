"""Two service processes on different ports sharing PostgreSQL and Redis: a run started on one
is joined, resumed and cancelled on the other; when one process dies mid-story, the other ends
its run as interrupted and every stream of it ends."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.servers import Server, clean_environment, running_server
from tests.databases import postgres_database, redis_url
from tests.support import (
    STORY_BODY,
    STORY_TEXT,
    collect,
    create_child,
    sign_up,
    start_run,
    streamed_text,
    wait_for_run,
)

HEARTBEAT_SECONDS = 1.5
START_PATIENCE = 120.0


@pytest.fixture
def shared_database() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def replica_environment(database_url: str, tokens_per_second: float) -> dict[str, str]:
    return clean_environment(
        {
            "STORYSTREAM_ENV": "test",
            "STORYSTREAM_DATABASE_URL": database_url,
            "STORYSTREAM_REDIS_URL": redis_url(),
            # The two replicas share their keys, and no other suite on this Redis does.
            "STORYSTREAM_REDIS_NAMESPACE": f"storystream-test-{uuid.uuid4().hex[:12]}",
            "STORYSTREAM_LLM_PROVIDER": "scripted",
            "STORYSTREAM_SCRIPTED_TEXT": STORY_TEXT,
            "STORYSTREAM_SCRIPTED_TOKENS_PER_SECOND": f"{tokens_per_second:g}",
            "STORYSTREAM_RUNNER_HEARTBEAT_SECONDS": f"{HEARTBEAT_SECONDS:g}",
        }
    )


@dataclass(frozen=True)
class Family:
    """One family signed in on both replicas, with a child."""

    a: Server
    on_a: httpx.AsyncClient
    on_b: httpx.AsyncClient
    child_id: int


@asynccontextmanager
async def two_replicas(
    tmp_path: Path, database_url: str, tokens_per_second: float
) -> AsyncIterator[Family]:
    env = replica_environment(database_url, tokens_per_second)
    with ExitStack() as stack:
        a, b = (
            stack.enter_context(
                running_server(
                    f"replica {name}",
                    ["backend.main:app"],
                    env,
                    0,
                    tmp_path / f"replica-{name}.log",
                    START_PATIENCE,
                )
            )
            for name in ("a", "b")
        )
        async with (
            httpx.AsyncClient(base_url=a.base_url, timeout=30) as on_a,
            httpx.AsyncClient(base_url=b.base_url, timeout=30) as on_b,
        ):
            token = await sign_up(on_a)
            on_b.headers["Authorization"] = f"Bearer {token}"
            yield Family(a=a, on_a=on_a, on_b=on_b, child_id=await create_child(on_a))


async def test_a_run_started_on_one_replica_is_joined_resumed_and_cancelled_on_another(
    tmp_path: Path, shared_database: str
) -> None:
    async with two_replicas(tmp_path, shared_database, tokens_per_second=60) as family:
        on_a, on_b, child_id = family.on_a, family.on_b, family.child_id
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

        second = await start_run(on_a, child_id, theme="ocean")
        seen = await collect(on_b, f"/api/v1/runs/{second}/stream", stop_after_content=2)
        cancelled = await on_b.post(f"/api/v1/runs/{second}/cancel")
        assert cancelled.status_code == 202
        tail = await collect(
            on_b, f"/api/v1/runs/{second}/stream", headers={"Last-Event-ID": str(seen[-1].id)}
        )
        assert tail[-1].data["error_code"] == "CANCELLED"
        run = await wait_for_run(on_b, second, {"cancelled"})
        assert run["story_id"] is None


async def test_when_a_replica_dies_mid_story_another_ends_the_run_and_streams_end_retryably(
    tmp_path: Path, shared_database: str
) -> None:
    # Slow enough that the story is still being written when its replica dies.
    async with two_replicas(tmp_path, shared_database, tokens_per_second=10) as family:
        on_a, on_b, child_id = family.on_a, family.on_b, family.child_id
        run_id = await start_run(on_a, child_id)
        seen = await collect(on_b, f"/api/v1/runs/{run_id}/stream", stop_after_content=3)

        os.kill(family.a.pid, signal.SIGKILL)  # no shutdown, no goodbye: the heartbeat just stops
        rest = await asyncio.wait_for(
            collect(
                on_b,
                f"/api/v1/runs/{run_id}/stream",
                headers={"Last-Event-ID": str(seen[-1].id)},
            ),
            timeout=HEARTBEAT_SECONDS * 10,
        )
        frames = seen + rest
        assert [frame.id for frame in frames] == list(range(1, len(frames) + 1))
        assert frames[-1].event == "error"
        assert frames[-1].data["error_code"] == "INTERRUPTED"
        assert frames[-1].data["retryable"] is True
        run = await wait_for_run(on_b, run_id, {"interrupted"})
        assert (run["error_code"], run["story_id"]) == ("INTERRUPTED", None)

        # The family retries on the replica that is still up, and the story is written.
        assert (await on_b.get("/healthz")).status_code == 200
        retry = await start_run(on_b, child_id)
        finished = await collect(on_b, f"/api/v1/runs/{retry}/stream")
        assert finished[-1].event == "complete"
        assert streamed_text(finished) == STORY_BODY
