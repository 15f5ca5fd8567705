"""Stream tickets are worth no more than what minted them (issue 13, finding 6): a revoked
device's tickets stop working, and a child ticket starts one story, then rejoins only that run."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from backend.api.access import DEVICE_REVOKED
from backend.api.ticket_uses import TICKET_ALREADY_USED, TICKET_BOUND_TO_ITS_RUN
from backend.settings import Settings
from tests.support import STORY_TEXT, collect, create_child, make_settings, start_run

GENERATE = "/api/v1/stories/generate/stream"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url, scripted_text=STORY_TEXT)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _ticket(client: httpx.AsyncClient, body: dict[str, object], token: str) -> str:
    response = await client.post("/api/v1/stream-tickets", json=body, headers=_bearer(token))
    assert response.status_code == 201, response.text
    ticket: str = response.json()["ticket"]
    return ticket


async def test_a_revoked_devices_tickets_neither_start_nor_join_stories(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    child_id = await create_child(client)
    device = (await client.post(f"/api/v1/children/{child_id}/device-tokens", json={})).json()
    run_id = await start_run(client, child_id)
    child_ticket = await _ticket(client, {"child_id": child_id}, device["token"])
    run_ticket = await _ticket(client, {"run_id": run_id}, device["token"])
    revoked = await client.delete(f"/api/v1/children/{child_id}/device-tokens/{device['id']}")
    assert revoked.status_code == 204

    started = await anonymous.get(
        GENERATE, params={"child_id": child_id, "theme": "space", "ticket": child_ticket}
    )
    joined = await anonymous.get(f"/api/v1/runs/{run_id}/stream", params={"ticket": run_ticket})
    for refused in (started, joined):
        assert refused.status_code == 401
        assert refused.json() == {"detail": f"stream ticket refused: {DEVICE_REVOKED}"}


async def test_a_child_ticket_starts_one_story_and_then_rejoins_only_that_run(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    child_id = await create_child(client)
    device = (await client.post(f"/api/v1/children/{child_id}/device-tokens", json={})).json()
    ticket = await _ticket(client, {"child_id": child_id}, device["token"])
    params: dict[str, str | int] = {"child_id": child_id, "theme": "space", "ticket": ticket}
    frames = await collect(anonymous, GENERATE, params=params)
    assert frames[-1].event == "complete"
    own_run = frames[0].data["run_id"]

    again = await anonymous.get(GENERATE, params=params)
    assert again.status_code == 401
    assert again.json() == {"detail": TICKET_ALREADY_USED}
    rejoined = await collect(anonymous, f"/api/v1/runs/{own_run}/stream", params={"ticket": ticket})
    assert [frame.id for frame in rejoined] == [frame.id for frame in frames]
    other_run = await start_run(client, child_id)
    elsewhere = await anonymous.get(f"/api/v1/runs/{other_run}/stream", params={"ticket": ticket})
    assert elsewhere.status_code == 403
    assert elsewhere.json() == {"detail": TICKET_BOUND_TO_ITS_RUN}
