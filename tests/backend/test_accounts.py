from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from backend.auth.tokens import TokenService
from backend.settings import DEVELOPMENT_JWT_SECRET
from tests.support import PASSWORD, sign_up


async def test_register_login_and_me(anonymous: httpx.AsyncClient) -> None:
    registered = await anonymous.post(
        "/api/v1/auth/register", json={"email": "Ana@Example.com", "password": PASSWORD}
    )
    assert registered.status_code == 202
    assert PASSWORD not in registered.text

    login = await anonymous.post(
        "/api/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200
    body = login.json()
    assert body["token_type"] == "bearer"
    me = await anonymous.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["email"] == "ana@example.com"


async def test_registering_a_taken_email_answers_like_a_new_one_and_keeps_its_password(
    anonymous: httpx.AsyncClient,
) -> None:
    # Issue 13, finding 13: a 409 told anyone which emails have an account.
    new = await anonymous.post(
        "/api/v1/auth/register", json={"email": "new@example.com", "password": PASSWORD}
    )
    await sign_up(anonymous, "twice@example.com")
    again = await anonymous.post(
        "/api/v1/auth/register",
        json={"email": "TWICE@example.com", "password": "another long passphrase"},
    )
    assert (again.status_code, again.json()) == (new.status_code, new.json())
    assert again.status_code == 202
    taken_over = await anonymous.post(
        "/api/v1/auth/login",
        json={"email": "twice@example.com", "password": "another long passphrase"},
    )
    assert taken_over.status_code == 401
    owner = await anonymous.post(
        "/api/v1/auth/login", json={"email": "twice@example.com", "password": PASSWORD}
    )
    assert owner.status_code == 200


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "password12", "qwertyuiop", "1234567890"])
async def test_common_and_easily_guessed_passwords_are_refused(
    anonymous: httpx.AsyncClient, password: str
) -> None:
    response = await anonymous.post(
        "/api/v1/auth/register", json={"email": "weak@example.com", "password": password}
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": "password: too common or too easy to guess; choose a longer phrase"
    }


@pytest.mark.parametrize(
    ("email", "password"),
    [("ana@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)],
)
async def test_wrong_credentials_are_401_without_saying_which(
    anonymous: httpx.AsyncClient, email: str, password: str
) -> None:
    await sign_up(anonymous, "ana@example.com")
    response = await anonymous.post(
        "/api/v1/auth/login", json={"email": email, "password": password}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong email or password"}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("payload", "mentions"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": "x" * 129}, "password"),
        ({"email": "a@example.com"}, "password"),
    ],
)
async def test_bad_registrations_are_422(
    anonymous: httpx.AsyncClient, payload: dict[str, str], mentions: str
) -> None:
    response = await anonymous.post("/api/v1/auth/register", json=payload)
    assert response.status_code == 422
    assert mentions in response.json()["detail"]


async def test_refresh_token_buys_a_new_access_token(anonymous: httpx.AsyncClient) -> None:
    await anonymous.post(
        "/api/v1/auth/register", json={"email": "r@example.com", "password": PASSWORD}
    )
    pair = (
        await anonymous.post(
            "/api/v1/auth/login", json={"email": "r@example.com", "password": PASSWORD}
        )
    ).json()
    refreshed = await anonymous.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refreshed.status_code == 200
    me = await anonymous.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    )
    assert me.status_code == 200

    wrong_kind = await anonymous.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["access_token"]}
    )
    assert wrong_kind.status_code == 401
    assert wrong_kind.json()["detail"] == "this is an access token; this needs a refresh token"
    as_bearer = await anonymous.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {pair['refresh_token']}"}
    )
    assert as_bearer.status_code == 401


async def test_expired_and_forged_tokens_are_refused(
    anonymous: httpx.AsyncClient, app: FastAPI
) -> None:
    await sign_up(anonymous, "e@example.com")
    expired = TokenService(
        DEVELOPMENT_JWT_SECRET,
        access_ttl=timedelta(seconds=-5),
        refresh_ttl=timedelta(days=1),
        ticket_ttl=timedelta(minutes=1),
    ).issue("access", parent_id=1)
    forged = TokenService(
        "another secret that is long enough to sign",
        access_ttl=timedelta(minutes=5),
        refresh_ttl=timedelta(days=1),
        ticket_ttl=timedelta(minutes=1),
    ).issue("access", parent_id=1)
    for token, reason in ((expired.token, "the token has expired"), (forged.token, "not valid")):
        response = await anonymous.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        assert reason in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/children"),
        ("POST", "/api/v1/children"),
        ("GET", "/api/v1/themes"),
        ("POST", "/api/v1/runs"),
        ("GET", "/api/v1/runs/abc"),
        ("GET", "/api/v1/runs/abc/stream"),
        ("GET", "/api/v1/stories/1"),
        ("GET", "/api/v1/stories/generate/stream?child_id=1&theme=space"),
        ("POST", "/api/v1/stream-tickets"),
    ],
)
async def test_every_route_needs_sign_in(
    anonymous: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await anonymous.request(method, path, json={})
    assert response.status_code == 401
    assert response.json()["detail"].startswith("sign in first")
