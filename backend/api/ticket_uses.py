"""A child stream ticket starts one story (issue 13, finding 6).

A ticket rides in a URL, so it is the credential most likely to be seen by someone else. Once it
has started a story it cannot start another (401), and it rejoins only the run it started, until
it expires. The record lives in the database, so every replica sees it.
"""

from __future__ import annotations

from fastapi import HTTPException, status
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principals import StreamCaller, TicketCaller
from backend.db.models import StreamTicketUse, utcnow
from backend.runs.manager import StartWrites

TICKET_ALREADY_USED = "this stream ticket already started a story; ask for a new ticket"
TICKET_BOUND_TO_ITS_RUN = "this stream ticket started another story and joins only that one"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def ticket_already_used() -> HTTPException:
    return _unauthorized(TICKET_ALREADY_USED)


def ticket_start_writes(ticket: TicketCaller) -> StartWrites:
    """The record that `ticket` started run `run_id`, written in the run's own start
    transaction (`RunManager.submit(also_writes=...)`): a ticket whose story is refused (a quota,
    a full queue) stays unused, and a second start racing the first fails that commit on the
    ticket's primary key, so neither run nor use is recorded for it."""

    async def write(session: AsyncSession, run_id: str) -> None:
        await session.execute(delete(StreamTicketUse).where(StreamTicketUse.expires_at < utcnow()))
        session.add(
            StreamTicketUse(ticket_id=ticket.ticket_id, run_id=run_id, expires_at=ticket.expires_at)
        )

    return write


async def ticket_use(session: AsyncSession, caller: StreamCaller) -> StreamTicketUse | None:
    """The record of the story a child ticket started, if it started one."""
    if not isinstance(caller, TicketCaller) or caller.run_id is not None:
        return None
    return await session.get(StreamTicketUse, caller.ticket_id)


async def run_started_by(session: AsyncSession, caller: StreamCaller) -> str | None:
    """The run a child ticket started, if it started one."""
    use = await ticket_use(session, caller)
    return use.run_id if use is not None else None
