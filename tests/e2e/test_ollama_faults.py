"""A misbehaving Ollama over a real socket: each fault ends the run with the right error, nothing
is stored as a story, no run is left running, and the service keeps answering."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Serve
from tests.support import (
    STORY_TEXT,
    LiveServer,
    OllamaFault,
    collect,
    create_child,
    event_types,
    ollama_speaking_app,
    wait_for_run,
)
from workflows.providers.scripted import tokenize


@pytest.mark.parametrize(
    ("fault", "code"),
    [("server_error", "LLM_ERROR"), ("malformed", "LLM_ERROR"), ("stall", "TIMEOUT")],
)
async def test_a_misbehaving_ollama_ends_the_run_cleanly(
    serve: Serve, fault: OllamaFault, code: str
) -> None:
    with LiveServer(ollama_speaking_app(tokenize(STORY_TEXT), fault=fault)) as ollama:
        async with serve(
            llm_provider="ollama", ollama_base_url=ollama.url, idle_timeout_seconds=0.5
        ) as client:
            child_id = await create_child(client)
            frames = await collect(
                client,
                "/api/v1/stories/generate/stream",
                params={"child_id": child_id, "theme": "space"},
            )
            assert event_types(frames).count("error") == 1
            assert frames[-1].data["error_code"] == code
            assert frames[-1].data["retryable"] is True
            run = await wait_for_run(client, frames[0].data["run_id"], {"failed"})
            assert (run["error_code"], run["story_id"]) == (code, None)
            assert (await client.get("/healthz")).status_code == 200
