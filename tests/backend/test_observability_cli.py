"""`storystream runs list|show` (issue 16): an operator reads runs from the database and the
event log, never the story's text."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.cli import app
from backend.observability.runs_view import _read, describe_event
from backend.runs.events import ContentEvent, ErrorEvent, NodeEvent
from backend.runs.log import InMemoryEventLog
from tests.support import run_states

runner = CliRunner()


@pytest.fixture
def scripted_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("STORYSTREAM_LLM_PROVIDER", "scripted")
    monkeypatch.setenv("STORYSTREAM_DATABASE_URL", url)
    # Wide enough that a run id is not wrapped in the table.
    monkeypatch.setenv("COLUMNS", "220")
    return url


def test_runs_list_and_show_after_a_story(scripted_env: str) -> None:
    generated = runner.invoke(app, ["generate", "--theme", "ocean"])
    assert generated.exit_code == 0, generated.output
    (run_id, (status, error_code)), *_ = asyncio.run(run_states(scripted_env)).items()
    assert (status, error_code) == ("completed", None)

    listed = runner.invoke(app, ["runs", "list"])
    assert listed.exit_code == 0, listed.output
    assert "runs (1)" in listed.stdout
    assert run_id in listed.stdout
    assert "completed" in listed.stdout

    shown = runner.invoke(app, ["runs", "show", run_id])
    assert shown.exit_code == 0, shown.output
    assert f"run: {run_id}" in shown.stdout
    assert "outcome: completed" in shown.stdout
    assert "chapter: 1 of theme ocean" in shown.stdout
    assert "story: 1" in shown.stdout
    assert "events: not readable here" in shown.stdout
    assert "Once upon a time" not in shown.stdout


def test_runs_show_an_unknown_run_fails_with_one_line(scripted_env: str) -> None:
    runner.invoke(app, ["db", "upgrade"])
    result = runner.invoke(app, ["runs", "show", "0" * 32])
    assert result.exit_code == 1
    assert f"no run {'0' * 32}" in result.stderr


async def test_the_last_events_are_read_without_waiting_and_without_text() -> None:
    log = InMemoryEventLog(retention_seconds=60)
    await log.create("r1")
    await log.append("r1", NodeEvent(node="workflow", status="started", progress=0, run_id="r1"))
    for word in ("Once", " upon", " a", " time"):
        await log.append("r1", ContentEvent(chunk=word, attempt=1))
    # Still open: reading must not wait for the next event.
    events = await _read(log, "r1", last=3)
    assert (events.count, events.closed) == (5, False)
    assert [event.seq for event in events.last] == [3, 4, 5]
    assert describe_event(events.last[0]) == "content attempt=1 chars=5"
    await log.append("r1", ErrorEvent(message="stopped", error_code="CANCELLED", retryable=False))
    ended = await _read(log, "r1", last=1)
    assert (ended.count, ended.closed) == (6, True)
    assert describe_event(ended.last[0]) == (
        "error message=stopped error_code=CANCELLED retryable=False"
    )
    await log.aclose()


async def test_runs_show_reads_the_events_from_redis(tmp_path: Path) -> None:
    import uuid

    from backend.observability.runs_view import run_events
    from backend.services import build_event_log
    from tests.databases import redis_url
    from tests.support import make_settings

    settings = make_settings(tmp_path, redis_url=redis_url())
    run_id = uuid.uuid4().hex
    log = build_event_log(settings)
    try:
        await log.create(run_id)
        await log.append(
            run_id, NodeEvent(node="workflow", status="started", progress=0, run_id=run_id)
        )
        for word in ("Once", " upon", " a"):
            await log.append(run_id, ContentEvent(chunk=word, attempt=1))
        read_open = await run_events(settings, run_id, last=2)
        await log.append(
            run_id, ErrorEvent(message="stopped", error_code="CANCELLED", retryable=False)
        )
        read_closed = await run_events(settings, run_id, last=2)
    finally:
        await log.aclose()
    assert (read_open.count, read_open.closed) == (4, False)
    assert [event.seq for event in read_open.last] == [3, 4]
    assert (read_closed.count, read_closed.closed) == (5, True)
    assert [event.type for event in read_closed.last] == ["content", "error"]
