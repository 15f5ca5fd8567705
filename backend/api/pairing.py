"""Pairing a child's reading app without typing a token (issue 14).

A parent asks for a short code for one child (`POST /children/{id}/pairing-codes`) and shows
it; the reading app sends it to `POST /pairing/claim` and receives that child's device token,
which it keeps on the device. A code works once, for `PAIRING_CODE_MINUTES`; only its digest is
stored. 8 characters from 31 give about 10^12 codes, so guessing a live one is hopeless.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import delete, update

from backend.api.access import ParentChildAccess
from backend.api.deps import ServicesDep, SessionDep
from backend.api.schemas import NOT_FOUND, ChildRead, DeviceTokenRead, ErrorBody, Topic
from backend.db.models import Child, DeviceToken, PairingCode, utcnow

router = APIRouter(tags=["children"])

PAIRING_CODE_MINUTES = 10
# No 0/O, 1/I/L: a code read aloud or typed on a tablet is not misread.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_REFUSED = "this pairing code is not valid (wrong, used or expired): ask a parent for a new one"

PairingCodeText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=r"^[\w\- ]+$"),
]


class PairingCodeCreated(BaseModel):
    code: str = Field(description="Shown to the parent as ABCD-EFGH; works once.")
    child_id: int
    expires_at: datetime


class PairingClaim(BaseModel):
    code: PairingCodeText = Field(
        description="The code the parent shows; case, spaces, dashes do not matter."
    )
    label: Topic = Field(default="reading app", description="Which device this is, for parents.")


class PairingClaimed(BaseModel):
    token: str = Field(
        description="The child's device token: keep it on the device, never in a URL."
    )
    device: DeviceTokenRead
    child: ChildRead


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def code_digest(code: str) -> str:
    normalised = "".join(char for char in code.upper() if char.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


@router.post(
    "/children/{child_id}/pairing-codes",
    status_code=status.HTTP_201_CREATED,
    response_model=PairingCodeCreated,
    responses=NOT_FOUND,
)
async def create_pairing_code(child: ParentChildAccess, session: SessionDep) -> PairingCodeCreated:
    """A code that pairs one reading app with this child, valid for 10 minutes, once."""
    now = utcnow()
    await session.execute(delete(PairingCode).where(PairingCode.expires_at < now))
    code = new_code()
    expires_at = now + timedelta(minutes=PAIRING_CODE_MINUTES)
    session.add(
        PairingCode(child_id=child.id, code_digest=code_digest(code), expires_at=expires_at)
    )
    await session.commit()
    return PairingCodeCreated(code=code, child_id=child.id, expires_at=expires_at)


@router.post(
    "/pairing/claim",
    status_code=status.HTTP_201_CREATED,
    response_model=PairingClaimed,
    responses={404: {"model": ErrorBody, "description": "Wrong, used or expired code."}},
)
async def claim_pairing_code(
    body: PairingClaim, session: SessionDep, services: ServicesDep
) -> PairingClaimed:
    """Trade a pairing code for the child's device token (no sign-in: the code is the proof)."""
    digest = code_digest(body.code)
    claimed = await session.execute(
        update(PairingCode)
        .where(
            PairingCode.code_digest == digest,
            PairingCode.claimed_at.is_(None),
            PairingCode.expires_at > utcnow(),
        )
        .values(claimed_at=utcnow())
        .returning(PairingCode.child_id)
    )
    child_id = claimed.scalar_one_or_none()
    child = await session.get(Child, child_id) if child_id is not None else None
    if child is None or child.parent_id is None:
        await session.rollback()
        raise HTTPException(status.HTTP_404_NOT_FOUND, CODE_REFUSED)
    device = DeviceToken(id=uuid.uuid4().hex, child_id=child.id, label=body.label)
    session.add(device)
    await session.commit()
    issued = services.tokens.issue(
        "device", parent_id=child.parent_id, child_id=child.id, token_id=device.id
    )
    return PairingClaimed(
        token=issued.token,
        device=DeviceTokenRead.model_validate(device),
        child=ChildRead.model_validate(child),
    )
