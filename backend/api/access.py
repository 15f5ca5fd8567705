"""Who may touch what. Each resource has one dependency that loads it and checks access once.

A resource outside the caller's family is 404, as if it did not exist; a parent-only action by
a child's reading app is 403. Stream routes also accept a short-lived `?ticket=`, because
`EventSource` cannot send headers; no other route does, and no long-lived token works there.

A child never sees what the gate did not check: a child's app, and any ticket that carries the
child's limits, gets 403 for a parent's ungated preview run, and for the stream of a run that
ended rejected (its draft is the parent's).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.deps import ServicesDep, SessionDep
from backend.api.schemas import MAX_ID, RUN_ID_PATTERN
from backend.api.ticket_uses import TICKET_BOUND_TO_ITS_RUN, run_started_by
from backend.auth.principals import Caller, ChildCaller, ParentCaller, StreamCaller, TicketCaller
from backend.auth.tokens import TokenError
from backend.db.models import Child, DeviceToken, Parent, Run, Series, Story

_bearer = HTTPBearer(
    auto_error=False,
    description="A parent's access token, or a child's device token.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "Bearer"}
    )


async def _caller_from_bearer(
    services: ServicesDep, session: AsyncSession, credentials: HTTPAuthorizationCredentials | None
) -> Caller:
    if credentials is None:
        raise unauthorized("sign in first: send 'Authorization: Bearer <token>'")
    try:
        claims = services.tokens.read(credentials.credentials, "access", "device")
    except TokenError as exc:
        raise unauthorized(str(exc)) from None
    if claims.kind == "access":
        await signed_in_parent(session, claims.parent_id, claims.version)
        return ParentCaller(parent_id=claims.parent_id, version=claims.version)
    device = await session.get(DeviceToken, claims.token_id)
    if device is None or device.revoked_at is not None or device.child_id != claims.child_id:
        raise unauthorized(DEVICE_REVOKED)
    return ChildCaller(child_id=device.child_id, parent_id=claims.parent_id, device_id=device.id)


SIGNED_OUT = "this session was signed out (the password was changed): sign in again"
DEVICE_REVOKED = "this device token was revoked by a parent"


async def signed_in_parent(session: AsyncSession, parent_id: int, version: int) -> Parent:
    """The parent a token speaks for, unless a password change since signed the token out."""
    parent = await session.get(Parent, parent_id)
    if parent is None:
        raise unauthorized("the account behind this token no longer exists")
    if version != parent.credentials_version:
        raise unauthorized(SIGNED_OUT)
    return parent


async def current_caller(
    services: ServicesDep, session: SessionDep, credentials: BearerDep
) -> Caller:
    return await _caller_from_bearer(services, session, credentials)


CallerDep = Annotated[Caller, Depends(current_caller)]


async def current_parent(caller: CallerDep) -> ParentCaller:
    if not isinstance(caller, ParentCaller):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "only a parent account may do this, not a child's device"
        )
    return caller


ParentDep = Annotated[ParentCaller, Depends(current_parent)]


async def current_stream_caller(
    services: ServicesDep,
    session: SessionDep,
    credentials: BearerDep,
    ticket: Annotated[
        str | None,
        Query(
            max_length=2048,
            description="A stream ticket from POST /stream-tickets, for clients such as "
            "EventSource that cannot send an Authorization header.",
        ),
    ] = None,
) -> StreamCaller:
    if ticket is None:
        return await _caller_from_bearer(services, session, credentials)
    try:
        claims = services.tokens.read(ticket, "stream")
    except TokenError as exc:
        raise unauthorized(f"stream ticket refused: {exc}") from None
    # A ticket is worth no more than what minted it (issue 13): a revoked device's tickets,
    # and tickets from before a password change, are refused.
    if claims.device_id is not None:
        device = await session.get(DeviceToken, claims.device_id)
        if device is None or device.revoked_at is not None:
            raise unauthorized(f"stream ticket refused: {DEVICE_REVOKED}")
    else:
        await signed_in_parent(session, claims.parent_id, claims.version)
    return TicketCaller(
        parent_id=claims.parent_id,
        child_id=claims.child_id,
        run_id=claims.run_id,
        ticket_id=claims.token_id,
        expires_at=claims.expires_at,
        # A child ticket starts and joins that child's stories, so it carries the child's
        # limits even when a parent minted it; a parent's run ticket may follow a preview.
        for_child_app=claims.minted_by_child or claims.child_id is not None,
    )


StreamCallerDep = Annotated[StreamCaller, Depends(current_stream_caller)]


def sees_child(caller: StreamCaller, child: Child) -> bool:
    if isinstance(caller, ParentCaller):
        return child.parent_id == caller.parent_id
    if isinstance(caller, ChildCaller):
        return child.id == caller.child_id
    return child.parent_id == caller.parent_id and child.id == caller.child_id


def acts_for_child_app(caller: StreamCaller) -> bool:
    """Children's apps and child tickets get gated, approved stories only, from allowed themes."""
    return isinstance(caller, ChildCaller) or (
        isinstance(caller, TicketCaller) and caller.for_child_app
    )


