"""StoryStream against a server that speaks Ollama's HTTP API, both over real sockets."""

from __future__ import annotations

from tests.e2e.conftest import Serve
from tests.support import (
    STORY_BODY,
    STORY_ENDING,
    STORY_TEXT,
    LiveServer,
    collect,
    create_child,
    event_types,
    json_chunks,
    ollama_speaking_app,
    streamed_text,
)
from workflows.providers.scripted import tokenize


async def test_auto_picks_a_reachable_ollama_and_streams_its_story(serve: Serve) -> None:
    with LiveServer(ollama_speaking_app(tokenize(STORY_TEXT))) as ollama:
        async with serve(llm_provider="auto", ollama_base_url=ollama.url) as client:
            ready = (await client.get("/readyz")).json()
            assert (ready["status"], ready["provider"], ready["model"]) == (
                "ready",
                "ollama",
                "llama3.2:3b",
            )
            child_id = await create_child(client)
            frames = await collect(
                client,
                "/api/v1/stories/generate/stream",
                params={"child_id": child_id, "theme": "space"},
            )
            types = event_types(frames)
            assert types[0] == "node"
            assert types[-4:] == ["metadata", "node", "node", "complete"]
            assert types.index("safety") > types.index("content")
            assert [frame.id for frame in frames] == list(range(1, len(frames) + 1))
            assert streamed_text(frames) == STORY_BODY
            story = frames[-1].data["story"]
            stored = (await client.get(f"/api/v1/stories/{story['id']}")).json()
            assert stored["content"] == STORY_BODY
            # The body's tokens and the structured ending's chunks (Ollama's eval_count each).
            ending_chunks = len(json_chunks(STORY_ENDING))
            assert story["usage"]["output_tokens"] == len(tokenize(STORY_TEXT)) + ending_chunks
            assert (story["choices"], story["choices_source"]) == (
                STORY_ENDING["choices"],
                "model",
            )
