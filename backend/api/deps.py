"""Dependencies shared by the routes: services, sessions, and resources loaded with their checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Child, Run, Story
from backend.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def load_child(session: AsyncSession, child_id: int) -> Child:
    child = await session.get(Child, child_id)
    if child is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no child profile with id {child_id}")
    return child


async def get_child(session: SessionDep, child_id: Annotated[int, Path(ge=1)]) -> Child:
    return await load_child(session, child_id)


async def get_run(session: SessionDep, run_id: Annotated[str, Path(max_length=64)]) -> Run:
    run = await session.get(Run, run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run with id {run_id}")
    return run


async def get_story(session: SessionDep, story_id: Annotated[int, Path(ge=1)]) -> Story:
    story = await session.get(Story, story_id)
    if story is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no story with id {story_id}")
    return story


ChildDep = Annotated[Child, Depends(get_child)]
RunDep = Annotated[Run, Depends(get_run)]
StoryDep = Annotated[Story, Depends(get_story)]


def parse_event_id(value: str, source: str) -> int:
    try:
        parsed = int(value.strip())
    except ValueError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"{source} must be the integer id of the last event received, not {value[:40]!r}",
        ) from None
    if parsed < 0:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{source} must not be negative")
    return parsed


def get_resume_after(
    last_event_id_header: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="Sent by EventSource on reconnect; wins over the query parameter.",
        ),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Query(
            max_length=20,
            description="Resume after this event id, for clients that cannot set headers.",
        ),
    ] = None,
) -> int:
    # On an automatic reconnect EventSource repeats the original URL (with any stale query
    # value) and sends the newest id in the header, so the header wins.
    if last_event_id_header is not None and last_event_id_header.strip():
        return parse_event_id(last_event_id_header, "the Last-Event-ID header")
    if last_event_id is not None and last_event_id.strip():
        return parse_event_id(last_event_id, "last_event_id")
    return 0


ResumeAfterDep = Annotated[int, Depends(get_resume_after)]
