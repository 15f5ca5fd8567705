"""Every run concludes once (issue 15): on each ending path its row is inserted once and written
once more at its end (one more write only for a run that had to queue: it becomes "running"),
and exactly one terminal event (`complete` or `error`) is published."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.runs import executor, manager
from backend.runs.events import WireEvent
from backend.runs.log import LoggedEvent, RunEventLog
from backend.runs.manager import RunManager
from backend.runs.persistence import ChapterNotStored
from backend.services import Services
from tests.support import (
    STORY_TEXT,
    closed_port,
    collect,
    create_child,
    make_settings,
    running,
    sign_up,
    start_run,
    story_request,
)

UNSAFE_TEXT = "The pirate pulled out a gun.\nQUESTION: ?\nCHOICE 1: a\nCHOICE 2: b"


class CountingEventLog:
    """The run's event log, counting the terminal events appended to each run."""

    def __init__(self, log: RunEventLog) -> None:
        self._log = log
        self.terminal: Counter[str] = Counter()

    async def append(self, run_id: str, wire_event: WireEvent) -> LoggedEvent:
        logged = await self._log.append(run_id, wire_event)
        if logged.is_terminal:
            self.terminal[run_id] += 1
        return logged

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)


@dataclass
class RowWrites:
    """Statements on the `runs` table that the database carried out, per run id."""

    inserts: Counter[str]
    updates: Counter[str]


