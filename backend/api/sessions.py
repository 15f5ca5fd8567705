"""A parent's sessions: refresh tokens that rotate, detect reuse, and can be revoked (issue 13).

A sign-in opens a session: a family of refresh tokens, each of which works once and is replaced
by the next. An old one coming back means someone else holds a copy: the whole family is
revoked, so both the thief and the parent must sign in again. Logging out revokes the family; a
password change revokes every family, every device token of the parent's children, and (through
the credentials version) every access token and stream ticket issued before it.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.access import unauthorized
from backend.api.schemas import TokenPair
from backend.auth.tokens import Claims, TokenService
from backend.db.models import Child, DeviceToken, Parent, RefreshToken, utcnow

logger = logging.getLogger(__name__)

REFRESH_REUSED = (
    "this refresh token was already used, so a copy of it may be in other hands: the session "
    "it belongs to is signed out; sign in again"
)
SESSION_ENDED = "this session was signed out: sign in again"


async def _issue(
    session: AsyncSession, tokens: TokenService, parent: Parent, family_id: str
) -> TokenPair:
    access = tokens.issue("access", parent_id=parent.id, version=parent.credentials_version)
    token_id = uuid.uuid4().hex
    refresh = tokens.issue(
        "refresh",
        parent_id=parent.id,
        token_id=token_id,
        version=parent.credentials_version,
        family_id=family_id,
    )
    session.add(
        RefreshToken(
            id=token_id, parent_id=parent.id, family_id=family_id, expires_at=refresh.expires_at
        )
    )
    await session.commit()
    return TokenPair(
        access_token=access.token,
        expires_at=access.expires_at,
        refresh_token=refresh.token,
        refresh_expires_at=refresh.expires_at,
    )


async def open_session(session: AsyncSession, tokens: TokenService, parent: Parent) -> TokenPair:
    return await _issue(session, tokens, parent, family_id=uuid.uuid4().hex)


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    await session.commit()


async def rotate(session: AsyncSession, tokens: TokenService, claims: Claims) -> TokenPair:
    """The next tokens of the session `claims` belongs to, or 401 (a reuse revokes it)."""
    row = await session.get(RefreshToken, claims.token_id)
    parent = await session.get(Parent, claims.parent_id)
    if parent is None:
        raise unauthorized("the account behind this token no longer exists")
    if row is None or row.revoked_at is not None or row.parent_id != parent.id:
        raise unauthorized(SESSION_ENDED)
    if claims.version != parent.credentials_version:
        raise unauthorized(SESSION_ENDED)
    # Marked used in one statement, so of two concurrent uses exactly one wins.
    used = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == row.id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    family_id, parent_id = row.family_id, parent.id
    if used.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        await revoke_family(session, family_id)
        logger.warning("refresh token reused for parent %s: its session is signed out", parent_id)
        raise unauthorized(REFRESH_REUSED)
    return await _issue(session, tokens, parent, family_id=row.family_id)


async def sign_out_everywhere(session: AsyncSession, parent: Parent) -> None:
    """Revoke every session and device token of `parent`, and outdate its other tokens."""
    now = utcnow()
    parent.credentials_version += 1
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.parent_id == parent.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    children = select(Child.id).where(Child.parent_id == parent.id)
    await session.execute(
        update(DeviceToken)
        .where(DeviceToken.child_id.in_(children), DeviceToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.commit()
