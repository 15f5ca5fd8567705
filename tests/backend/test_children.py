from __future__ import annotations

import httpx
import pytest

from tests.support import create_child


async def test_child_profile_defaults_and_settings(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/v1/children",
        json={
            "name": "Noor",
            "age": 8,
            "interests": ["horses", "drawing"],
            "blocked_topics": ["spiders"],
            "story_length": "short",
        },
    )
    assert created.status_code == 201
    child = created.json()
    assert child["reading_level"] == "intermediate"
    assert child["allowed_theme_ids"] == []
    assert (child["interests"], child["blocked_topics"]) == (["horses", "drawing"], ["spiders"])
    assert child["allow_mild_peril"] is False

    patched = await client.patch(
        f"/api/v1/children/{child['id']}", json={"age": 10, "allow_mild_peril": True}
    )
    assert (patched.json()["age"], patched.json()["allow_mild_peril"]) == (10, True)
    assert patched.json()["name"] == "Noor"
    listed = await client.get("/api/v1/children")
    assert [entry["id"] for entry in listed.json()] == [child["id"]]


@pytest.mark.parametrize(
    ("payload", "mentions"),
    [
        ({"name": "Mia<script>", "age": 6}, "name"),
        ({"name": "Mia\u0000", "age": 6}, "name"),
        ({"name": "Mia; rm", "age": 6}, "name"),
        ({"name": "x" * 41, "age": 6}, "name"),
        ({"name": "Mia", "age": "six"}, "age"),
        ({"name": "Mia", "age": 6, "reading_level": "expert"}, "reading_level"),
        ({"name": "Mia", "age": 6, "interests": ["guns"]}, "interests"),
        ({"name": "Mia", "age": 6, "story_length": "epic"}, "story_length"),
    ],
)
async def test_invalid_profiles_are_refused(
    client: httpx.AsyncClient, payload: dict[str, object], mentions: str
) -> None:
    response = await client.post("/api/v1/children", json=payload)
    assert response.status_code == 422
    assert mentions in response.json()["detail"]


async def test_deleting_a_child_removes_it(client: httpx.AsyncClient) -> None:
    child_id = await create_child(client)
    assert (await client.delete(f"/api/v1/children/{child_id}")).status_code == 204
    assert (await client.get(f"/api/v1/children/{child_id}")).status_code == 404


async def test_allowed_themes_are_validated(client: httpx.AsyncClient) -> None:
    child_id = await create_child(client, age=3, themes=())
    ok = await client.put(
        f"/api/v1/children/{child_id}/themes", json={"theme_ids": ["ocean", "farm", "ocean"]}
    )
    assert ok.json() == {"theme_ids": ["ocean", "farm"]}
    too_old = await client.put(
        f"/api/v1/children/{child_id}/themes", json={"theme_ids": ["pirates"]}
    )
    assert too_old.status_code == 422
    assert "ages 5-12" in too_old.json()["detail"]
    unknown = await client.put(f"/api/v1/children/{child_id}/themes", json={"theme_ids": ["lava"]})
    assert unknown.status_code == 422
    assert (await client.get(f"/api/v1/children/{child_id}/themes")).json() == {
        "theme_ids": ["ocean", "farm"]
    }


async def test_custom_themes_are_checked_then_usable(client: httpx.AsyncClient) -> None:
    unsafe = await client.post(
        "/api/v1/themes/custom",
        json={"title": "Zombie night", "description": "A zombie hunts the kids with a gun."},
    )
    assert unsafe.status_code == 422
    assert "scary" in unsafe.json()["detail"] or "weapons" in unsafe.json()["detail"]

    created = await client.post(
        "/api/v1/themes/custom",
        json={"title": "Grandma's bakery", "description": "Baking bread and buns with Grandma."},
    )
    assert created.status_code == 201
    theme = created.json()
    assert theme["id"].startswith("custom-")
    assert theme["custom"] is True
    listed = [entry["id"] for entry in (await client.get("/api/v1/themes")).json()]
    assert theme["id"] in listed

    child_id = await create_child(client, themes=(theme["id"],))
    frames = await client.get(
        "/api/v1/stories/generate/stream", params={"child_id": child_id, "theme": theme["id"]}
    )
    assert frames.status_code == 200
    assert "Grandma's bakery" in frames.text


async def test_device_tokens_are_listed_and_revocable(client: httpx.AsyncClient) -> None:
    child_id = await create_child(client)
    created = await client.post(
        f"/api/v1/children/{child_id}/device-tokens", json={"label": "tablet"}
    )
    assert created.status_code == 201
    device = created.json()
    as_child = {"Authorization": f"Bearer {device['token']}"}
    assert (await client.get(f"/api/v1/children/{child_id}", headers=as_child)).status_code == 200

    listed = (await client.get(f"/api/v1/children/{child_id}/device-tokens")).json()
    assert [(entry["id"], entry["label"]) for entry in listed] == [(device["id"], "tablet")]
    assert "token" not in listed[0]

    revoked = await client.delete(f"/api/v1/children/{child_id}/device-tokens/{device['id']}")
    assert revoked.status_code == 204
    refused = await client.get(f"/api/v1/children/{child_id}", headers=as_child)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "this device token was revoked by a parent"
