"""Storing a finished chapter: once per run (idempotent by run id), retried with back-off (tenacity)
while the database is briefly unavailable."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from tenacity import (
    AsyncRetrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from backend.db.models import RUNS, SERIES, STORIES, Story, utcnow
from backend.db.write_turns import NO_TURNS, SessionSource, WriteTurns

logger = logging.getLogger(__name__)

# Errors that a moment later may not happen again: lost connections, locked or restarting
# databases. Anything else (a constraint, a bug) fails at once.
TRANSIENT_ERRORS = (OperationalError, DBAPIError, OSError, ConnectionError, TimeoutError)


# A session factory (or anything that opens sessions the same way).


def transient_retry(attempts: int, first_delay_seconds: float) -> AsyncRetrying:
    """`attempts` tries in all while the database is briefly unavailable, waiting
    `first_delay_seconds` after the first failure and doubling; anything else fails at once.
    Use a `.copy()` per call: a retrying object keeps its state per thread, not per task."""
    return AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=first_delay_seconds),
        retry=retry_if_exception_type(TRANSIENT_ERRORS),
        before_sleep=before_sleep_log(logger, logging.WARNING),
        reraise=True,
    )


class ChapterNotStored(Exception):
    """The database stayed unavailable through every attempt."""


async def _series_for(
    session: AsyncSession, child_id: int, series_id: int | None, theme: str, title: str
) -> int:
    if series_id is not None:
        # One UPDATE instead of loading the series to touch it.
        touched = await session.execute(
            update(SERIES).where(SERIES.c.id == series_id).values(updated_at=utcnow())
        )
        if touched.rowcount:  # type: ignore[attr-defined]
            return series_id
    # Core statements, not the ORM's unit of work: one row each, and a flush of a new object
    # costs several times the statement's own CPU on every chapter.
    created: int | None = await session.scalar(
        insert(SERIES).values(child_id=child_id, theme=theme, title=title).returning(SERIES.c.id)
    )
    if created is None:  # pragma: no cover - INSERT ... RETURNING always answers
        raise RuntimeError("the new series got no id")
    return created


async def _insert_story(session: AsyncSession, story: Story) -> None:
    """Insert the (transient) chapter; the columns the database or their defaults filled in
    (id, created_at, ...) are set on it, as a flush would."""
    columns = STORIES.columns
    given = {
        column.key: story.__dict__[column.key] for column in columns if column.key in story.__dict__
    }
    filled = [column for column in columns if column.key not in given]
    row = (await session.execute(insert(STORIES).values(**given).returning(*filled))).one()
    for column, value in zip(filled, row, strict=True):
        setattr(story, column.key, value)


async def _insert(
    sessions: SessionSource,
    turns: WriteTurns,
    story: Story,
    series_id: int | None,
    run_values: Mapping[str, Any],
) -> Story:
    async with turns.transaction(sessions) as session:
        story.series_id = await _series_for(
            session, story.child_id, series_id, story.theme, story.title
        )
        await _insert_story(session, story)
        await session.execute(
            update(RUNS)
            .where(RUNS.c.id == story.run_id)
            .values(series_id=story.series_id, **run_values)
        )
        return story


async def _stored_for(sessions: SessionSource, run_id: str) -> Story | None:
    async with sessions() as session:
        return await session.scalar(select(Story).where(Story.run_id == run_id))


async def _store_once(
    sessions: SessionSource,
    turns: WriteTurns,
    make_story: Callable[[], Story],
    series_id: int | None,
    run_values: Mapping[str, Any],
) -> Story:
    story = make_story()
    try:
        return await _insert(sessions, turns, story, series_id, run_values)
    except IntegrityError:
        # A chapter per run (`stories.run_id` is unique): an earlier attempt committed but its
        # answer was lost, and the chapter is stored. Asked only then, not before every insert.
        existing = await _stored_for(sessions, story.run_id)
        if existing is None:
            raise  # another constraint: the child was deleted meanwhile, say
        return existing


async def store_chapter(
    sessions: SessionSource,
    make_story: Callable[[], Story],
    *,
    series_id: int | None,
    run_values: Mapping[str, Any],
    retry: AsyncRetrying,
    turns: WriteTurns = NO_TURNS,
) -> Story:
    """Insert the chapter (and its series, for chapter 1) and update its run, exactly once, in one
    transaction, in its turn among the process's writers (a retry waits outside its turn)."""
    try:
        async for attempt in retry.copy():
            with attempt:
                story = await _store_once(sessions, turns, make_story, series_id, run_values)
    except TRANSIENT_ERRORS as exc:
        raise ChapterNotStored(str(exc)) from exc
    return story
