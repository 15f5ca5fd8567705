"""A child's recent runs, for a parent who wants to watch a story being written (issue 14)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from backend.api.access import ParentChildAccess
from backend.api.deps import SessionDep
from backend.api.runs import stream_url
from backend.api.schemas import NOT_FOUND
from backend.db.models import ACTIVE_RUN_STATUSES, Run, RunStatus

router = APIRouter(tags=["runs"])


class RunSummary(BaseModel):
    id: str
    series_id: int | None
    theme: str
    chapter_number: int
    title: str
    status: RunStatus
    created_at: datetime
    stream_url: str


@router.get("/children/{child_id}/runs", response_model=list[RunSummary], responses=NOT_FOUND)
async def list_runs(
    child: ParentChildAccess,
    session: SessionDep,
    active: Annotated[bool, Query(description="Only runs still being written.")] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[RunSummary]:
    """The child's runs, newest first (parents only): join one at its `stream_url`."""
    query = select(Run).where(Run.child_id == child.id)
    if active:
        query = query.where(Run.status.in_(ACTIVE_RUN_STATUSES))
    rows = await session.scalars(query.order_by(Run.created_at.desc(), Run.id).limit(limit))
    return [
        RunSummary(
            id=run.id,
            series_id=run.series_id,
            theme=run.theme,
            chapter_number=run.chapter_number,
            title=run.title,
            status=run.status,
            created_at=run.created_at,
            stream_url=stream_url(run.id),
        )
        for run in rows
    ]
