"""A finished chapter is stored exactly once, even when the database comes and goes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.engine import SessionFactory, create_engine, create_session_factory
from backend.db.migrate import upgrade_database
from backend.db.models import Child, Parent, Run, Story
from backend.runs.persistence import ChapterNotStored, store_chapter, transient_retry

FAST_RETRY = transient_retry(attempts=3, first_delay_seconds=0.01)


class FlakySessions:
    """A session factory whose first `failures` sessions fail as a lost database would."""

    def __init__(self, sessions: SessionFactory, failures: int) -> None:
        self._sessions = sessions
        self.failures = failures
        self.calls = 0

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        self.calls += 1
        if self.calls <= self.failures:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        async with self._sessions() as session:
            yield session


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'persist.db'}"
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    async with factory() as session, session.begin():
        session.add(Parent(id=1, email="p@example.com", password_hash="x"))
        await session.flush()
        session.add(Child(id=1, parent_id=1, name="Mia", age=6))
        await session.flush()
        session.add(
            Run(
                id="run1",
                child_id=1,
                theme="space",
                chapter_number=1,
                title="Moon",
                status="running",
                provider="scripted",
                model="scripted",
            )
        )
    yield factory
    await engine.dispose()


def _story() -> Story:
    return Story(
        run_id="run1",
        child_id=1,
        theme="space",
        chapter_number=1,
        title="Moon",
        content="Mia flew.",
        summary="Mia flew.",
        choice_question="Next?",
        choices=["a", "b"],
        choices_source="model",
        content_approved=True,
        safety_score=1.0,
        safety_issues=[],
    )


RUN_DONE: dict[str, Any] = {"status": "completed"}


async def _count(sessions: SessionFactory) -> tuple[int, str]:
    async with sessions() as session:
        stories = await session.scalar(select(func.count(Story.id)))
        run = await session.get(Run, "run1")
        assert run is not None
        return stories or 0, run.status


async def test_a_brief_outage_is_retried_and_the_chapter_stored_once(
    sessions: SessionFactory,
) -> None:
    flaky = FlakySessions(sessions, failures=2)
    story = await store_chapter(
        flaky, _story, series_id=None, run_values=RUN_DONE, retry=FAST_RETRY
    )
    assert flaky.calls == 3
    assert story.series_id is not None
    assert await _count(sessions) == (1, "completed")


async def test_storing_again_for_the_same_run_returns_the_stored_chapter(
    sessions: SessionFactory,
) -> None:
    first = await store_chapter(
        sessions, _story, series_id=None, run_values=RUN_DONE, retry=FAST_RETRY
    )
    second = await store_chapter(
        sessions, _story, series_id=None, run_values=RUN_DONE, retry=FAST_RETRY
    )
    assert second.id == first.id
    assert await _count(sessions) == (1, "completed")


async def test_a_long_outage_gives_up_and_stores_nothing(sessions: SessionFactory) -> None:
    flaky = FlakySessions(sessions, failures=10)
    with pytest.raises(ChapterNotStored, match="connection refused"):
        await store_chapter(flaky, _story, series_id=None, run_values=RUN_DONE, retry=FAST_RETRY)
    assert flaky.calls == 3
    assert await _count(sessions) == (0, "running")
