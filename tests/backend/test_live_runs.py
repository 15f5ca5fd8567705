"""A child's runs for the parent console's "watch live" (issue 14)."""

from __future__ import annotations

import httpx

from tests.support import create_child


async def test_a_parent_lists_a_childs_runs_to_watch_one(client: httpx.AsyncClient) -> None:
    child_id = await create_child(client)
    started = await client.post("/api/v1/runs", json={"child_id": child_id, "theme": "space"})
    run_id = started.json()["run_id"]
    runs = (await client.get(f"/api/v1/children/{child_id}/runs")).json()
    assert [(run["id"], run["stream_url"]) for run in runs] == [
        (run_id, f"/api/v1/runs/{run_id}/stream")
    ]
