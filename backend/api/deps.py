"""Dependencies shared by the routes: services, database sessions, resume positions."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, status
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.services import Services

logger = logging.getLogger(__name__)


# Dependencies are `async def` even when they never await: FastAPI runs a plain `def`
# dependency on its thread pool, a thread hop on every request before the first byte.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    session = services.sessions()
    try:
        yield session
    finally:
        try:
            await session.close()
        except DBAPIError as exc:
            # The database went away under this request; the pool drops the dead connection.
            logger.warning("closing a database session failed: %s", exc)


SessionDep = Annotated[AsyncSession, Depends(get_session)]


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


async def get_resume_after(
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
