"""Issue 14: a native EventSource on `GET /stories/generate/stream` reconnects to the same URL
(same ticket, `Last-Event-ID` header); that must resume the run it started, over a real socket."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Serve
from tests.support import STORY_BODY, STORY_TEXT, Frame, collect, create_child, streamed_text


async def _child_ticket(client: httpx.AsyncClient, child_id: int) -> str:
    response = await client.post("/api/v1/stream-tickets", json={"child_id": child_id})
    assert response.status_code == 201, response.text
    ticket: str = response.json()["ticket"]
    return ticket


async def test_eventsource_reconnect_on_the_generate_url_resumes_the_same_run(
    serve: Serve,
) -> None:
    async with serve(scripted_text=STORY_TEXT, scripted_tokens_per_second=200.0) as client:
        child_id = await create_child(client)
        ticket = await _child_ticket(client, child_id)
        # As EventSource does: no Authorization header, the ticket in the URL.
        anonymous = httpx.AsyncClient(base_url=str(client.base_url), timeout=30)
        params: dict[str, str | int] = {"child_id": child_id, "theme": "space", "ticket": ticket}
        url = "/api/v1/stories/generate/stream"
        async with anonymous:
            first = await collect(anonymous, url, params=params, stop_after_content=5)
            run_id = first[0].data["run_id"]
            last_id = first[-1].id
            async with anonymous.stream(
                "GET", url, params=params, headers={"Last-Event-ID": str(last_id)}
            ) as response:
                assert response.status_code == 200
                assert response.headers["x-run-id"] == run_id
            rest = await collect(
                anonymous, url, params=params, headers={"Last-Event-ID": str(last_id)}
            )
            # The run is over and this client has its last event: 204 stops EventSource.
            done = await anonymous.get(
                url, params=params, headers={"Last-Event-ID": str(rest[-1].id)}
            )
        frames: list[Frame] = first + rest
        assert [frame.id for frame in frames] == list(range(1, len(frames) + 1))
        assert rest[-1].event == "complete"
        assert streamed_text(frames) == rest[-1].data["story"]["content"] == STORY_BODY
        assert rest[-1].data["story"]["run_id"] == run_id
        assert done.status_code == 204
        runs = await client.get(f"/api/v1/children/{child_id}/stories")
        assert runs.json()["total"] == 1  # one story, not a second one per reconnect
