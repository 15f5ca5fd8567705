"""Turns story parameters into the chapter a run writes: which child, series, theme and chapter
number, what happened before and what the child chose, or a clear 4xx."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.access import CallerDep, StreamCallerDep, acts_for_child_app, load_child_for
from backend.api.deps import SessionDep
from backend.api.schemas import StoryParams
from backend.api.text_checks import refuse_unsafe_text
from backend.auth.principals import StreamCaller, TicketCaller
from backend.db.models import ACTIVE_RUN_STATUSES, Child, CustomTheme, Run, Series, Story, utcnow
from backend.observability.context import bind_run_owner
from workflows.state import StoryRequest, ThemeSpec
from workflows.themes import load_theme_catalogue

CUSTOM_THEME_PREFIX = "custom-"
SUMMARISED_CHAPTERS = 4
CUSTOM_THEME_GUIDANCE = "Stay close to the parent's description of this theme."
CUSTOM_FALLBACK_QUESTION = "What should happen next?"
CUSTOM_FALLBACK_CHOICES = ["Explore a little further", "Ask a friend for help", "Head home to rest"]


@dataclass(frozen=True)
class PlannedChapter:
    child: Child
    series_id: int | None
    request: StoryRequest


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def _conflict(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail)


def custom_theme_id(theme: CustomTheme) -> str:
    return f"{CUSTOM_THEME_PREFIX}{theme.id}"


def custom_theme_spec(theme: CustomTheme) -> ThemeSpec:
    return ThemeSpec(
        id=custom_theme_id(theme),
        title=theme.title,
        description=theme.description,
        guidance=CUSTOM_THEME_GUIDANCE,
        fallback_question=CUSTOM_FALLBACK_QUESTION,
        fallback_choices=list(CUSTOM_FALLBACK_CHOICES),
    )


async def resolve_theme(session: AsyncSession, child: Child, theme_id: str) -> ThemeSpec:
    """The catalogue theme or the family's own custom theme `theme_id`, if it suits the child."""
    if theme_id.startswith(CUSTOM_THEME_PREFIX) and theme_id[len(CUSTOM_THEME_PREFIX) :].isdigit():
        custom = await session.get(CustomTheme, int(theme_id[len(CUSTOM_THEME_PREFIX) :]))
        if custom is not None and custom.parent_id == child.parent_id:
            return custom_theme_spec(custom)
    catalogue = load_theme_catalogue()
    theme = catalogue.get(theme_id)
    if theme is None:
        raise _unprocessable(f"unknown theme {theme_id!r}; GET /api/v1/themes lists the themes")
    if not theme.suits_age(child.age):
        raise _unprocessable(
            f"theme {theme_id!r} is for ages {theme.min_age}-{theme.max_age}; "
            f"{child.name} is {child.age}"
        )
    return theme.spec()


def check_theme_allowed(caller: StreamCaller, child: Child, theme_id: str) -> None:
    if acts_for_child_app(caller) and theme_id not in child.allowed_theme_ids:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"theme {theme_id!r} is not allowed for {child.name}; a parent can allow it",
        )


async def _series_to_continue(
    session: AsyncSession, child: Child, params: StoryParams
) -> Series | None:
    if params.series_id is not None:
        series = await session.get(Series, params.series_id)
        if series is None or series.child_id != child.id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no series with id {params.series_id}")
        if params.theme is not None and params.theme != series.theme:
            raise _unprocessable(
                f"series {series.id} is about theme {series.theme!r}, not {params.theme!r}"
            )
        return series
    if (params.chapter_number or 1) == 1:
        return None
    if params.theme is None:
        raise _unprocessable("to continue a story, give its series_id (or its theme)")
    series = await session.scalar(
        select(Series)
        .where(Series.child_id == child.id, Series.theme == params.theme)
        .order_by(Series.updated_at.desc(), Series.id.desc())
        .limit(1)
    )
    if series is None:
        raise _conflict(
            f"chapter {params.chapter_number} needs chapter {(params.chapter_number or 1) - 1} "
            f"of a {params.theme!r} story for child {child.id}, and it has not been written yet"
        )
    return series


async def approved_chapters(session: AsyncSession, series_id: int) -> list[Story]:
    rows = await session.scalars(
        select(Story)
        .where(Story.series_id == series_id, Story.content_approved.is_(True))
        .order_by(Story.chapter_number, Story.id)
    )
    return list(rows)


