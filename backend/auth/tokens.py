"""Signed, purpose-bound tokens (PyJWT, HS256). A token of one kind is refused where another is
expected, so a long-lived credential can never pass as a short-lived stream ticket."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

TokenKind = Literal["access", "refresh", "device", "stream"]
ISSUER = "storystream"
ALGORITHM = "HS256"
DEVICE_TOKEN_DAYS = 365


class TokenError(Exception):
    """A token that cannot be used here; the message says why, for the 401 body."""


@dataclass(frozen=True)
class Claims:
    kind: TokenKind
    parent_id: int
    child_id: int | None
    run_id: str | None
    token_id: str
    expires_at: datetime
    # A stream ticket minted by a child's reading app carries the child's limits.
    minted_by_child: bool = False
    # The parent's credentials version when issued: a password change signs older tokens out.
    version: int = 0
    # A ticket minted by a child's device names it, so revoking the device revokes the ticket.
    device_id: str | None = None
    # A refresh token's session (all the rotations of one sign-in).
    family_id: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


class TokenService:
    def __init__(
        self,
        secret: str,
        *,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        ticket_ttl: timedelta,
        device_ttl: timedelta = timedelta(days=DEVICE_TOKEN_DAYS),
    ) -> None:
        self._secret = secret
        self._ttl: dict[TokenKind, timedelta] = {
            "access": access_ttl,
            "refresh": refresh_ttl,
            "stream": ticket_ttl,
            "device": device_ttl,
        }

    def issue(
        self,
        kind: TokenKind,
        *,
        parent_id: int,
        child_id: int | None = None,
        run_id: str | None = None,
        token_id: str | None = None,
        minted_by_child: bool = False,
        version: int = 0,
        device_id: str | None = None,
        family_id: str | None = None,
    ) -> IssuedToken:
        now = datetime.now(UTC)
        expires_at = now + self._ttl[kind]
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "typ": kind,
            "sub": str(child_id if kind == "device" else parent_id),
            "pid": parent_id,
            "iat": now,
            "exp": expires_at,
            "jti": token_id or uuid.uuid4().hex,
        }
        if child_id is not None:
            payload["cid"] = child_id
        if run_id is not None:
            payload["rid"] = run_id
        if minted_by_child:
            payload["byc"] = True
        if version:
            payload["ver"] = version
        if device_id is not None:
            payload["did"] = device_id
        if family_id is not None:
            payload["fam"] = family_id
        return IssuedToken(jwt.encode(payload, self._secret, algorithm=ALGORITHM), expires_at)

    def read(self, token: str, *kinds: TokenKind) -> Claims:
        """The claims of a valid token of one of `kinds`, or TokenError saying what is wrong."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "typ", "pid", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("the token has expired") from None
        except jwt.PyJWTError:
            raise TokenError("the token is not valid") from None
        kind = payload["typ"]
        if kind not in kinds:
            wanted = " or ".join(kinds)
            article = "an" if kind[0] in "aeiou" else "a"
            raise TokenError(f"this is {article} {kind} token; this needs a {wanted} token")
        return Claims(
            kind=kind,
            parent_id=int(payload["pid"]),
            child_id=int(payload["cid"]) if "cid" in payload else None,
            run_id=str(payload["rid"]) if "rid" in payload else None,
            token_id=str(payload["jti"]),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            minted_by_child=bool(payload.get("byc", False)),
            version=int(payload.get("ver", 0)),
            device_id=str(payload["did"]) if "did" in payload else None,
            family_id=str(payload["fam"]) if "fam" in payload else None,
        )
