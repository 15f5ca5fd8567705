"""Starting and stopping: runs a dead process left behind, graceful shutdown, no new runs."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import TimeoutError as PoolTimeout

from backend.app import create_app
from backend.db.engine import create_engine, create_session_factory
from backend.db.migrate import upgrade_database
from backend.db.models import Child, Parent, Run
from tests.support import (
    STORY_TEXT,
    collect,
    create_child,
    make_settings,
    running,
    sign_up,
    start_run,
)


async def test_runs_left_running_by_a_dead_process_are_marked_interrupted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    await asyncio.to_thread(upgrade_database, settings.database_url)
    # What a process that died mid-story leaves behind: rows that say queued and running.
    engine = create_engine(settings.database_url)
    async with create_session_factory(engine)() as session, session.begin():
        session.add(Parent(id=1, email="p@example.com", password_hash="x"))
        await session.flush()
        session.add(Child(id=1, parent_id=1, name="Mia", age=6))
        await session.flush()
        for run_id, status in (("a", "queued"), ("b", "running"), ("c", "completed")):
            session.add(
                Run(
                    id=run_id,
                    child_id=1,
                    theme="space",
                    chapter_number=1,
                    title="T",
                    status=status,
                    provider="scripted",
                    model="scripted",
                )
            )
    await engine.dispose()

    app = create_app(settings)
    async with app.router.lifespan_context(app), app.state.services.sessions() as session:
        runs = {run.id: (run.status, run.error_code) for run in await session.scalars(select(Run))}
    assert runs == {
        "a": ("interrupted", "INTERRUPTED"),
        "b": ("interrupted", "INTERRUPTED"),
        "c": ("completed", None),
    }


async def test_shutdown_lets_short_runs_finish_and_interrupts_long_ones(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, scripted_text=STORY_TEXT, scripted_tokens_per_second=2, shutdown_grace_seconds=0.2
    )
    app = create_app(settings)
    async with running(app) as client:
        await sign_up(client)
        child_id = await create_child(client)
        run_id = await start_run(client, child_id)
        services = app.state.services
        await services.runs.shutdown(settings.shutdown_grace_seconds)
        refused = await client.post("/api/v1/runs", json={"child_id": child_id, "theme": "space"})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.json() == {
            "detail": "the service is shutting down and starts no new stories"
        }
        frames = await collect(client, f"/api/v1/runs/{run_id}/stream")
        assert frames[-1].data == {
            "type": "error",
            "message": "the service stopped before the story was finished",
            "error_code": "INTERRUPTED",
            "retryable": True,
        }
        run = (await client.get(f"/api/v1/runs/{run_id}")).json()
        assert (run["status"], run["error_code"]) == ("interrupted", "INTERRUPTED")


async def test_shutdown_waits_for_a_run_that_finishes_within_the_grace(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        scripted_text=STORY_TEXT,
        scripted_tokens_per_second=400,
        shutdown_grace_seconds=20,
    )
    app = create_app(settings)
    async with running(app) as client:
        await sign_up(client)
        child_id = await create_child(client)
        run_id = await start_run(client, child_id)
        await app.state.services.runs.shutdown(settings.shutdown_grace_seconds)
        run = (await client.get(f"/api/v1/runs/{run_id}")).json()
        assert run["status"] == "completed"


async def test_an_exhausted_database_pool_answers_503_not_500(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    async with running(app) as client:
        await sign_up(client)
        services = app.state.services

        def exhausted() -> None:
            raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")

        app.state.services = replace(services, sessions=exhausted)
        try:
            response = await client.get("/api/v1/children")
        finally:
            app.state.services = services
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json() == {
            "detail": "the story library is unavailable right now; try again shortly"
        }