def record_choice(story: Story, choice: int) -> None:
    """Store the child's pick on a chapter; a second, different pick is a conflict."""
    if choice > len(story.choices):
        raise _unprocessable(
            f"chapter {story.chapter_number} has only {len(story.choices)} choices"
        )
    if story.chosen_choice is not None:
        if story.chosen_choice == choice:
            return
        raise _conflict(
            f"choice {story.chosen_choice} was already made for chapter {story.chapter_number}"
        )
    story.chosen_choice = choice
    story.chosen_at = utcnow()


async def _refuse_parallel_run(session: AsyncSession, series: Series, chapter_number: int) -> None:
    busy = await session.scalar(
        select(Run.id).where(
            Run.series_id == series.id,
            Run.chapter_number == chapter_number,
            Run.status.in_(ACTIVE_RUN_STATUSES),
        )
    )
    if busy is not None:
        raise _conflict(
            f"chapter {chapter_number} of series {series.id} is being written (run {busy})"
        )


async def plan_chapter(
    session: AsyncSession, caller: StreamCaller, params: StoryParams
) -> PlannedChapter:
    if isinstance(caller, TicketCaller) and caller.run_id is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a ticket for one run cannot start a story")
    child = await load_child_for(session, caller, params.child_id)
    # Every log line of the run this request starts carries them (issue 16).
    bind_run_owner(child_id=child.id, family_id=child.parent_id or 0)
    if params.gate == "none" and acts_for_child_app(caller):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "only a parent may preview a story without the safety gate"
        )
    if params.title is not None:
        refuse_unsafe_text("title", params.title)
    series = await _series_to_continue(session, child, params)
    theme_id = series.theme if series is not None else params.theme
    if theme_id is None:
        raise _unprocessable("theme: Field required (a theme id from GET /api/v1/themes)")
    check_theme_allowed(caller, child, theme_id)
    theme = await resolve_theme(session, child, theme_id)

    chapter_number, summary, chosen = 1, None, None
    if series is not None:
        chapters = await approved_chapters(session, series.id)
        chapter_number = chapters[-1].chapter_number + 1 if chapters else 1
        wanted = params.chapter_number or chapter_number
        if wanted > chapter_number:
            raise _conflict(
                f"chapter {wanted} needs chapter {wanted - 1} of series {series.id} first"
            )
        if wanted < chapter_number:
            raise _conflict(f"chapter {wanted} of series {series.id} already exists")
        await _refuse_parallel_run(session, series, chapter_number)
        if chapters:
            previous = chapters[-1]
            if params.choice is not None:
                record_choice(previous, params.choice)
                await session.commit()
            if previous.chosen_choice is not None:
                chosen = previous.choices[previous.chosen_choice - 1]
            summary = " ".join(
                f"Chapter {chapter.chapter_number}: {chapter.summary}"
                for chapter in chapters[-SUMMARISED_CHAPTERS:]
            )
    elif params.choice is not None:
        raise _unprocessable("a choice continues a story: give its series_id too")

    title = (
        series.title if series is not None else params.title or f"{child.name}'s {theme['title']}"
    )
    request = StoryRequest(
        child_name=child.name,
        child_age=child.age,
        reading_level=child.reading_level,  # type: ignore[typeddict-item]
        interests=list(child.interests),
        blocked_topics=list(child.blocked_topics),
        allow_mild_peril=child.allow_mild_peril,
        story_length=child.story_length,  # type: ignore[typeddict-item]
        theme=theme,
        gate=params.gate,
        chapter_number=chapter_number,
        title=title,
        previous_summary=summary,
        chosen_choice=chosen,
    )
    return PlannedChapter(child=child, series_id=series.id if series else None, request=request)


async def chapter_from_query(
    session: SessionDep, caller: StreamCallerDep, params: Annotated[StoryParams, Query()]
) -> PlannedChapter:
    return await plan_chapter(session, caller, params)


async def chapter_from_body(
    session: SessionDep, caller: CallerDep, params: StoryParams
) -> PlannedChapter:
    return await plan_chapter(session, caller, params)


ChapterFromQuery = Annotated[PlannedChapter, Depends(chapter_from_query)]
ChapterFromBody = Annotated[PlannedChapter, Depends(chapter_from_body)]
