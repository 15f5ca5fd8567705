"""More stories than run slots: the extra ones wait in order and say so; past the queue's bound
new runs are refused with 503 and Retry-After, never left hanging."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backend.app import create_app
from tests.support import (
    STORY_BODY,
    STORY_TEXT,
    collect,
    create_child,
    make_settings,
    running,
    sign_up,
)


async def test_runs_beyond_the_slots_queue_with_their_place_and_then_complete(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path,
        scripted_text=STORY_TEXT,
        scripted_tokens_per_second=100,
        max_concurrent_runs=1,
        max_queued_runs=1,
    )
    async with running(create_app(settings)) as client:
        await sign_up(client)
        child_id = await create_child(client)
        body: dict[str, str | int] = {"child_id": child_id, "theme": "space"}
        first = (await client.post("/api/v1/runs", json=body)).json()["run_id"]
        second = (await client.post("/api/v1/runs", json=body)).json()["run_id"]

        refused = await client.post("/api/v1/runs", json=body)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert "try again shortly" in refused.json()["detail"]
        stream_refused = await client.get("/api/v1/stories/generate/stream", params=body)
        assert stream_refused.status_code == 503

        waiting = (await client.get(f"/api/v1/runs/{second}")).json()
        assert waiting["status"] == "queued"
        frames_first, frames_second = await asyncio.gather(
            collect(client, f"/api/v1/runs/{first}/stream"),
            collect(client, f"/api/v1/runs/{second}/stream"),
        )
        assert frames_second[0].data == {
            "type": "node",
            "node": "workflow",
            "status": "queued",
            "progress": 0,
            "run_id": second,
            "position": 1,
        }
        assert frames_second[1].data["status"] == "started"
        assert not any(frame.data.get("status") == "queued" for frame in frames_first)
        for frames in (frames_first, frames_second):
            assert frames[-1].event == "complete"
            assert frames[-1].data["story"]["content"] == STORY_BODY
        # With the slots free again, new runs are taken.
        assert (await client.post("/api/v1/runs", json=body)).status_code == 201
