"""The story library: a child's series and chapters, reading one, choosing, marking read and
favourite. Parents see every chapter, rejected drafts included (marked); a child's app sees
only its own approved chapters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.access import CallerDep, ChildAccess, SeriesAccess, StoryAccess, visible_stories
from backend.api.chapters import record_choice
from backend.api.deps import SessionDep
from backend.api.schemas import (
    NOT_FOUND,
    ChoiceMade,
    ErrorBody,
    FavouriteSet,
    Page,
    SeriesDetail,
    SeriesRead,
    StoryRead,
    StorySummary,
)
from backend.auth.principals import Caller
from backend.db.models import Series, Story, utcnow
from backend.read_models import read_model

router = APIRouter(tags=["library"])
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=100_000)]


async def _chapter_counts(
    session: AsyncSession, caller: Caller, series_ids: list[int]
) -> dict[int, int]:
    if not series_ids:
        return {}
    rows = await session.execute(
        select(Story.series_id, func.count(Story.id))
        .where(Story.series_id.in_(series_ids), visible_stories(caller))
        .group_by(Story.series_id)
    )
    return {series_id: count for series_id, count in rows if series_id is not None}


def _series_read(series: Series, chapters: int) -> SeriesRead:
    return read_model(SeriesRead, series, chapters=chapters)


@router.get("/children/{child_id}/series", response_model=Page[SeriesRead], responses=NOT_FOUND)
async def list_series(
    child: ChildAccess,
    caller: CallerDep,
    session: SessionDep,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[SeriesRead]:
    """The child's series, most recently continued first."""
    total = await session.scalar(select(func.count(Series.id)).where(Series.child_id == child.id))
    rows = list(
        await session.scalars(
            select(Series)
            .where(Series.child_id == child.id)
            .order_by(Series.updated_at.desc(), Series.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    counts = await _chapter_counts(session, caller, [series.id for series in rows])
    items = [_series_read(series, counts.get(series.id, 0)) for series in rows]
    return Page(items=items, total=total or 0, limit=limit, offset=offset)


@router.get("/series/{series_id}", response_model=SeriesDetail, responses=NOT_FOUND)
async def read_series(series: SeriesAccess, caller: CallerDep, session: SessionDep) -> SeriesDetail:
    """A series with its chapters in reading order."""
    chapters = list(
        await session.scalars(
            select(Story)
            .where(Story.series_id == series.id, visible_stories(caller))
            .order_by(Story.chapter_number, Story.id)
        )
    )
    return read_model(SeriesDetail, series, chapters=len(chapters), chapter_list=chapters)


@router.get("/children/{child_id}/stories", response_model=Page[StorySummary], responses=NOT_FOUND)
async def list_stories(
    child: ChildAccess,
    caller: CallerDep,
    session: SessionDep,
    limit: Limit = 20,
    offset: Offset = 0,
    favourites: Annotated[bool, Query(description="Only favourite chapters.")] = False,
) -> Page[StorySummary]:
    """The child's chapters, newest first."""
    conditions = [Story.child_id == child.id, visible_stories(caller)]
    if favourites:
        conditions.append(Story.favourite.is_(True))
    total = await session.scalar(select(func.count(Story.id)).where(*conditions))
    rows = await session.scalars(
        select(Story)
        .where(*conditions)
        .order_by(Story.created_at.desc(), Story.id.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [StorySummary.model_validate(story) for story in rows]
    return Page(items=items, total=total or 0, limit=limit, offset=offset)


@router.get("/stories/{story_id}", response_model=StoryRead, responses=NOT_FOUND)
async def read_story(story: StoryAccess) -> Story:
    return story


@router.post(
    "/stories/{story_id}/choice",
    response_model=StoryRead,
    responses={
        **NOT_FOUND,
        409: {"model": ErrorBody, "description": "A choice was already made."},
    },
)
async def choose(body: ChoiceMade, story: StoryAccess, session: SessionDep) -> Story:
    """Record what the child picked at the end of this chapter; the next chapter follows it."""
    if not story.content_approved:
        raise HTTPException(status.HTTP_409_CONFLICT, "a rejected draft cannot be continued")
    if story.chosen_choice is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"choice {story.chosen_choice} was already made for this chapter",
        )
    record_choice(story, body.choice)
    await session.commit()
    return story


@router.post("/stories/{story_id}/read", response_model=StoryRead, responses=NOT_FOUND)
async def mark_read(story: StoryAccess, session: SessionDep) -> Story:
    """Mark the chapter read (the first time counts)."""
    story.read_at = story.read_at or utcnow()
    await session.commit()
    return story


@router.put("/stories/{story_id}/favourite", response_model=StoryRead, responses=NOT_FOUND)
async def set_favourite(body: FavouriteSet, story: StoryAccess, session: SessionDep) -> Story:
    story.favourite = body.favourite
    await session.commit()
    return story
