"""Child profiles (accounts and ownership arrive with the families work)."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend.api.deps import ChildDep, SessionDep
from backend.api.schemas import ChildCreate, ChildRead, ErrorBody
from backend.db.models import Child

router = APIRouter(prefix="/children", tags=["children"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ChildRead)
async def create_child(body: ChildCreate, session: SessionDep) -> Child:
    """Create a child profile; stories are written for its age."""
    child = Child(name=body.name.strip(), age=body.age)
    session.add(child)
    await session.commit()
    return child


@router.get("/{child_id}", response_model=ChildRead, responses={404: {"model": ErrorBody}})
async def read_child(child: ChildDep) -> Child:
    return child
