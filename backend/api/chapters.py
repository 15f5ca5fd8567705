"""Turns validated story parameters into the request a run writes, or a clear 4xx."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.deps import SessionDep, load_child
from backend.api.schemas import StoryParams
from backend.db.models import Child, Story
from workflows.state import StoryRequest
from workflows.summary import summarize_chapter
from workflows.themes import Theme, load_theme_catalogue


@dataclass(frozen=True)
class PlannedChapter:
    child: Child
    request: StoryRequest


def resolve_theme(theme_id: str, child: Child) -> Theme:
    catalogue = load_theme_catalogue()
    theme = catalogue.get(theme_id)
    if theme is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown theme {theme_id!r}; choose one of: {', '.join(sorted(catalogue))}",
        )
    if not theme.suits_age(child.age):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"theme {theme_id!r} is for ages {theme.min_age}-{theme.max_age}; "
            f"{child.name} is {child.age}",
        )
    return theme


async def previous_chapter(
    session: AsyncSession, child: Child, theme_id: str, chapter_number: int
) -> Story:
    wanted = chapter_number - 1
    story = await session.scalar(
        select(Story)
        .where(
            Story.child_id == child.id,
            Story.theme == theme_id,
            Story.chapter_number == wanted,
            Story.content_approved.is_(True),
        )
        .order_by(Story.created_at.desc(), Story.id.desc())
        .limit(1)
    )
    if story is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"chapter {chapter_number} needs chapter {wanted} of theme {theme_id!r} "
            f"for child {child.id}, and it has not been written yet",
        )
    return story


async def plan_chapter(session: AsyncSession, params: StoryParams) -> PlannedChapter:
    child = await load_child(session, params.child_id)
    theme = resolve_theme(params.theme, child)
    previous = (
        await previous_chapter(session, child, theme.id, params.chapter_number)
        if params.chapter_number > 1
        else None
    )
    title = params.title or (previous.title if previous else f"{child.name}'s {theme.title}")
    request = StoryRequest(
        child_name=child.name,
        child_age=child.age,
        theme_id=theme.id,
        chapter_number=params.chapter_number,
        title=title.strip(),
        previous_summary=summarize_chapter(previous.content) if previous else None,
        chosen_choice=None,
    )
    return PlannedChapter(child=child, request=request)


async def chapter_from_query(
    session: SessionDep, params: Annotated[StoryParams, Query()]
) -> PlannedChapter:
    return await plan_chapter(session, params)


async def chapter_from_body(session: SessionDep, params: StoryParams) -> PlannedChapter:
    return await plan_chapter(session, params)


ChapterFromQuery = Annotated[PlannedChapter, Depends(chapter_from_query)]
ChapterFromBody = Annotated[PlannedChapter, Depends(chapter_from_body)]