def visible_stories(caller: StreamCaller) -> ColumnElement[bool]:
    """The SQL condition on stories a caller may list: a child never sees rejected drafts."""
    return Story.content_approved.is_(True) if acts_for_child_app(caller) else true()


async def load_child_for(session: AsyncSession, caller: StreamCaller, child_id: int) -> Child:
    child = await session.get(Child, child_id)
    if child is None or not sees_child(caller, child):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no child profile with id {child_id}")
    return child


async def child_access(
    session: SessionDep, caller: CallerDep, child_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Child:
    return await load_child_for(session, caller, child_id)


async def parent_child_access(
    session: SessionDep, parent: ParentDep, child_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Child:
    return await load_child_for(session, parent, child_id)


PREVIEW_RUN_FOR_CHILD = "This run is a parent's preview and cannot be shown on a child's device"
UNGATED_RUN_FOR_CHILD = (
    "This run started before StoryStream recorded its safety gate and cannot be shown on a "
    "child's device"
)
REJECTED_RUN_FOR_CHILD = (
    "This story did not pass the safety check and cannot be shown on a child's device; "
    "a parent can read the draft"
)


def refuse_unchecked_run(caller: StreamCaller, run: Run, *, to_stream: bool) -> None:
    """403 for a child's app on a run the sentence gate did not check (any route), or on the
    events of a rejected run (`to_stream`)."""
    if not acts_for_child_app(caller):
        return
    if run.gate == "none":
        raise HTTPException(status.HTTP_403_FORBIDDEN, PREVIEW_RUN_FOR_CHILD)
    if run.gate != "sentence":
        raise HTTPException(status.HTTP_403_FORBIDDEN, UNGATED_RUN_FOR_CHILD)
    if to_stream and run.error_code == "SAFETY_REJECTED":
        raise HTTPException(status.HTTP_403_FORBIDDEN, REJECTED_RUN_FOR_CHILD)


async def load_run_for(
    session: AsyncSession, caller: StreamCaller, run_id: str, *, to_stream: bool = False
) -> Run:
    run = await session.get(Run, run_id)
    child = await session.get(Child, run.child_id) if run is not None else None
    if run is None or child is None or not sees_child(caller, child):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run with id {run_id}")
    refuse_unchecked_run(caller, run, to_stream=to_stream)
    return run


async def run_access(
    session: SessionDep, caller: CallerDep, run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)]
) -> Run:
    return await load_run_for(session, caller, run_id)


async def stream_run_access(
    session: SessionDep,
    caller: StreamCallerDep,
    run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)],
) -> Run:
    if not isinstance(caller, TicketCaller):
        return await load_run_for(session, caller, run_id, to_stream=True)
    if caller.run_id is not None and caller.run_id != run_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this stream ticket is for another run")
    run = await session.get(Run, run_id)
    # A run ticket names its run; a child ticket may join any run of that child, until it
    # starts a story: from then on it rejoins only that one.
    if run is None or (caller.run_id is None and run.child_id != caller.child_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run with id {run_id}")
    started = await run_started_by(session, caller)
    if started is not None and started != run_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, TICKET_BOUND_TO_ITS_RUN)
    refuse_unchecked_run(caller, run, to_stream=True)
    return run


async def story_access(
    session: SessionDep, caller: CallerDep, story_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Story:
    story = await session.get(Story, story_id)
    child = await session.get(Child, story.child_id) if story is not None else None
    hidden = story is not None and acts_for_child_app(caller) and not story.content_approved
    if story is None or child is None or not sees_child(caller, child) or hidden:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no story with id {story_id}")
    return story


async def series_access(
    session: SessionDep, caller: CallerDep, series_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Series:
    series = await session.get(Series, series_id)
    child = await session.get(Child, series.child_id) if series is not None else None
    if series is None or child is None or not sees_child(caller, child):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no series with id {series_id}")
    return series


ChildAccess = Annotated[Child, Depends(child_access)]
ParentChildAccess = Annotated[Child, Depends(parent_child_access)]
RunAccess = Annotated[Run, Depends(run_access)]
StreamRunAccess = Annotated[Run, Depends(stream_run_access)]
StoryAccess = Annotated[Story, Depends(story_access)]
SeriesAccess = Annotated[Series, Depends(series_access)]
