"""A child stream ticket starts one story (issue 13, finding 6).

A ticket rides in a URL, so it is the credential most likely to be seen by someone else. Once it
has started a story it cannot start another (401), and it rejoins only the run it started, until
it expires. The record lives in the database, so every replica sees it.
"""

from __future__ import annotations

from fastapi import HTTPException, status
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principals import StreamCaller, TicketCaller
from backend.db.models import StreamTicketUse, utcnow

TICKET_ALREADY_USED = "this stream ticket already started a story; ask for a new ticket"
TICKET_BOUND_TO_ITS_RUN = "this stream ticket started another story and joins only that one"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def claim_ticket_start(session: AsyncSession, ticket: TicketCaller) -> None:
    """Record that `ticket` starts a story now, or refuse a second start with 401."""
    await session.execute(delete(StreamTicketUse).where(StreamTicketUse.expires_at < utcnow()))
    session.add(StreamTicketUse(ticket_id=ticket.ticket_id, expires_at=ticket.expires_at))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise _unauthorized(TICKET_ALREADY_USED) from None


async def bind_ticket_to_run(session: AsyncSession, ticket: TicketCaller, run_id: str) -> None:
    await session.execute(
        update(StreamTicketUse)
        .where(StreamTicketUse.ticket_id == ticket.ticket_id)
        .values(run_id=run_id)
    )
    await session.commit()


async def give_back_ticket_start(session: AsyncSession, ticket: TicketCaller) -> None:
    """The story was refused after all (a quota, a full queue): the ticket may try again."""
    await session.rollback()
    await session.execute(
        delete(StreamTicketUse).where(StreamTicketUse.ticket_id == ticket.ticket_id)
    )
    await session.commit()


async def run_started_by(session: AsyncSession, caller: StreamCaller) -> str | None:
    """The run a child ticket started, if it started one."""
    if not isinstance(caller, TicketCaller) or caller.run_id is not None:
        return None
    use = await session.get(StreamTicketUse, caller.ticket_id)
    return use.run_id if use is not None else None
