"""A parent's sessions (issue 13, finding 5): refresh tokens rotate and work once, a reused one
signs its whole session out, logout ends a session, and a password change ends them all."""

from __future__ import annotations

import httpx

from backend.api.access import SIGNED_OUT
from backend.api.sessions import REFRESH_REUSED, SESSION_ENDED
from tests.support import PASSWORD, create_child

NEW_PASSWORD = "a brand new passphrase"


async def _sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    pair: dict[str, str] = response.json()
    return pair


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _register(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 202


async def test_a_refresh_token_works_once_and_a_reuse_signs_its_session_out(
    anonymous: httpx.AsyncClient,
) -> None:
    await _register(anonymous, "ana@example.com")
    first = await _sign_in(anonymous, "ana@example.com")
    other_session = await _sign_in(anonymous, "ana@example.com")
    rotated = await _refresh(anonymous, first["refresh_token"])
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != first["refresh_token"]

    reused = await _refresh(anonymous, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json() == {"detail": REFRESH_REUSED}
    # The whole session is gone, including the token the reuse would have been racing...
    after = await _refresh(anonymous, rotated.json()["refresh_token"])
    assert (after.status_code, after.json()) == (401, {"detail": SESSION_ENDED})
    # ...while another sign-in of the same parent goes on.
    assert (await _refresh(anonymous, other_session["refresh_token"])).status_code == 200


async def test_logout_ends_the_session_of_its_refresh_token(anonymous: httpx.AsyncClient) -> None:
    await _register(anonymous, "ana@example.com")
    pair = await _sign_in(anonymous, "ana@example.com")
    rotated = (await _refresh(anonymous, pair["refresh_token"])).json()
    logout = await anonymous.post(
        "/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]}
    )
    assert logout.status_code == 204
    refused = await _refresh(anonymous, rotated["refresh_token"])
    assert (refused.status_code, refused.json()) == (401, {"detail": SESSION_ENDED})
    again = await anonymous.post(
        "/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]}
    )
    assert again.status_code == 204
    forged = await anonymous.post("/api/v1/auth/logout", json={"refresh_token": "not.a.token"})
    assert forged.status_code == 401


async def test_a_password_change_signs_out_every_session_device_and_ticket(
    anonymous: httpx.AsyncClient,
) -> None:
    await _register(anonymous, "ana@example.com")
    phone = await _sign_in(anonymous, "ana@example.com")
    laptop = await _sign_in(anonymous, "ana@example.com")
    anonymous.headers.update(_bearer(laptop["access_token"]))
    child_id = await create_child(anonymous)
    device = (await anonymous.post(f"/api/v1/children/{child_id}/device-tokens", json={})).json()
    parent_ticket = (
        await anonymous.post("/api/v1/stream-tickets", json={"child_id": child_id})
    ).json()["ticket"]
    device_ticket = (
        await anonymous.post(
            "/api/v1/stream-tickets", json={"child_id": child_id}, headers=_bearer(device["token"])
        )
    ).json()["ticket"]

    wrong = await anonymous.post(
        "/api/v1/auth/password",
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
    )
    assert (wrong.status_code, wrong.json()) == (
        403,
        {"detail": "the current password is not right"},
    )
    weak = await anonymous.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "password12"}
    )
    assert weak.status_code == 422
    changed = await anonymous.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["cache-control"] == "no-store"
    del anonymous.headers["Authorization"]

    for access in (phone["access_token"], laptop["access_token"]):
        refused = await anonymous.get("/api/v1/auth/me", headers=_bearer(access))
        assert (refused.status_code, refused.json()) == (401, {"detail": SIGNED_OUT})
    for refresh in (phone["refresh_token"], laptop["refresh_token"]):
        assert (await _refresh(anonymous, refresh)).status_code == 401
    app = await anonymous.get(f"/api/v1/children/{child_id}", headers=_bearer(device["token"]))
    assert app.status_code == 401
    for ticket in (parent_ticket, device_ticket):
        streamed = await anonymous.get(
            "/api/v1/stories/generate/stream",
            params={"child_id": child_id, "theme": "space", "ticket": ticket},
        )
        assert streamed.status_code == 401

    fresh = changed.json()
    assert (
        await anonymous.get("/api/v1/auth/me", headers=_bearer(fresh["access_token"]))
    ).status_code == 200
    assert (await _refresh(anonymous, fresh["refresh_token"])).status_code == 200
    old = await anonymous.post(
        "/api/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD}
    )
    assert old.status_code == 401
    await _sign_in(anonymous, "ana@example.com", NEW_PASSWORD)
