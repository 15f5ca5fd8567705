"""The operator's view of runs (`storystream runs list|show`): from the database, and from the
event log where it can be read from here (Redis; an in-memory log lives in the serving process).
Titles are shown (a parent's words, not a child's name); story text never is."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, select

from backend.db.engine import create_engine, create_session_factory
from backend.db.models import Child, Run, Story
from backend.read_models import read_model
from backend.runs.log import LoggedEvent, RunEventLog, UnknownRunLog
from backend.services import build_event_log
from backend.settings import Settings

# Fields of an event that carry story text: left out of what is shown.
_TEXT_FIELDS = ("chunk", "story", "issues")


class RunRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    status: str
    child_id: int
    family_id: int | None
    theme: str
    chapter_number: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    time_to_first_token_ms: int | None
    total_ms: int | None
    input_tokens: int | None
    output_tokens: int | None
    error_code: str | None
    error_message: str | None
    runner: str | None
    provider: str
    model: str
    gate: str | None
    story_id: int | None


@dataclass(frozen=True)
class RunEvents:
    """What the event log holds of a run: None when it cannot be read from here."""

    count: int | None
    closed: bool | None
    last: list[LoggedEvent]
    unavailable_because: str | None = None


def _row(run: Run, family_id: int | None, story_id: int | None) -> RunRow:
    return read_model(RunRow, run, family_id=family_id, story_id=story_id)


def _runs_query() -> Select[Run, int | None, int]:
    """Runs with their family (the child's parent) and their stored chapter, if any."""
    return (
        select(Run, Child.parent_id, Story.id)
        .join(Child, Child.id == Run.child_id, isouter=True)
        .join(Story, Story.run_id == Run.id, isouter=True)
    )


async def list_runs(
    settings: Settings, *, limit: int, status: str | None = None, child_id: int | None = None
) -> list[RunRow]:
    """The newest runs first."""
    engine = create_engine(settings.database_url)
    try:
        query = _runs_query()
        if status is not None:
            query = query.where(Run.status == status)
        if child_id is not None:
            query = query.where(Run.child_id == child_id)
        query = query.order_by(Run.created_at.desc(), Run.id).limit(limit)
        async with create_session_factory(engine)() as session:
            rows = (await session.execute(query)).all()
        return [_row(run, family, story) for run, family, story in rows]
    finally:
        await engine.dispose()


async def find_run(settings: Settings, run_id: str) -> RunRow | None:
    engine = create_engine(settings.database_url)
    try:
        query = _runs_query().where(Run.id == run_id)
        async with create_session_factory(engine)() as session:
            found = (await session.execute(query)).first()
        return None if found is None else _row(found[0], found[1], found[2])
    finally:
        await engine.dispose()


async def run_events(settings: Settings, run_id: str, last: int) -> RunEvents:
    """How many events the run's log holds and the `last` of them."""
    if settings.redis_url is None:
        return RunEvents(
            None,
            None,
            [],
            "the event log is in the serving process's memory (set STORYSTREAM_REDIS_URL to "
            "read it from here)",
        )
    log = build_event_log(settings)
    try:
        return await _read(log, run_id, last)
    finally:
        with contextlib.suppress(Exception):
            await log.aclose()


async def _read(log: RunEventLog, run_id: str, last: int) -> RunEvents:
    try:
        count = await log.last_seq(run_id)
        closed = await log.is_closed(run_id)
    except UnknownRunLog:
        return RunEvents(None, None, [], "its events are no longer kept (retention passed)")
    events: list[LoggedEvent] = []
    if count and last:
        # Read what is there now, without waiting for more.
        async for batch in log.follow_batches(run_id, max(count - last, 0)):
            events.extend(event for event in batch if event.seq <= count)
            if events and events[-1].seq >= count:
                break
    return RunEvents(count, closed, events[-last:] if last else [])


def describe_event(event: LoggedEvent) -> str:
    """One line for an event, without any story text."""
    try:
        data = json.loads(event.data)
    except ValueError:
        return event.type
    shown = {key: value for key, value in data.items() if key != "type" and key not in _TEXT_FIELDS}
    if event.type == "content":
        shown["chars"] = len(str(data.get("chunk", "")))
    if event.type == "complete":
        story = data.get("story") or {}
        shown.update(
            story_id=story.get("id"), timings=story.get("timings"), usage=story.get("usage")
        )
    if event.type == "safety":
        shown["categories"] = sorted({issue.get("category") for issue in data.get("issues", [])})
    return f"{event.type} " + " ".join(f"{key}={value}" for key, value in shown.items())
