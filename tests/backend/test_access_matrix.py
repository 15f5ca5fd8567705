"""Who may touch what, route by route, on SQLite and PostgreSQL: another family's resources do
not exist for you (404), parent-only routes refuse a child's device (403), and stream tickets
are short-lived, single-purpose and scoped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from backend.auth.tokens import TokenService
from backend.settings import DEVELOPMENT_JWT_SECRET, Settings
from tests.conftest import ClientFactory
from tests.support import STORY_TEXT, collect, create_child, make_settings, sign_up


@dataclass
class Family:
    client: httpx.AsyncClient
    child_id: int
    device_token: str
    device_id: str
    run_id: str
    story_id: int
    series_id: int

    @property
    def ids(self) -> dict[str, object]:
        return {
            "child": self.child_id,
            "run": self.run_id,
            "story": self.story_id,
            "series": self.series_id,
            "device": self.device_id,
        }


async def _family(new_client: ClientFactory) -> Family:
    client = new_client()
    await sign_up(client)
    child_id = await create_child(client)
    device = (await client.post(f"/api/v1/children/{child_id}/device-tokens", json={})).json()
    frames = await collect(
        client, "/api/v1/stories/generate/stream", params={"child_id": child_id, "theme": "space"}
    )
    story = frames[-1].data["story"]
    return Family(
        client=client,
        child_id=child_id,
        device_token=device["token"],
        device_id=device["id"],
        run_id=story["run_id"],
        story_id=story["id"],
        series_id=story["series_id"],
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url, scripted_text=STORY_TEXT)


@pytest.fixture
async def families(new_client: ClientFactory) -> tuple[Family, Family]:
    return await _family(new_client), await _family(new_client)


# (method, path template, JSON body); {child} etc. are filled with the target family's ids.
Route = tuple[str, str, object]
FAMILY_ROUTES: list[Route] = [
    ("GET", "/api/v1/children/{child}", None),
    ("GET", "/api/v1/children/{child}/themes", None),
    ("GET", "/api/v1/children/{child}/series", None),
    ("GET", "/api/v1/children/{child}/stories", None),
    ("GET", "/api/v1/series/{series}", None),
    ("GET", "/api/v1/stories/{story}", None),
    ("POST", "/api/v1/stories/{story}/choice", {"choice": 1}),
    ("POST", "/api/v1/stories/{story}/read", None),
    ("PUT", "/api/v1/stories/{story}/favourite", {"favourite": True}),
    ("GET", "/api/v1/runs/{run}", None),
    ("GET", "/api/v1/runs/{run}/stream", None),
    ("POST", "/api/v1/runs/{run}/cancel", None),
    ("POST", "/api/v1/runs", {"child_id": "{child}", "theme": "space"}),
    ("GET", "/api/v1/stories/generate/stream?child_id={child}&theme=space", None),
    ("POST", "/api/v1/stream-tickets", {"child_id": "{child}"}),
    ("POST", "/api/v1/stream-tickets", {"run_id": "{run}"}),
]
PARENT_ONLY_ROUTES: list[Route] = [
    ("GET", "/api/v1/children", None),
    ("POST", "/api/v1/children", {"name": "Zed", "age": 7}),
    ("PATCH", "/api/v1/children/{child}", {"age": 7}),
    ("DELETE", "/api/v1/children/{child}", None),
    ("PUT", "/api/v1/children/{child}/themes", {"theme_ids": ["ocean"]}),
    ("POST", "/api/v1/children/{child}/device-tokens", {}),
    ("GET", "/api/v1/children/{child}/device-tokens", None),
    ("DELETE", "/api/v1/children/{child}/device-tokens/{device}", None),
    (
        "POST",
        "/api/v1/themes/custom",
        {"title": "Kites", "description": "Flying kites on a windy hill."},
    ),
    ("GET", "/api/v1/auth/me", None),
]


def _fill(value: object, ids: dict[str, object]) -> object:
    if isinstance(value, str):
        for name, target in ids.items():
            if value == "{" + name + "}":
                return target
            value = value.replace("{" + name + "}", str(target))
        return value
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


async def _call(
    client: httpx.AsyncClient,
    route: tuple[str, str, object],
    ids: dict[str, object],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    method, path, body = route
    return await client.request(
        method, str(_fill(path, ids)), json=_fill(body, ids), headers=headers
    )


@pytest.mark.parametrize(
    "route", FAMILY_ROUTES + PARENT_ONLY_ROUTES[2:8], ids=lambda r: f"{r[0]} {r[1]}"
)
async def test_a_parent_gets_404_for_another_familys_resources(
    families: tuple[Family, Family], route: tuple[str, str, object]
) -> None:
    mine, theirs = families
    response = await _call(mine.client, route, theirs.ids)
    assert response.status_code == 404, response.text
    assert response.json()["detail"].startswith("no ")


@pytest.mark.parametrize("route", FAMILY_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
async def test_a_childs_device_cannot_reach_another_child(
    families: tuple[Family, Family], route: tuple[str, str, object]
) -> None:
    mine, theirs = families
    device = {"Authorization": f"Bearer {mine.device_token}"}
    response = await _call(mine.client, route, theirs.ids, headers=device)
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("route", FAMILY_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
async def test_a_childs_device_reaches_its_own_stories(
    families: tuple[Family, Family], route: tuple[str, str, object]
) -> None:
    mine, _ = families
    device = {"Authorization": f"Bearer {mine.device_token}"}
    response = await _call(mine.client, route, mine.ids, headers=device)
    # Cancelling a finished run is a 409, a second stream start may find the chapter written.
    assert response.status_code in {200, 201, 202, 204, 409}, response.text


@pytest.mark.parametrize("route", PARENT_ONLY_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
async def test_a_childs_device_cannot_use_parent_only_routes(
    families: tuple[Family, Family], route: tuple[str, str, object]
) -> None:
    mine, _ = families
    device = {"Authorization": f"Bearer {mine.device_token}"}
    response = await _call(mine.client, route, mine.ids, headers=device)
    assert response.status_code == 403, response.text
    assert response.json()["detail"] == "only a parent account may do this, not a child's device"


async def _ticket(client: httpx.AsyncClient, **scope: object) -> str:
    response = await client.post("/api/v1/stream-tickets", json=scope)
    assert response.status_code == 201, response.text
    ticket: str = response.json()["ticket"]
    return ticket


async def test_a_run_ticket_joins_only_its_run(
    families: tuple[Family, Family], new_client: ClientFactory
) -> None:
    mine, theirs = families
    anonymous = new_client()
    ticket = await _ticket(mine.client, run_id=mine.run_id)
    joined = await anonymous.get(f"/api/v1/runs/{mine.run_id}/stream", params={"ticket": ticket})
    assert joined.status_code == 200
    assert "event: complete" in joined.text

    second = await mine.client.post(
        "/api/v1/runs", json={"child_id": mine.child_id, "theme": "ocean"}
    )
    other_run = second.json()["run_id"]
    refused = await anonymous.get(f"/api/v1/runs/{other_run}/stream", params={"ticket": ticket})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "this stream ticket is for another run"}
    start = await anonymous.get(
        "/api/v1/stories/generate/stream",
        params={"child_id": mine.child_id, "theme": "space", "ticket": ticket},
    )
    assert start.status_code == 403
    assert (
        await anonymous.get(f"/api/v1/runs/{theirs.run_id}/stream", params={"ticket": ticket})
    ).status_code == 403


async def test_a_child_ticket_covers_that_child_only(
    families: tuple[Family, Family], new_client: ClientFactory
) -> None:
    mine, theirs = families
    anonymous = new_client()
    ticket = await _ticket(mine.client, child_id=mine.child_id)
    own = await anonymous.get(f"/api/v1/runs/{mine.run_id}/stream", params={"ticket": ticket})
    assert own.status_code == 200
    other = await anonymous.get(f"/api/v1/runs/{theirs.run_id}/stream", params={"ticket": ticket})
    assert other.status_code == 404
    other_child = await anonymous.get(
        "/api/v1/stories/generate/stream",
        params={"child_id": theirs.child_id, "theme": "space", "ticket": ticket},
    )
    assert other_child.status_code == 404
    # A ticket is for streams only: it is not a bearer token anywhere else.
    as_bearer = await anonymous.get(
        f"/api/v1/stories/{mine.story_id}", headers={"Authorization": f"Bearer {ticket}"}
    )
    assert as_bearer.status_code == 401


async def test_expired_and_long_lived_tokens_are_refused_as_tickets(
    families: tuple[Family, Family], new_client: ClientFactory, app: FastAPI
) -> None:
    mine, _ = families
    anonymous = new_client()
    expired = TokenService(
        DEVELOPMENT_JWT_SECRET,
        access_ttl=timedelta(minutes=5),
        refresh_ttl=timedelta(days=1),
        ticket_ttl=timedelta(seconds=-1),
    ).issue("stream", parent_id=1, run_id=mine.run_id)
    access = str(mine.client.headers["Authorization"]).removeprefix("Bearer ")
    cases = {
        expired.token: "stream ticket refused: the token has expired",
        access: "stream ticket refused: this is an access token; this needs a stream token",
        mine.device_token: (
            "stream ticket refused: this is a device token; this needs a stream token"
        ),
    }
    for token, detail in cases.items():
        response = await anonymous.get(
            f"/api/v1/runs/{mine.run_id}/stream", params={"ticket": token}
        )
        assert response.status_code == 401
        assert response.json() == {"detail": detail}


async def test_child_devices_see_approved_chapters_only_and_parents_see_drafts(
    new_client: ClientFactory, app: FastAPI
) -> None:
    client = new_client()
    await sign_up(client)
    child_id = await create_child(client)
    device = (await client.post(f"/api/v1/children/{child_id}/device-tokens", json={})).json()
    as_child = {"Authorization": f"Bearer {device['token']}"}
    await collect(
        client, "/api/v1/stories/generate/stream", params={"child_id": child_id, "theme": "space"}
    )
    # Same family, a chapter that fails the safety check: stored as a draft for the parent.
    app.state.services.runs.env.context.model.text = (
        "The pirate pulled out a gun.\nQUESTION: ?\nCHOICE 1: a\nCHOICE 2: b"
    )
    rejected = await collect(
        client, "/api/v1/stories/generate/stream", params={"child_id": child_id, "theme": "ocean"}
    )
    assert rejected[-1].data["error_code"] == "SAFETY_REJECTED"
    parent_view = (await client.get(f"/api/v1/children/{child_id}/stories")).json()
    child_view = (await client.get(f"/api/v1/children/{child_id}/stories", headers=as_child)).json()
    assert [story["content_approved"] for story in parent_view["items"]] == [False, True]
    assert [story["content_approved"] for story in child_view["items"]] == [True]
    draft_id = parent_view["items"][0]["id"]
    assert (await client.get(f"/api/v1/stories/{draft_id}")).json()["content_approved"] is False
    assert (await client.get(f"/api/v1/stories/{draft_id}", headers=as_child)).status_code == 404


async def test_a_childs_device_may_only_start_allowed_themes(
    families: tuple[Family, Family],
) -> None:
    mine, _ = families
    device = {"Authorization": f"Bearer {mine.device_token}"}
    refused = await mine.client.get(
        "/api/v1/stories/generate/stream",
        params={"child_id": mine.child_id, "theme": "dinosaurs"},
        headers=device,
    )
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "theme 'dinosaurs' is not allowed for Mia; a parent can allow it"
    }
    parent = await mine.client.get(
        "/api/v1/stories/generate/stream", params={"child_id": mine.child_id, "theme": "dinosaurs"}
    )
    assert parent.status_code == 200
