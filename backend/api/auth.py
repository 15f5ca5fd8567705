"""Parent accounts: register, log in, refresh, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.api.access import ParentDep, unauthorized
from backend.api.deps import ServicesDep, SessionDep
from backend.api.schemas import Credentials, ErrorBody, ParentRead, RefreshRequest, TokenPair
from backend.auth.passwords import hash_password, verify_password
from backend.auth.tokens import TokenError, TokenService
from backend.db.models import Parent

router = APIRouter(prefix="/auth", tags=["accounts"])
# Compared against when the email is unknown, so a login takes as long either way.
_NO_SUCH_PARENT_HASH = hash_password("no such parent account")


def _token_pair(tokens: TokenService, parent_id: int) -> TokenPair:
    access = tokens.issue("access", parent_id=parent_id)
    refresh = tokens.issue("refresh", parent_id=parent_id)
    return TokenPair(
        access_token=access.token,
        expires_at=access.expires_at,
        refresh_token=refresh.token,
        refresh_expires_at=refresh.expires_at,
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=ParentRead,
    responses={409: {"model": ErrorBody, "description": "The email already has an account."}},
)
async def register(body: Credentials, session: SessionDep) -> Parent:
    """Create a parent account."""
    parent = Parent(email=body.email.lower(), password_hash=hash_password(body.password))
    session.add(parent)
    try:
        await session.commit()
    except IntegrityError:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "an account with this email already exists"
        ) from None
    return parent


@router.post("/login", response_model=TokenPair, responses={401: {"model": ErrorBody}})
async def login(body: Credentials, session: SessionDep, services: ServicesDep) -> TokenPair:
    """Exchange email and password for an access token (and a refresh token)."""
    parent = await session.scalar(select(Parent).where(Parent.email == body.email.lower()))
    hashed = parent.password_hash if parent is not None else _NO_SUCH_PARENT_HASH
    if not verify_password(body.password, hashed) or parent is None:
        raise unauthorized("wrong email or password")
    return _token_pair(services.tokens, parent.id)


@router.post("/refresh", response_model=TokenPair, responses={401: {"model": ErrorBody}})
async def refresh(body: RefreshRequest, session: SessionDep, services: ServicesDep) -> TokenPair:
    """Trade a refresh token for a new access token, without the password."""
    try:
        claims = services.tokens.read(body.refresh_token, "refresh")
    except TokenError as exc:
        raise unauthorized(str(exc)) from None
    if await session.get(Parent, claims.parent_id) is None:
        raise unauthorized("the account behind this token no longer exists")
    return _token_pair(services.tokens, claims.parent_id)


@router.get("/me", response_model=ParentRead, responses={401: {"model": ErrorBody}})
async def me(parent: ParentDep, session: SessionDep) -> Parent:
    account = await session.get(Parent, parent.parent_id)
    if account is None:
        raise unauthorized("the account behind this token no longer exists")
    return account
