"""Short-lived stream tickets, for clients (EventSource) that cannot send headers."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend.api.access import CallerDep, load_child_for, load_run_for
from backend.api.deps import ServicesDep, SessionDep
from backend.api.schemas import ErrorBody, StreamTicket, StreamTicketCreate
from backend.auth.principals import ChildCaller, ParentCaller

router = APIRouter(prefix="/stream-tickets", tags=["accounts"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StreamTicket,
    responses={
        403: {
            "model": ErrorBody,
            "description": "A child's device asked for a run it may not watch: a parent's "
            "preview, or a story that did not pass the safety check.",
        },
        404: {"model": ErrorBody},
    },
)
async def create_stream_ticket(
    body: StreamTicketCreate, caller: CallerDep, session: SessionDep, services: ServicesDep
) -> StreamTicket:
    """A ticket for `?ticket=` on the stream routes, valid for minutes: for one child (start and
    join its stories, with the child's limits even when a parent asks) or for one run (join only
    that run)."""
    if body.child_id is not None:
        child = await load_child_for(session, caller, body.child_id)
        child_id, run_id = child.id, None
    else:
        run = await load_run_for(session, caller, body.run_id or "", to_stream=True)
        child_id, run_id = None, run.id
    issued = services.tokens.issue(
        "stream",
        parent_id=caller.parent_id,
        child_id=child_id,
        run_id=run_id,
        minted_by_child=isinstance(caller, ChildCaller),
        version=caller.version if isinstance(caller, ParentCaller) else 0,
        device_id=caller.device_id if isinstance(caller, ChildCaller) else None,
    )
    return StreamTicket(ticket=issued.token, expires_at=issued.expires_at)
