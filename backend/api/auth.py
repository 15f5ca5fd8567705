"""Parent accounts: register, log in, refresh, log out, change the password, and who am I.

Passwords are hashed off the event loop (`Services.passwords`), and logins and registrations are
throttled with an exponential back-off (`Services.sign_in`), per account and per client address.
"""

from __future__ import annotations

import hashlib
import logging

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.api.access import ParentDep, unauthorized
from backend.api.deps import ServicesDep, SessionDep
from backend.api.schemas import (
    TOO_MANY_ATTEMPTS,
    Credentials,
    ErrorBody,
    ParentRead,
    PasswordChange,
    RefreshRequest,
    RegistrationAccepted,
    TokenPair,
)
from backend.api.sessions import open_session, revoke_family, rotate, sign_out_everywhere
from backend.auth.password_policy import password_problem
from backend.auth.passwords import hash_password
from backend.auth.tokens import TokenError
from backend.db.models import Parent, RefreshToken

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/auth", tags=["accounts"])
# Compared against when the email is unknown, so a login takes as long either way.
_NO_SUCH_PARENT_HASH = hash_password("no such parent account")


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def account_key(email: str) -> str:
    """The throttle's name for an account: a digest, so no email is stored in the counts."""
    return hashlib.sha256(email.lower().encode()).hexdigest()[:32]


REGISTRATION_ACCEPTED = (
    "registration received: sign in with this email and password. An email that already has "
    "an account keeps its own password"
)


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RegistrationAccepted,
    responses={
        422: {"model": ErrorBody, "description": "A malformed email, or a weak password."},
        **TOO_MANY_ATTEMPTS,
    },
)
async def register(
    body: Credentials, request: Request, session: SessionDep, services: ServicesDep
) -> RegistrationAccepted:
    """Create a parent account. The answer is the same whether or not the email already has an
    account (so it tells no one which emails do); a deployment that sends email would confirm
    the address by a link before the account can sign in."""
    await services.sign_in.admit_registration(client_address(request))
    problem = password_problem(body.password)
    if problem is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    # Hashed for an existing email too, so both answers take as long.
    password_hash = await services.passwords.hash(body.password)
    session.add(Parent(email=body.email.lower(), password_hash=password_hash))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        logger.info("registration for an email that already has an account")
    return RegistrationAccepted(detail=REGISTRATION_ACCEPTED)


@router.post(
    "/login",
    response_model=TokenPair,
    responses={401: {"model": ErrorBody}, **TOO_MANY_ATTEMPTS},
)
async def login(
    body: Credentials, request: Request, session: SessionDep, services: ServicesDep
) -> TokenPair:
    """Exchange email and password for an access token (and a refresh token). After a few wrong
    passwords, further attempts wait a back-off that doubles each time (429, Retry-After)."""
    account, address = account_key(body.email), client_address(request)
    await services.sign_in.admit_login(account, address)
    parent = await session.scalar(select(Parent).where(Parent.email == body.email.lower()))
    hashed = parent.password_hash if parent is not None else _NO_SUCH_PARENT_HASH
    if not await services.passwords.verify(body.password, hashed) or parent is None:
        await services.sign_in.login_failed(address)
        if parent is None:
            logger.warning("failed sign-in: no account for that email (client %s)", address)
        else:
            logger.warning(
                "failed sign-in: wrong password for parent %s (client %s)", parent.id, address
            )
        raise unauthorized("wrong email or password")
    await services.sign_in.login_succeeded(account)
    return await open_session(session, services.tokens, parent)


@router.post("/refresh", response_model=TokenPair, responses={401: {"model": ErrorBody}})
async def refresh(body: RefreshRequest, session: SessionDep, services: ServicesDep) -> TokenPair:
    """Trade a refresh token for new tokens, without the password. Each refresh token works
    once; using one a second time signs out the whole session it belongs to."""
    try:
        claims = services.tokens.read(body.refresh_token, "refresh")
    except TokenError as exc:
        raise unauthorized(str(exc)) from None
    return await rotate(session, services.tokens, claims)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={401: {"model": ErrorBody, "description": "Not a valid refresh token."}},
)
async def logout(body: RefreshRequest, session: SessionDep, services: ServicesDep) -> Response:
    """Sign this session out: its refresh token, and every one rotated from the same sign-in,
    stop working. Access tokens already issued expire on their own (minutes)."""
    try:
        claims = services.tokens.read(body.refresh_token, "refresh")
    except TokenError as exc:
        raise unauthorized(str(exc)) from None
    row = await session.get(RefreshToken, claims.token_id)
    if row is not None and row.parent_id == claims.parent_id:
        await revoke_family(session, row.family_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password",
    response_model=TokenPair,
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody, "description": "The current password is not right."},
        422: {"model": ErrorBody, "description": "The new password is too weak."},
        **TOO_MANY_ATTEMPTS,
    },
)
async def change_password(
    body: PasswordChange,
    caller: ParentDep,
    request: Request,
    session: SessionDep,
    services: ServicesDep,
) -> TokenPair:
    """Change the password. Every session, device token and stream ticket of the family is
    signed out; the answer carries new tokens for the caller."""
    parent = await session.get(Parent, caller.parent_id)
    if parent is None:
        raise unauthorized("the account behind this token no longer exists")
    account, address = account_key(parent.email), client_address(request)
    await services.sign_in.admit_login(account, address)
    if not await services.passwords.verify(body.current_password, parent.password_hash):
        await services.sign_in.login_failed(address)
        logger.warning(
            "failed password change: wrong password for parent %s (client %s)", parent.id, address
        )
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the current password is not right")
    await services.sign_in.login_succeeded(account)
    problem = password_problem(body.new_password)
    if problem is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    parent.password_hash = await services.passwords.hash(body.new_password)
    await sign_out_everywhere(session, parent)
    logger.info("parent %s changed their password: every session signed out", parent.id)
    return await open_session(session, services.tokens, parent)


@router.get("/me", response_model=ParentRead, responses={401: {"model": ErrorBody}})
async def me(parent: ParentDep, session: SessionDep) -> Parent:
    account = await session.get(Parent, parent.parent_id)
    if account is None:
        raise unauthorized("the account behind this token no longer exists")
    return account
