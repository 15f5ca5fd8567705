"""Bad input gets a clear 4xx JSON answer before any stream starts."""

from __future__ import annotations

import httpx
import pytest

from tests.support import create_child


async def test_child_profile_is_created_and_read_back(client: httpx.AsyncClient) -> None:
    child_id = await create_child(client, name="  Noor ", age=9)
    body = (await client.get(f"/api/v1/children/{child_id}")).json()
    assert (body["id"], body["name"], body["age"]) == (child_id, "Noor", 9)


@pytest.mark.parametrize(
    ("payload", "mentions"),
    [
        ({"name": "Mia", "age": 2}, "age"),
        ({"name": "Mia", "age": 13}, "age"),
        ({"name": "", "age": 6}, "name"),
        ({"age": 6}, "name"),
    ],
)
async def test_invalid_child_profile_is_refused(
    client: httpx.AsyncClient, payload: dict[str, object], mentions: str
) -> None:
    response = await client.post("/api/v1/children", json=payload)
    assert response.status_code == 422
    assert mentions in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "status", "mentions"),
    [
        ({}, 422, "theme: Field required"),
        ({"theme": "space", "chapter_number": 0}, 422, "chapter_number"),
        ({"theme": "space", "title": "x" * 121}, 422, "title"),
        ({"theme": "volcanoes"}, 422, "unknown theme 'volcanoes'"),
        ({"theme": "pirates"}, 422, "ages 5-12"),
        ({"theme": "space", "chapter_number": 2}, 409, "needs chapter 1"),
    ],
)
async def test_bad_story_parameters_are_refused_before_streaming(
    client: httpx.AsyncClient, params: dict[str, object], status: int, mentions: str
) -> None:
    child_id = await create_child(client, age=4)
    for method, url, kwargs in (
        ("GET", "/api/v1/stories/generate/stream", {"params": {"child_id": child_id, **params}}),
        ("POST", "/api/v1/runs", {"json": {"child_id": child_id, **params}}),
    ):
        response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        assert mentions in response.json()["detail"]


async def test_unknown_child_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/stories/generate/stream", params={"child_id": 999, "theme": "space"}
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "no child profile with id 999"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/runs/nope"),
        ("GET", "/api/v1/runs/nope/stream"),
        ("POST", "/api/v1/runs/nope/cancel"),
        ("GET", "/api/v1/stories/12345"),
        ("GET", "/api/v1/children/12345"),
    ],
)
async def test_unknown_resources_are_404_with_a_reason(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 404
    assert "no " in response.json()["detail"]


@pytest.mark.parametrize(
    ("headers", "params", "mentions"),
    [
        ({"Last-Event-ID": "abc"}, {}, "Last-Event-ID header must be the integer id"),
        ({"Last-Event-ID": "-3"}, {}, "must not be negative"),
        ({}, {"last_event_id": "1e9"}, "last_event_id must be the integer id"),
        ({"Last-Event-ID": "99999999"}, {}, "beyond run"),
    ],
)
async def test_malformed_last_event_id_is_a_clear_400(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, str], mentions: str
) -> None:
    child_id = await create_child(client)
    created = await client.post("/api/v1/runs", json={"child_id": child_id, "theme": "space"})
    run_id = created.json()["run_id"]
    response = await client.get(f"/api/v1/runs/{run_id}/stream", headers=headers, params=params)
    assert response.status_code == 400
    assert mentions in response.json()["detail"]


async def test_themes_are_listed_and_filtered_by_age(client: httpx.AsyncClient) -> None:
    everything = (await client.get("/api/v1/themes")).json()
    for_three = (await client.get("/api/v1/themes", params={"age": 3})).json()
    assert len(everything) >= 12
    assert {theme["id"] for theme in for_three} < {theme["id"] for theme in everything}
    assert all(theme["min_age"] <= 3 <= theme["max_age"] for theme in for_three)


async def test_openapi_documents_every_route(client: httpx.AsyncClient) -> None:
    paths = set((await client.get("/openapi.json")).json()["paths"])
    assert paths == {
        "/healthz",
        "/readyz",
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/password",
        "/api/v1/auth/me",
        "/api/v1/stream-tickets",
        "/api/v1/children/{child_id}/themes",
        "/api/v1/children/{child_id}/device-tokens",
        "/api/v1/children/{child_id}/device-tokens/{token_id}",
        "/api/v1/children/{child_id}/series",
        "/api/v1/children/{child_id}/stories",
        "/api/v1/series/{series_id}",
        "/api/v1/themes/custom",
        "/api/v1/stories/{story_id}/choice",
        "/api/v1/stories/{story_id}/read",
        "/api/v1/stories/{story_id}/favourite",
        "/api/v1/children",
        "/api/v1/children/{child_id}",
        "/api/v1/themes",
        "/api/v1/runs",
        "/api/v1/runs/{run_id}",
        "/api/v1/runs/{run_id}/stream",
        "/api/v1/runs/{run_id}/cancel",
        "/api/v1/stories/generate/stream",
        "/api/v1/children/{child_id}/pairing-codes",
        "/api/v1/children/{child_id}/runs",
        "/api/v1/pairing/claim",
        "/api/v1/stories/{story_id}",
    }
