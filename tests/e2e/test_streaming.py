"""End to end over a real socket: uvicorn on 127.0.0.1, a real SSE client (httpx-sse)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Serve
from tests.support import (
    CHOICES_BLOCK,
    STORY_BODY,
    STORY_TEXT,
    Frame,
    closed_port,
    collect,
    create_child,
    event_types,
    streamed_text,
    wait_for_run,
)

CONTRACT_ORDER = [
    ("node", "workflow", "started"),
    ("node", "generate", "started"),
    ("content", None, None),
    ("node", "generate", "completed"),
    # The question, choices and summary: a structured-output call, never streamed as content.
    ("node", "ending", "started"),
    ("node", "ending", "completed"),
    ("node", "safety_check", "started"),
    ("safety", None, None),
    ("node", "safety_check", "completed"),
    ("node", "metrics", "started"),
    ("metadata", None, None),
    ("node", "metrics", "completed"),
    ("node", "workflow", "completed"),
    ("complete", None, None),
]


def _shape(frames: list[Frame]) -> list[tuple[str, str | None, str | None]]:
    shape: list[tuple[str, str | None, str | None]] = []
    for frame in frames:
        step = (
            frame.event,
            frame.data.get("node"),
            frame.data.get("status") if frame.event == "node" else None,
        )
        if not shape or shape[-1] != step or frame.event != "content":
            shape.append(step)
    return shape


async def _start_run(client: httpx.AsyncClient, theme: str = "space") -> str:
    child_id = await create_child(client)
    response = await client.post("/api/v1/runs", json={"child_id": child_id, "theme": theme})
    assert response.status_code == 201
    body = response.json()
    assert body["stream_url"] == f"/api/v1/runs/{body['run_id']}/stream"
    assert response.headers["location"] == f"/api/v1/runs/{body['run_id']}"
    run_id: str = body["run_id"]
    return run_id


async def test_successful_run_streams_contract_events_in_order_and_stores_what_was_shown(
    serve: Serve,
) -> None:
    async with serve(scripted_text=STORY_TEXT) as client:
        child_id = await create_child(client)
        async with client.stream(
            "GET",
            "/api/v1/stories/generate/stream",
            params={"child_id": child_id, "theme": "space"},
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            run_id = response.headers["x-run-id"]
        frames = await collect(client, f"/api/v1/runs/{run_id}/stream")

        assert _shape(frames) == CONTRACT_ORDER
        assert [frame.id for frame in frames] == list(range(1, len(frames) + 1))
        assert all(frame.data["type"] == frame.event for frame in frames)
        assert frames[0].data["run_id"] == run_id
        assert [frame.data["progress"] for frame in frames if frame.event == "node"] == [
            0,
            5,
            70,
            71,
            74,
            75,
            85,
            90,
            95,
            100,
        ]
        assert streamed_text(frames) == STORY_BODY
        assert "QUESTION" not in streamed_text(frames)

        story = frames[-1].data["story"]
        assert story["choices"] == [
            "Open the little blue door",
            "Ask the robin for help",
            "Show the key to Grandma",
        ]
        stored = (await client.get(f"/api/v1/stories/{story['id']}")).json()
        assert stored["content"] == streamed_text(frames)
        run = await wait_for_run(client, run_id, {"completed"})
        assert run["story_id"] == story["id"]
        assert run["time_to_first_token_ms"] is not None
        assert run["last_event_id"] == frames[-1].id


@pytest.mark.parametrize("via", ["header", "query"])
async def test_resume_after_disconnect_continues_without_gaps(serve: Serve, via: str) -> None:
    async with serve(scripted_text=STORY_TEXT, scripted_tokens_per_second=200) as client:
        run_id = await _start_run(client)
        first = await collect(client, f"/api/v1/runs/{run_id}/stream", stop_after_content=5)
        last_id = str(first[-1].id)
        resume = (
            {"headers": {"Last-Event-ID": last_id}}
            if via == "header"
            else {"params": {"last_event_id": last_id}}
        )
        rest = await collect(client, f"/api/v1/runs/{run_id}/stream", **resume)  # type: ignore[arg-type]
        everything = await collect(client, f"/api/v1/runs/{run_id}/stream")

        assert rest[0].id == first[-1].id + 1
        assert first + rest == everything
        assert streamed_text(first + rest) == STORY_BODY
        assert rest[-1].event == "complete"


async def test_header_wins_over_a_stale_query_value_on_automatic_reconnect(serve: Serve) -> None:
    async with serve(scripted_text=STORY_TEXT) as client:
        run_id = await _start_run(client)
        everything = await collect(client, f"/api/v1/runs/{run_id}/stream")
        rest = await collect(
            client,
            f"/api/v1/runs/{run_id}/stream",
            params={"last_event_id": "2"},
            headers={"Last-Event-ID": "10"},
        )
        assert rest == everything[10:]


async def test_reconnect_after_the_last_event_gets_204_so_eventsource_stops(serve: Serve) -> None:
    async with serve(scripted_text=STORY_TEXT) as client:
        run_id = await _start_run(client)
        frames = await collect(client, f"/api/v1/runs/{run_id}/stream")
        response = await client.get(
            f"/api/v1/runs/{run_id}/stream", headers={"Last-Event-ID": str(frames[-1].id)}
        )
        assert response.status_code == 204


async def test_two_clients_on_one_run_receive_identical_sequences(serve: Serve) -> None:
    async with serve(scripted_text=STORY_TEXT, scripted_tokens_per_second=100) as client:
        run_id = await _start_run(client)
        child, parent = await asyncio.gather(
            collect(client, f"/api/v1/runs/{run_id}/stream"),
            collect(client, f"/api/v1/runs/{run_id}/stream"),
        )
        assert child == parent
        assert child[-1].event == "complete"


async def test_disconnecting_client_does_not_stop_the_run(serve: Serve) -> None:
    async with serve(scripted_text=STORY_TEXT, scripted_tokens_per_second=100) as client:
        child_id = await create_child(client)
        frames = await collect(
            client,
            "/api/v1/stories/generate/stream",
            params={"child_id": child_id, "theme": "space"},
            stop_after_content=3,
        )
        run_id = frames[0].data["run_id"]
        assert (await client.get(f"/api/v1/runs/{run_id}")).json()["status"] == "running"

        run = await wait_for_run(client, run_id, {"completed", "failed", "cancelled"})
        assert run["status"] == "completed"
        story = (await client.get(f"/api/v1/stories/{run['story_id']}")).json()
        assert story["content"] == STORY_BODY


async def test_keep_alive_pings_are_sse_comments(serve: Serve) -> None:
    async with serve(
        scripted_text="One two three." + CHOICES_BLOCK,
        scripted_tokens_per_second=20,
        ping_seconds=0.1,
    ) as client:
        run_id = await _start_run(client)
        async with client.stream("GET", f"/api/v1/runs/{run_id}/stream") as response:
            raw = "".join([chunk async for chunk in response.aiter_text()])
        assert ": ping\r\n" in raw
        assert raw.rstrip().splitlines()[-2] == "event: complete"


ERROR_CASES: dict[str, tuple[dict[str, Any], bool, str]] = {
    "LLM_UNAVAILABLE": (
        {"llm_provider": "ollama", "ollama_base_url": f"http://127.0.0.1:{closed_port()}"},
        True,
        "failed",
    ),
    "LLM_ERROR": ({"scripted_text": STORY_TEXT, "scripted_fail_at_token": 5}, True, "failed"),
    "TIMEOUT": (
        {
            "scripted_text": STORY_TEXT,
            "scripted_tokens_per_second": 4,
            "idle_timeout_seconds": 0.05,
            "first_token_timeout_seconds": 10,
        },
        True,
        "failed",
    ),
    "SAFETY_REJECTED": (
        {"scripted_text": "The pirate pulled out a gun." + CHOICES_BLOCK},
        True,
        "failed",
    ),
}


@pytest.mark.parametrize("code", sorted(ERROR_CASES))
async def test_each_error_path_ends_with_exactly_one_error_event(serve: Serve, code: str) -> None:
    overrides, retryable, status = ERROR_CASES[code]
    async with serve(**overrides) as client:
        run_id = await _start_run(client)
        frames = await collect(client, f"/api/v1/runs/{run_id}/stream")
        assert event_types(frames).count("error") == 1
        assert "complete" not in event_types(frames)
        assert frames[-1].event == "error"
        assert frames[-1].data["error_code"] == code
        assert frames[-1].data["retryable"] is retryable
        assert frames[-1].data["message"]
        run = await wait_for_run(client, run_id, {status})
        assert run["error_code"] == code
        if code == "SAFETY_REJECTED":
            draft = (await client.get(f"/api/v1/stories/{run['story_id']}")).json()
            assert draft["content_approved"] is False
            # The rules and the semantic classifier may both name it.
            assert {issue["category"] for issue in draft["safety_issues"]} == {"weapons"}
        else:
            assert run["story_id"] is None


async def test_cancel_ends_the_stream_with_cancelled_and_stores_nothing(serve: Serve) -> None:
    async with serve(scripted_text=STORY_TEXT, scripted_tokens_per_second=20) as client:
        run_id = await _start_run(client)
        seen = await collect(client, f"/api/v1/runs/{run_id}/stream", stop_after_content=2)
        response = await client.post(f"/api/v1/runs/{run_id}/cancel")
        assert response.status_code == 202
        assert response.json() == {"run_id": run_id, "status": "cancelling"}
        rest = await collect(
            client, f"/api/v1/runs/{run_id}/stream", headers={"Last-Event-ID": str(seen[-1].id)}
        )
        assert rest[-1].data == {
            "type": "error",
            "message": "the run was cancelled",
            "error_code": "CANCELLED",
            "retryable": False,
        }
        assert event_types(rest).count("error") == 1
        run = await wait_for_run(client, run_id, {"cancelled"})
        assert run["story_id"] is None

        again = await client.post(f"/api/v1/runs/{run_id}/cancel")
        assert again.status_code == 409
        assert again.json()["detail"] == f"run {run_id} already ended (cancelled)"
