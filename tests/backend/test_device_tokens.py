"""Children's device tokens: revoking one, and what a revoked one still reaches (nothing)."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import ClientFactory
from tests.support import create_child, sign_up


async def test_revoking_an_unknown_or_another_familys_device_token_is_404_not_500(
    client: httpx.AsyncClient, new_client: ClientFactory
) -> None:
    # Issue 13, finding 4: a misspelt status constant answered these with 500.
    child_id = await create_child(client)
    other = new_client()
    await sign_up(other)
    other_child = await create_child(other)
    foreign = (await other.post(f"/api/v1/children/{other_child}/device-tokens", json={})).json()
    for token_id in (uuid.uuid4().hex, foreign["id"]):
        response = await client.delete(f"/api/v1/children/{child_id}/device-tokens/{token_id}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"no device token with id {token_id}"}
    still_works = await other.get(
        f"/api/v1/children/{other_child}",
        headers={"Authorization": f"Bearer {foreign['token']}"},
    )
    assert still_works.status_code == 200


async def test_a_malformed_device_token_id_is_refused_before_the_database(
    client: httpx.AsyncClient,
) -> None:
    child_id = await create_child(client)
    for token_id in ("not-hex", "A" * 32, "0" * 33):
        response = await client.delete(f"/api/v1/children/{child_id}/device-tokens/{token_id}")
        assert response.status_code == 422
        assert response.json()["detail"].startswith("token_id: String should match pattern")
