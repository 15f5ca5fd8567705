"""Redis restarts (empty: no persistence) in the middle of a run: the writer replays the run's
events, readers ride out the outage, and the stream goes on with no gap and no duplicate."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis
from redis.exceptions import RedisError

from backend.app import create_app
from tests.support import (
    STORY_BODY,
    STORY_TEXT,
    LiveServer,
    closed_port,
    collect,
    create_child,
    make_settings,
    sign_up,
    start_run,
    streamed_text,
)


class RedisProcess:
    """A throwaway redis-server on its own port, that the test can stop and start again."""

    def __init__(self, folder: Path) -> None:
        self.port = closed_port()
        self.folder = folder
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except RedisError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed on this machine")
    process = RedisProcess(tmp_path)
    process.start()
    yield process
    process.stop()


async def test_a_redis_restart_mid_run_loses_and_repeats_nothing(
    tmp_path: Path, redis_process: RedisProcess
) -> None:
    settings = make_settings(
        tmp_path,
        redis_url=redis_process.url,
        scripted_text=STORY_TEXT,
        scripted_tokens_per_second=40,
    )
    with LiveServer(create_app(settings)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            await sign_up(client)
            child_id = await create_child(client)
            run_id = await start_run(client, child_id)
            reading = asyncio.create_task(collect(client, f"/api/v1/runs/{run_id}/stream"))
            await asyncio.sleep(0.5)

            await asyncio.to_thread(redis_process.stop)
            assert (await client.get("/healthz")).status_code == 200
            await asyncio.sleep(0.5)
            await asyncio.to_thread(redis_process.start)

            frames = await reading
            assert [frame.id for frame in frames] == list(range(1, len(frames) + 1))
            assert frames[-1].event == "complete"
            assert streamed_text(frames) == STORY_BODY
            # A client joining after the restart gets the whole run, replayed.
            assert await collect(client, f"/api/v1/runs/{run_id}/stream") == frames
