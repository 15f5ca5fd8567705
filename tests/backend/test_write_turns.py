"""SQLite's writers take turns in order, and a writer waiting for its turn holds no pooled
connection, so readers go on (`backend/db/write_turns.py`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from backend.app import create_app
from backend.db.write_turns import WriteTurns, write_turns_for
from backend.services import Services
from tests.support import create_child, one_connection_settings, running, sign_up


async def test_writers_take_their_turns_in_the_order_they_came() -> None:
    turns = WriteTurns(taken=True)
    log: list[str] = []

    async def writer(name: str) -> None:
        async with turns.turn():
            log.append(f"{name} in")
            await asyncio.sleep(0.01)
            log.append(f"{name} out")

    first = asyncio.create_task(writer("a"))
    await asyncio.sleep(0)  # a holds its turn
    assert turns.busy
    others = [asyncio.create_task(writer(name)) for name in ("b", "c")]
    await asyncio.gather(first, *others)
    assert log == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert not turns.busy


async def test_without_turns_writers_never_wait() -> None:
    turns = WriteTurns(taken=False)
    inside = asyncio.Event()

    async def holder() -> None:
        async with turns.turn():
            inside.set()
            await asyncio.sleep(0.05)

    task = asyncio.create_task(holder())
    await inside.wait()
    assert not turns.busy
    async with asyncio.timeout(0.01), turns.turn():
        # In at once, while the holder is still inside its own turn.
        assert not task.done()
    await task


async def test_only_sqlite_takes_turns(tmp_path: Path) -> None:
    sqlite = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    postgres = create_async_engine("postgresql+asyncpg://storystream@127.0.0.1:1/none")
    try:
        assert write_turns_for(sqlite).taken
        assert not write_turns_for(postgres).taken
    finally:
        await sqlite.dispose()
        await postgres.dispose()


async def test_a_story_start_waiting_for_its_turn_holds_no_connection(tmp_path: Path) -> None:
    # One pooled connection and a short wait for it: a start that kept its connection while it
    # waits for the turn would leave the reader below a 503.
    app = create_app(one_connection_settings(tmp_path, 1.0, scripted_tokens_per_second=200))
    async with running(app) as client:
        await sign_up(client)
        child_id = await create_child(client)
        services: Services = app.state.services
        turns = services.runs.env.write_turns
        held, release = asyncio.Event(), asyncio.Event()

        async def someone_writing() -> None:
            async with turns.turn():
                held.set()
                await release.wait()

        writer = asyncio.create_task(someone_writing())
        await held.wait()
        start = asyncio.create_task(
            client.post("/api/v1/runs", json={"child_id": child_id, "theme": "space"})
        )
        await asyncio.sleep(1.5)  # longer than the pool's timeout
        assert not start.done()  # it waits for its turn...
        reader = await client.get(f"/api/v1/children/{child_id}")
        assert reader.status_code == 200  # ...and the reader found the connection free
        assert services.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        release.set()
        await writer
        started = await start
        assert started.status_code == 201
        run = await client.get(f"/api/v1/runs/{started.json()['run_id']}")
        assert run.status_code == 200