@contextmanager
def counting_row_writes(engine: AsyncEngine, run_ids: list[str]) -> Iterator[RowWrites]:
    writes = RowWrites(Counter(), Counter())

    def count(conn: Connection, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        words = statement.split(None, 3)[:3]
        if [word.upper() for word in words] == ["INSERT", "INTO", "RUNS"]:
            target = writes.inserts
        elif [word.upper() for word in words[:2]] == ["UPDATE", "RUNS"]:
            target = writes.updates
        else:
            return
        for run_id in run_ids:
            if run_id in repr(parameters):
                target[run_id] += 1

    event.listen(engine.sync_engine, "after_cursor_execute", count)
    try:
        yield writes
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", count)


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient
    log: CountingEventLog
    child_id: int

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    @property
    def runs(self) -> RunManager:
        return self.services.runs


@asynccontextmanager
async def service(tmp_path: Path, **overrides: Any) -> AsyncIterator[Running]:
    app = create_app(make_settings(tmp_path, **{"scripted_text": STORY_TEXT, **overrides}))
    async with running(app) as client:
        await sign_up(client)
        child_id = await create_child(client)
        runs: RunManager = app.state.services.runs
        log = CountingEventLog(runs.env.event_log)
        runs.env = replace(runs.env, event_log=log)
        yield Running(app, client, log, child_id)


@pytest.fixture
def fixed_run_ids(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The run ids the manager hands out, known before the first insert."""
    ids = [f"run{number:029d}" for number in range(1, 6)]
    pending = iter(ids)
    monkeypatch.setattr(
        manager, "uuid", SimpleNamespace(uuid4=lambda: SimpleNamespace(hex=next(pending)))
    )
    return ids


async def _ended(service: Running, run_id: str) -> tuple[str, dict[str, Any]]:
    """The run's last event (the only one of its kind in its stream) and its record."""
    frames = await collect(service.client, f"/api/v1/runs/{run_id}/stream")
    run: dict[str, Any] = (await service.client.get(f"/api/v1/runs/{run_id}")).json()
    last = frames[-1]
    assert [frame.event for frame in frames].count(last.event) == 1
    return last.event, run


async def _writing(service: Running, run_id: str) -> None:
    """Wait until the run streams its story (in-process, a stream is read only once it ends)."""
    for _ in range(1000):
        if service.log.terminal[run_id] == 0 and await service.log.last_seq(run_id) >= 3:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"run {run_id} did not start writing")


async def _all_concluded(service: Running) -> None:
    """Every run has concluded (and the manager forgot it) before anything is counted."""
    await service.runs.shutdown(grace_seconds=30)
    assert service.runs.live_runs == 0


@pytest.mark.parametrize(
    ("overrides", "event_type", "status", "code"),
    [
        ({}, "complete", "completed", None),
        ({"scripted_text": UNSAFE_TEXT}, "error", "failed", "SAFETY_REJECTED"),
        ({"scripted_fail_at_token": 5}, "error", "failed", "LLM_ERROR"),
        (
            {
                "scripted_tokens_per_second": 2,
                "run_timeout_seconds": 0.5,
                "first_token_timeout_seconds": 0.5,
                "idle_timeout_seconds": 0.5,
            },
            "error",
            "failed",
            "TIMEOUT",
        ),
        (
            {
                "llm_provider": "ollama",
                "ollama_base_url": f"http://127.0.0.1:{closed_port()}",
            },
            "error",
            "failed",
            "LLM_UNAVAILABLE",
        ),
    ],
    ids=["completed", "safety-rejected", "llm-error", "timeout", "llm-unavailable"],
)
async def test_a_run_writes_its_row_once_at_the_end_and_publishes_one_terminal_event(
    tmp_path: Path,
    fixed_run_ids: list[str],
    overrides: dict[str, Any],
    event_type: str,
    status: str,
    code: str | None,
) -> None:
    async with service(tmp_path, **overrides) as running_service:
        run_id = fixed_run_ids[0]
        with counting_row_writes(running_service.services.engine, [run_id]) as writes:
            assert await start_run(running_service.client, running_service.child_id) == run_id
            ended, run = await _ended(running_service, run_id)
            await _all_concluded(running_service)
    assert (ended, run["status"], run["error_code"]) == (event_type, status, code)
    assert (writes.inserts[run_id], writes.updates[run_id]) == (1, 1)
    assert running_service.log.terminal[run_id] == 1


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (ChapterNotStored("connection refused"), "PERSIST_FAILED"),
        (IntegrityError("INSERT INTO stories", {}, Exception("foreign key")), "LLM_ERROR"),
    ],
    ids=["database-away", "constraint"],
)
async def test_a_chapter_that_cannot_be_stored_ends_once(
    tmp_path: Path,
    fixed_run_ids: list[str],
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
    code: str,
) -> None:
    async def refused(*args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(executor, "store_chapter", refused)
    async with service(tmp_path) as running_service:
        run_id = fixed_run_ids[0]
        with counting_row_writes(running_service.services.engine, [run_id]) as writes:
            await start_run(running_service.client, running_service.child_id)
            ended, run = await _ended(running_service, run_id)
            await _all_concluded(running_service)
    assert (ended, run["status"], run["error_code"]) == ("error", "failed", code)
    assert (writes.inserts[run_id], writes.updates[run_id]) == (1, 1)
    assert running_service.log.terminal[run_id] == 1


async def test_a_cancelled_run_ends_once(tmp_path: Path, fixed_run_ids: list[str]) -> None:
    async with service(tmp_path, scripted_tokens_per_second=5) as running_service:
        run_id = fixed_run_ids[0]
        with counting_row_writes(running_service.services.engine, [run_id]) as writes:
            await start_run(running_service.client, running_service.child_id)
            await _writing(running_service, run_id)
            cancel = await running_service.client.post(f"/api/v1/runs/{run_id}/cancel")
            assert cancel.status_code == 202
            ended, run = await _ended(running_service, run_id)
            await _all_concluded(running_service)
    assert (ended, run["status"], run["error_code"]) == ("error", "cancelled", "CANCELLED")
    assert (writes.inserts[run_id], writes.updates[run_id]) == (1, 1)
    assert running_service.log.terminal[run_id] == 1


async def test_a_run_cancelled_before_its_first_step_still_ends_once(
    tmp_path: Path, fixed_run_ids: list[str]
) -> None:
    async with service(tmp_path) as running_service:
        run_id = fixed_run_ids[0]
        runs = running_service.runs
        with counting_row_writes(running_service.services.engine, [run_id]) as writes:
            started = await runs.submit(
                child_id=running_service.child_id,
                family_id=1,
                series_id=None,
                request=story_request(),
            )
            # The task exists but has not run a step: once it does, it sees the cancel.
            assert runs.cancel(started)
            ended, run = await _ended(running_service, run_id)
            await _all_concluded(running_service)
    assert (ended, run["status"], run["error_code"]) == ("error", "cancelled", "CANCELLED")
    assert (writes.inserts[run_id], writes.updates[run_id]) == (1, 1)
    assert running_service.log.terminal[run_id] == 1


async def test_shutdown_interrupts_a_run_once(tmp_path: Path, fixed_run_ids: list[str]) -> None:
    async with service(tmp_path, scripted_tokens_per_second=5) as running_service:
        run_id = fixed_run_ids[0]
        with counting_row_writes(running_service.services.engine, [run_id]) as writes:
            await start_run(running_service.client, running_service.child_id)
            await _writing(running_service, run_id)
            await running_service.runs.shutdown(grace_seconds=0)
            ended, run = await _ended(running_service, run_id)
            await _all_concluded(running_service)
    assert (ended, run["status"], run["error_code"]) == ("error", "interrupted", "INTERRUPTED")
    assert (writes.inserts[run_id], writes.updates[run_id]) == (1, 1)
    assert running_service.log.terminal[run_id] == 1


async def test_a_queued_run_is_written_when_it_starts_and_when_it_ends(
    tmp_path: Path, fixed_run_ids: list[str]
) -> None:
    async with service(
        tmp_path, scripted_tokens_per_second=200, max_concurrent_runs=1
    ) as running_service:
        first, second, third = fixed_run_ids[:3]
        client = running_service.client
        with counting_row_writes(running_service.services.engine, [first, second, third]) as writes:
            for _ in range(3):
                await start_run(client, running_service.child_id)
            assert (await client.get(f"/api/v1/runs/{second}")).json()["status"] == "queued"
            # Cancelled while it waits: it never runs, and ends once.
            assert (await client.post(f"/api/v1/runs/{third}/cancel")).status_code == 202
            ended_first, _ = await _ended(running_service, first)
            ended_second, run = await _ended(running_service, second)
            ended_third, cancelled = await _ended(running_service, third)
            await _all_concluded(running_service)
    assert (ended_first, ended_second, run["status"]) == ("complete", "complete", "completed")
    assert (ended_third, cancelled["status"]) == ("error", "cancelled")
    assert writes.inserts == {first: 1, second: 1, third: 1}
    # The run that waited for its slot is written once more: when it became "running".
    assert writes.updates == {first: 1, second: 2, third: 1}
    assert running_service.log.terminal == {first: 1, second: 1, third: 1}
