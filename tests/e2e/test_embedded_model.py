"""The zero-setup path for real: the service on the embedded llama.cpp model, over a real socket."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.conftest import Serve
from tests.support import closed_port, collect, create_child, event_types, streamed_text
from workflows.providers.local import embedded_model_path, local_model_problem

PROBLEM = local_model_problem(embedded_model_path())
pytestmark = pytest.mark.skipif(
    PROBLEM is not None, reason=f"embedded model not installed ({PROBLEM}); `make test` installs it"
)


# Greedy decoding keeps the tiny model's output fixed, so the test does not depend on chance.
EMBEDDED = {
    "llm_provider": "auto",
    "ollama_base_url": f"http://127.0.0.1:{closed_port()}",
    "llm_temperature": 0.0,
    "max_story_tokens": 64,
}


async def test_auto_serves_real_stories_from_the_embedded_model(serve: Serve) -> None:
    async with serve(**EMBEDDED) as client:
        ready = (await client.get("/readyz")).json()
        assert (ready["status"], ready["provider"]) == ("ready", "local")
        assert ready["provider_chosen_because"].startswith("auto: Ollama at")

        child_id = await create_child(client)
        frames = await collect(
            client,
            "/api/v1/stories/generate/stream",
            params={"child_id": child_id, "theme": "space"},
        )
        types = event_types(frames)
        assert types[-1] in {"complete", "error"}
        assert types.count("content") >= 10
        assert "safety" in types
        nodes = [(f.data["node"], f.data["status"]) for f in frames if f.event == "node"]
        assert ("ending", "completed") in nodes
        if types[-1] == "complete":
            story = frames[-1].data["story"]
            # Decoded under the JSON-schema grammar: the model's own question and choices, or
            # the theme's when the safety checks held the model's ending back (round 12's check
            # reads this 135M model's garbled choice "Make up her mom" as manipulation; a child
            # still gets real choices).
            assert story["choices_source"] in {"model", "theme"}
            assert 2 <= len(story["choices"]) <= 3
            assert story["choice_question"].endswith("?")
            stored = (await client.get(f"/api/v1/stories/{story['id']}")).json()
            assert stored["content"] == streamed_text(frames)
            assert stored["choices"] == story["choices"]
            # With the theme's ending, the summary is extracted from the chapter itself.
            expected_summary = {"model": "model", "theme": "extract"}[story["choices_source"]]
            assert stored["summary_source"] == expected_summary
            run = (await client.get(f"/api/v1/runs/{story['run_id']}")).json()
            assert (run["provider"], run["model"]) == ("local", "SmolLM2-135M-Instruct.Q4_1.gguf")
            assert run["output_tokens"] >= types.count("content")
        else:
            assert frames[-1].data["error_code"] == "SAFETY_REJECTED"


async def test_two_concurrent_runs_both_finish_and_the_later_one_was_queued(serve: Serve) -> None:
    async with serve(**EMBEDDED) as client:
        child_id = await create_child(client)
        run_ids = []
        for _ in range(2):
            response = await client.post(
                "/api/v1/runs", json={"child_id": child_id, "theme": "ocean"}
            )
            run_ids.append(response.json()["run_id"])
        first, second = await asyncio.gather(
            *(collect(client, f"/api/v1/runs/{run_id}/stream") for run_id in run_ids)
        )
        for frames in (first, second):
            assert frames[-1].event in {"complete", "error"}
            assert frames[-1].data.get("error_code", "SAFETY_REJECTED") == "SAFETY_REJECTED"
            assert event_types(frames).count("content") >= 10
        # One model, two runs: whichever reached the model second waited, and said so before
        # its first word. (A repair later in a run may queue again behind the other run.)
        expected = {
            "type": "node",
            "node": "generate",
            "status": "queued",
            "progress": 2,
            "position": 1,
        }
        queued_first = []
        for frames in (first, second):
            before_text = frames[: event_types(frames).index("content")]
            queued_first.append([f.data for f in before_text if f.data.get("status") == "queued"])
        assert sorted(queued_first, key=len) == [[], [expected]]
