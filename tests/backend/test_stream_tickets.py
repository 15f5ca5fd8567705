"""Stream tickets are worth no more than what minted them (issue 13, finding 6): a revoked
device's tickets stop working, and a child ticket starts one story, then rejoins only that run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from backend.api.access import DEVICE_REVOKED
from backend.api.ticket_uses import TICKET_ALREADY_USED, TICKET_BOUND_TO_ITS_RUN
from backend.app import create_app
from backend.settings import Settings
from tests.support import (
    STORY_TEXT,
    collect,
    create_child,
    make_settings,
    run_states,
    running,
    sign_up,
    start_run,
    wait_for_run,
)

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


async def _child_ticket(client: httpx.AsyncClient) -> tuple[int, str]:
    child_id = await create_child(client)
    device = (await client.post(f"/api/v1/children/{child_id}/device-tokens", json={})).json()
    return child_id, await _ticket(client, {"child_id": child_id}, device["token"])


async def test_a_ticket_start_is_recorded_with_its_run_in_one_commit(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    """The ticket's use goes in with the run's row (issue 15): one write transaction before the
    stream, where claiming the ticket and binding it to its run took two more."""
    child_id, ticket = await _child_ticket(client)
    commits: list[str] = []

    def record(_conn: object) -> None:
        commits.append("commit")

    event.listen(Engine, "commit", record)
    try:
        params: dict[str, str | int] = {"child_id": child_id, "theme": "space", "ticket": ticket}
        frames = await collect(anonymous, GENERATE, params=params)
    finally:
        event.remove(Engine, "commit", record)
    assert frames[-1].event == "complete"
    assert commits == ["commit", "commit"]  # the start, then the chapter at the end


async def test_two_starts_racing_with_one_ticket_record_one_run(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, database_url: str
) -> None:
    child_id, ticket = await _child_ticket(client)
    params: dict[str, str | int] = {"child_id": child_id, "theme": "space", "ticket": ticket}
    runs_before = await run_states(database_url)
    first, second = await asyncio.gather(
        anonymous.get(GENERATE, params=params), anonymous.get(GENERATE, params=params)
    )
    assert sorted([first.status_code, second.status_code]) == [200, 401]
    refused = first if first.status_code == 401 else second
    assert refused.json() == {"detail": TICKET_ALREADY_USED}
    assert len(await run_states(database_url)) == len(runs_before) + 1


async def test_a_ticket_whose_story_is_refused_can_start_one_later(
    tmp_path: Path, database_url: str
) -> None:
    """Refused for the family's runs in flight, the ticket is not used up: nothing of the start
    was recorded."""
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        scripted_text=STORY_TEXT,
        family_runs_in_flight=1,
        scripted_tokens_per_second=5,
    )
    app = create_app(settings)
    async with (
        running(app) as client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=client.base_url
        ) as anonymous,
    ):
        await sign_up(client)
        child_id, ticket = await _child_ticket(client)
        busy = await start_run(client, child_id)
        params: dict[str, str | int] = {"child_id": child_id, "theme": "space", "ticket": ticket}
        refused = await anonymous.get(GENERATE, params=params)
        assert refused.status_code == 429, refused.text
        assert (await client.post(f"/api/v1/runs/{busy}/cancel")).status_code == 202
        await wait_for_run(client, busy, {"cancelled"})
        frames = await collect(anonymous, GENERATE, params=params)
        assert frames[-1].event == "complete"
