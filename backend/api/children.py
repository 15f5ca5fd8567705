"""Child profiles, the themes each child may use, and children's device tokens (parents only,
except that a child's reading app may read its own profile)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status
from sqlalchemy import select

from backend.api.access import ChildAccess, ParentChildAccess, ParentDep
from backend.api.chapters import resolve_theme
from backend.api.deps import ServicesDep, SessionDep
from backend.api.schemas import (
    DEVICE_TOKEN_ID_PATTERN,
    NOT_FOUND,
    AllowedThemes,
    ChildCreate,
    ChildRead,
    ChildUpdate,
    DeviceTokenCreate,
    DeviceTokenCreated,
    DeviceTokenRead,
    ErrorBody,
)
from backend.api.text_checks import refuse_unsafe_blocked_topic, refuse_unsafe_text
from backend.db.models import Child, DeviceToken, ReadingLevel, utcnow
from backend.read_models import read_model

router = APIRouter(prefix="/children", tags=["children"])


def default_reading_level(age: int) -> ReadingLevel:
    if age <= 6:
        return "beginner"
    return "intermediate" if age <= 9 else "advanced"


@router.get("", response_model=list[ChildRead])
async def list_children(parent: ParentDep, session: SessionDep) -> list[Child]:
    """The signed-in parent's children, oldest profile first."""
    rows = await session.scalars(
        select(Child).where(Child.parent_id == parent.parent_id).order_by(Child.id)
    )
    return list(rows)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ChildRead)
async def create_child(body: ChildCreate, parent: ParentDep, session: SessionDep) -> Child:
    """Create a child profile; its age, reading level and settings shape every story."""
    refuse_unsafe_text("name", body.name)
    for topic in body.interests:
        refuse_unsafe_text("interests", topic)
    for topic in body.blocked_topics:
        refuse_unsafe_blocked_topic(topic)
    child = Child(
        parent_id=parent.parent_id,
        name=body.name,
        age=body.age,
        reading_level=body.reading_level or default_reading_level(body.age),
        interests=list(body.interests),
        blocked_topics=list(body.blocked_topics),
        allow_mild_peril=body.allow_mild_peril,
        story_length=body.story_length,
        allowed_theme_ids=[],
    )
    session.add(child)
    await session.commit()
    return child


@router.get("/{child_id}", response_model=ChildRead, responses=NOT_FOUND)
async def read_child(child: ChildAccess) -> Child:
    return child


@router.patch("/{child_id}", response_model=ChildRead, responses=NOT_FOUND)
async def update_child(body: ChildUpdate, child: ParentChildAccess, session: SessionDep) -> Child:
    """Change a profile or its content settings; only the fields given change."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in changes:
        refuse_unsafe_text("name", changes["name"])
    for topic in changes.get("interests", []):
        refuse_unsafe_text("interests", topic)
    for topic in changes.get("blocked_topics", []):
        refuse_unsafe_blocked_topic(topic)
    for field, value in changes.items():
        setattr(child, field, value)
    await session.commit()
    return child


@router.delete("/{child_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_child(child: ParentChildAccess, session: SessionDep) -> Response:
    """Delete a profile with its stories, series, runs and device tokens."""
    await session.delete(child)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{child_id}/themes", response_model=AllowedThemes, responses=NOT_FOUND)
async def read_allowed_themes(child: ChildAccess) -> AllowedThemes:
    """The themes this child may start stories from."""
    return AllowedThemes(theme_ids=list(child.allowed_theme_ids))


@router.put(
    "/{child_id}/themes",
    response_model=AllowedThemes,
    responses={**NOT_FOUND, 422: {"model": ErrorBody}},
)
async def set_allowed_themes(
    body: AllowedThemes, child: ParentChildAccess, session: SessionDep
) -> AllowedThemes:
    """Replace the themes this child may use (catalogue ids or the family's custom themes)."""
    theme_ids = list(dict.fromkeys(body.theme_ids))
    for theme_id in theme_ids:
        await resolve_theme(session, child, theme_id)
    child.allowed_theme_ids = theme_ids
    await session.commit()
    return AllowedThemes(theme_ids=theme_ids)


@router.post(
    "/{child_id}/device-tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceTokenCreated,
    responses=NOT_FOUND,
)
async def create_device_token(
    body: DeviceTokenCreate, child: ParentChildAccess, session: SessionDep, services: ServicesDep
) -> DeviceTokenCreated:
    """A credential for the child's reading app: it can write and read this child's stories
    from allowed themes, and nothing else. Revoke it with DELETE."""
    device = DeviceToken(id=uuid.uuid4().hex, child_id=child.id, label=body.label)
    session.add(device)
    await session.commit()
    assert child.parent_id is not None  # loaded through a parent's access check
    issued = services.tokens.issue(
        "device", parent_id=child.parent_id, child_id=child.id, token_id=device.id
    )
    # Revoked never yet; said here so that nothing is loaded back after the commit.
    return read_model(DeviceTokenCreated, device, revoked_at=None, token=issued.token)


@router.get("/{child_id}/device-tokens", response_model=list[DeviceTokenRead], responses=NOT_FOUND)
async def list_device_tokens(child: ParentChildAccess, session: SessionDep) -> list[DeviceToken]:
    rows = await session.scalars(
        select(DeviceToken).where(DeviceToken.child_id == child.id).order_by(DeviceToken.created_at)
    )
    return list(rows)


@router.delete(
    "/{child_id}/device-tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def revoke_device_token(
    child: ParentChildAccess,
    token_id: Annotated[str, Path(pattern=DEVICE_TOKEN_ID_PATTERN)],
    session: SessionDep,
) -> Response:
    """Revoke a reading app's credential, with every stream ticket it minted."""
    device = await session.get(DeviceToken, token_id)
    if device is None or device.child_id != child.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device token with id {token_id}")
    device.revoked_at = device.revoked_at or utcnow()
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
