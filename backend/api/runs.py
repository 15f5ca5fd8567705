"""Runs: start a chapter, read its status, join or resume its event stream, cancel it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.access import (
    CallerDep,
    RunAccess,
    StreamCallerDep,
    StreamRunAccess,
    acts_for_child_app,
    refuse_unchecked_run,
    visible_stories,
)
from backend.api.chapters import ChapterFromBody, plan_chapter
from backend.api.deps import ResumeAfterDep, ServicesDep, SessionDep
from backend.api.schemas import (
    NOT_FOUND,
    ErrorBody,
    Responses,
    RunCancelled,
    RunCreated,
    RunRead,
    StoryParams,
)
from backend.api.ticket_uses import ticket_already_used, ticket_start_writes, ticket_use
from backend.auth.principals import Caller, TicketCaller
from backend.db.models import ACTIVE_RUN_STATUSES, FINISHED_RUN_STATUSES, Child, Run, Story
from backend.read_models import read_model
from backend.runs.failures import child_error_message
from backend.runs.log import UnknownRunLog
from backend.services import Services
from backend.sse import SSE_RESPONSE_DOC, event_stream, held_open, run_frames

router = APIRouter(tags=["runs"])

API_PREFIX = "/api/v1"


def stream_url(run_id: str) -> str:
    return f"{API_PREFIX}/runs/{run_id}/stream"


# What a child's device (or a ticket with the child's limits) is refused, and why.
CHILD_REFUSED_RUN: Responses = {
    403: {
        "model": ErrorBody,
        "description": "A child's device may not see this run: it is a parent's preview "
        "(`gate=none`), or too old to have its gate recorded, so not checked sentence by "
        "sentence.",
    }
}
CHILD_REFUSED_STREAM: Responses = {
    403: {
        "model": ErrorBody,
        "description": "The caller may not follow this run: a run ticket for another run, a "
        "child ticket that started another story, or a child's device or child ticket on a "
        "parent's preview (`gate=none`), on a run too old to have its gate recorded, or on a run "
        "that ended SAFETY_REJECTED.",
    }
}
CHILD_REFUSED_START: Responses = {
    403: {
        "model": ErrorBody,
        "description": "A child's device or child ticket asked for a theme the child may not "
        "use, or for `gate=none` (parents only); or a run ticket tried to start a story.",
    }
}


# Why a new story may be refused for a while; both answers carry Retry-After.
RUN_REFUSED: Responses = {
    429: {
        "model": ErrorBody,
        "description": "The family started too many stories in the last minute, has too many "
        "being written or waiting, or (streams) too many open.",
    },
    503: {
        "model": ErrorBody,
        "description": "StoryStream is full, keeps its last places for families without a story "
        "in progress, or is shutting down.",
    },
}


def _family_of(child: Child) -> int:
    # Reached through an access check, so the child has a parent.
    return child.parent_id or 0


@router.post(
    "/runs",
    status_code=status.HTTP_201_CREATED,
    response_model=RunCreated,
    responses={
        **CHILD_REFUSED_START,
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        **RUN_REFUSED,
    },
)
async def create_run(
    chapter: ChapterFromBody, services: ServicesDep, session: SessionDep, response: Response
) -> RunCreated:
    """Start writing a chapter in the background; follow it at `stream_url`."""
    await services.quotas.take_run(_family_of(chapter.child))
    run_id = await services.runs.submit(
        child_id=chapter.child.id,
        family_id=_family_of(chapter.child),
        series_id=chapter.series_id,
        request=chapter.request,
        # The run's row commits with the request's transaction: the request never holds one
        # pooled connection while it waits for a second (in a burst that starves the pool).
        recorded_in=session,
    )
    response.headers["Location"] = f"{API_PREFIX}/runs/{run_id}"
    return RunCreated(run_id=run_id, stream_url=stream_url(run_id))


@router.get(
    "/stories/generate/stream",
    response_class=Response,
    responses={
        **SSE_RESPONSE_DOC,
        204: {"description": "A reconnect (Last-Event-ID) that already has the run's last event."},
        400: {"model": ErrorBody, "description": "Malformed or impossible Last-Event-ID."},
        **CHILD_REFUSED_START,
        401: {
            "model": ErrorBody,
            "description": "No valid credentials, or a ticket that already started a story or "
            "whose device was revoked.",
        },
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        **RUN_REFUSED,
    },
)
async def generate_story_stream(
    params: Annotated[StoryParams, Query()],
    caller: StreamCallerDep,
    after: ResumeAfterDep,
    services: ServicesDep,
    session: SessionDep,
) -> Response:
    """Start a chapter and stream it. Works with `EventSource` (authenticate with `?ticket=`):
    its automatic reconnect to this same URL with `Last-Event-ID` resumes the run the ticket
    started, after that event. Other clients resume through `GET /runs/{run_id}/stream` (the run
    id is in the first event and the `X-Run-Id` header). A ticket starts one story; afterwards
    it rejoins only that run."""
    ticket = caller if isinstance(caller, TicketCaller) else None
    if ticket is not None and (use := await ticket_use(session, ticket)) is not None:
        run = await session.get(Run, use.run_id) if after > 0 and use.run_id else None
        if run is None:
            raise ticket_already_used()
        # Resumed before planning: the chapter being written would otherwise be a 409.
        refuse_unchecked_run(ticket, run, to_stream=True)
        return await _follow(run, after, services, session)
    chapter = await plan_chapter(session, caller, params)
    family = _family_of(chapter.child)
    place = await services.quotas.claim_stream(family)
    try:
        await services.quotas.take_run(family)
        run_id = await services.runs.submit(
            child_id=chapter.child.id,
            family_id=family,
            series_id=chapter.series_id,
            request=chapter.request,
            recorded_in=session,
            # A ticket's use is recorded with the run's row: one write, in the run's turn.
            also_writes=ticket_start_writes(ticket) if ticket is not None else None,
        )
    except BaseException as exc:
        await place.release()  # refused or failed: the stream never opens
        if ticket is not None and isinstance(exc, IntegrityError):
            await session.rollback()
            if await ticket_use(session, ticket) is not None:
                # Another start with this ticket committed first.
                raise ticket_already_used() from None
        raise
    # A stream may stay open for minutes: it must not hold a database connection meanwhile.
    await session.close()
    return event_stream(
        held_open(run_frames(services.event_log, run_id, 0), place),
        ping_seconds=services.settings.ping_seconds,
        run_id=run_id,
    )


async def _run_read(session: AsyncSession, services: Services, run: Run, caller: Caller) -> RunRead:
    """The run as `caller` may see it: a child's app gets no rejected draft's id and no backend
    error text, only the fixed message of the error code."""
    story_id = await session.scalar(
        select(Story.id).where(Story.run_id == run.id, visible_stories(caller))
    )
    for_child = acts_for_child_app(caller)
    try:
        last_event_id: int | None = await services.event_log.last_seq(run.id)
    except UnknownRunLog:
        last_event_id = None
    return read_model(
        RunRead,
        run,
        error_message=child_error_message(run.error_code) if for_child else run.error_message,
        story_id=story_id,
        stream_url=stream_url(run.id),
        last_event_id=last_event_id,
    )


@router.get("/runs/{run_id}", response_model=RunRead, responses={**CHILD_REFUSED_RUN, **NOT_FOUND})
async def read_run(
    run: RunAccess, caller: CallerDep, session: SessionDep, services: ServicesDep
) -> RunRead:
    """The run's status, timings, token usage and, once stored, its story id. A child's app
    gets the story id of approved chapters only, and a fixed message for each error code."""
    return await _run_read(session, services, run, caller)


@router.get(
    "/runs/{run_id}/stream",
    response_class=Response,
    responses={
        **SSE_RESPONSE_DOC,
        204: {"description": "The client already has the run's last event: nothing to resume."},
        400: {"model": ErrorBody, "description": "Malformed or impossible Last-Event-ID."},
        **CHILD_REFUSED_STREAM,
        404: {"model": ErrorBody},
        410: {"model": ErrorBody, "description": "The run's events are no longer kept."},
    },
)
async def stream_run(
    run: StreamRunAccess, after: ResumeAfterDep, services: ServicesDep, session: SessionDep
) -> Response:
    """Join a run from its first event, or resume after `Last-Event-ID` with nothing missed
    and nothing repeated."""
    return await _follow(run, after, services, session)


async def _follow(run: Run, after: int, services: Services, session: AsyncSession) -> Response:
    """The run's events after `after`: 204 when there are none left, 410 once they expired."""
    log = services.event_log
    try:
        last = await log.last_seq(run.id)
        closed = await log.is_closed(run.id)
    except UnknownRunLog:
        raise HTTPException(
            status.HTTP_410_GONE,
            f"the events of run {run.id} are no longer kept; read its outcome at "
            f"{API_PREFIX}/runs/{run.id}",
        ) from None
    if closed and after >= last:
        # 204 also tells EventSource to stop reconnecting.
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    if after > last:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"last event id {after} is beyond run {run.id}'s newest event ({last})",
        )
    child = await session.get(Child, run.child_id)
    place = await services.quotas.claim_stream(_family_of(child) if child is not None else 0)
    await session.close()  # no database connection held while the stream is open
    return event_stream(
        held_open(run_frames(log, run.id, after), place),
        ping_seconds=services.settings.ping_seconds,
        run_id=run.id,
    )


@router.post(
    "/runs/{run_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunCancelled,
    responses={
        **CHILD_REFUSED_RUN,
        **NOT_FOUND,
        409: {"model": ErrorBody, "description": "The run already ended."},
    },
)
async def cancel_run(run: RunAccess, services: ServicesDep) -> RunCancelled:
    """Stop a run; its stream ends with an `error` event with code CANCELLED."""
    if services.runs.cancel(run.id):
        return RunCancelled(run_id=run.id, status="cancelling")
    if run.status in ACTIVE_RUN_STATUSES and services.remote_cancel is not None:
        # Running on another replica: it stops the run and its stream ends with CANCELLED.
        await services.remote_cancel(run.id)
        return RunCancelled(run_id=run.id, status="cancelling")
    if run.status in FINISHED_RUN_STATUSES:
        detail = f"run {run.id} already ended ({run.status})"
    else:
        detail = f"run {run.id} is not executing in this process and cannot be cancelled here"
    raise HTTPException(status.HTTP_409_CONFLICT, detail)
