"""Storing a finished chapter: once per run (idempotent by run id), retried with back-off while
the database is briefly unavailable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Run, Series, Story, utcnow

logger = logging.getLogger(__name__)

# Errors that a moment later may not happen again: lost connections, locked or restarting
# databases. Anything else (a constraint, a bug) fails at once.
TRANSIENT_ERRORS = (OperationalError, DBAPIError, OSError, ConnectionError, TimeoutError)


# A session factory (or anything that opens sessions the same way).
SessionSource = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_delay_seconds: float = 0.2

    def delays(self) -> list[float]:
        return [self.first_delay_seconds * 2**number for number in range(self.attempts - 1)]


class ChapterNotStored(Exception):
    """The database stayed unavailable through every attempt."""


async def _series_for(
    session: AsyncSession, child_id: int, series_id: int | None, theme: str, title: str
) -> Series:
    if series_id is not None:
        series = await session.get(Series, series_id)
        if series is not None:
            series.updated_at = utcnow()
            return series
    series = Series(child_id=child_id, theme=theme, title=title)
    session.add(series)
    await session.flush()
    return series


async def _store_once(
    sessions: SessionSource,
    make_story: Callable[[], Story],
    series_id: int | None,
    run_values: Mapping[str, Any],
) -> Story:
    async with sessions() as session, session.begin():
        story = make_story()
        existing = await session.scalar(select(Story).where(Story.run_id == story.run_id))
        if existing is not None:
            # An earlier attempt committed but its answer was lost: the chapter is stored.
            return existing
        series = await _series_for(session, story.child_id, series_id, story.theme, story.title)
        story.series_id = series.id
        session.add(story)
        await session.execute(
            update(Run).where(Run.id == story.run_id).values(series_id=series.id, **run_values)
        )
        await session.flush()
        return story


async def store_chapter(
    sessions: SessionSource,
    make_story: Callable[[], Story],
    *,
    series_id: int | None,
    run_values: Mapping[str, Any],
    retry: RetryPolicy,
) -> Story:
    """Insert the chapter (and its series, for chapter 1) and update its run, exactly once."""
    delays = retry.delays()
    for attempt in range(retry.attempts):
        try:
            return await _store_once(sessions, make_story, series_id, run_values)
        except TRANSIENT_ERRORS as exc:
            if attempt == len(delays):
                raise ChapterNotStored(str(exc)) from exc
            logger.warning(
                "storing a chapter failed (attempt %d of %d), retrying: %s",
                attempt + 1,
                retry.attempts,
                exc,
            )
            await asyncio.sleep(delays[attempt])
    raise ChapterNotStored("no attempt was made")
