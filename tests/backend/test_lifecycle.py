"""Starting and stopping: runs a dead process left behind, graceful shutdown, no new runs."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.auth.passwords import PasswordHashing
from backend.db.migrate import upgrade_database
from backend.quotas import FamilyQuotas
from backend.runs.log import InMemoryEventLog
from backend.runs.manager import RunManager
from backend.runs.runners import OrphanSweeper
from tests.support import (
    STORY_TEXT,
    collect,
    create_child,
    left_behind_runs,
    make_settings,
    one_connection_settings,
    run_states,
    running,
    sign_up,
    start_run,
)
from workflows.providers import BuiltModel


async def test_runs_left_running_by_a_dead_process_are_marked_interrupted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    await asyncio.to_thread(upgrade_database, settings.database_url)
    await left_behind_runs(
        settings.database_url,
        {"a": ("queued", "gone-1"), "b": ("running", None), "c": ("completed", "gone-1")},
    )

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert await run_states(settings.database_url) == {
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
    app = create_app(one_connection_settings(tmp_path, 0.2))
    async with running(app) as client:
        await sign_up(client)
        # Every connection of the (one-connection) pool is busy.
        async with app.state.services.engine.connect():
            response = await client.get("/api/v1/children")
        assert (await client.get("/api/v1/children")).status_code == 200
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json() == {
            "detail": "the story library is unavailable right now; try again shortly"
        }


async def test_a_start_that_fails_half_way_closes_what_it_had_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []

    def spy(owner: type[Any], method: str, name: str) -> None:
        original = getattr(owner, method)

        if inspect.iscoroutinefunction(original):

            async def closing(self: Any, *args: Any) -> Any:
                closed.append(name)
                return await original(self, *args)

            monkeypatch.setattr(owner, method, closing)
        else:

            def closing_now(self: Any, *args: Any) -> Any:
                closed.append(name)
                return original(self, *args)

            monkeypatch.setattr(owner, method, closing_now)

    spy(AsyncEngine, "dispose", "database")
    spy(InMemoryEventLog, "aclose", "event log")
    spy(BuiltModel, "close", "story model")
    spy(PasswordHashing, "close", "password hashing")
    spy(FamilyQuotas, "aclose", "quotas")
    spy(RunManager, "shutdown", "runs")

    async def database_refuses(self: OrphanSweeper) -> list[str]:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    # The last step of the start: looking for runs a dead process left behind.
    monkeypatch.setattr(OrphanSweeper, "sweep", database_refuses)
    # Not migrating: the migration opens (and disposes) an engine of its own.
    app = create_app(make_settings(tmp_path, auto_migrate=False))
    with pytest.raises(OperationalError):
        async with app.router.lifespan_context(app):
            pytest.fail("the service started although its last start-up step failed")
    assert closed == [
        "runs",
        "quotas",
        "password hashing",
        "story model",
        "event log",
        "database",
    ]
