"""Records `graph.astream_events(version="v2")` sequences for the mapper's table-driven tests.

Run from the repository root: `python -m tests.data.record_stream_events`. The recordings keep
the fields the mapper reads (event, name, parent_ids, metadata.langgraph_node, data).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessageChunk

from tests.support import CHOICES_BLOCK, STORY_TEXT, story_request
from workflows.context import StoryContext
from workflows.graph import graph, initial_state
from workflows.providers.scripted import ScriptedChatModel

FOLDER = Path(__file__).with_name("stream_events")
REQUEST = story_request(title="Mia and the Key")
SCENARIOS: dict[str, ScriptedChatModel] = {
    "approved_story": ScriptedChatModel(text=STORY_TEXT),
    "rejected_story": ScriptedChatModel(text="The pirate pulled out a gun." + CHOICES_BLOCK),
    "story_without_choices": ScriptedChatModel(text="Mia slept.\n\nThe end.\n"),
    "model_fails_at_token_4": ScriptedChatModel(text=STORY_TEXT, fail_at_token=4),
}


def _plain(value: Any) -> Any:
    if isinstance(value, BaseMessageChunk):
        return {"content": value.content}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))  # a held-back sentence in generate's output
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if key != "input"}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


async def record(model: ScriptedChatModel) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    try:
        async for event in graph.astream_events(
            initial_state(REQUEST), context=StoryContext(model=model), version="v2"
        ):
            if event["event"] == "on_chat_model_start":
                continue
            events.append(
                {
                    "event": event["event"],
                    "name": event["name"],
                    "parent_ids": ["parent"] * len(event.get("parent_ids", [])),
                    "metadata": {"langgraph_node": event.get("metadata", {}).get("langgraph_node")},
                    "data": _plain(event["data"]),
                }
            )
    except Exception as exc:
        events.append({"raised": type(exc).__name__})
    return events


async def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for name, model in SCENARIOS.items():
        events = await record(model)
        lines = ",\n".join(json.dumps(event) for event in events)
        (FOLDER / f"{name}.json").write_text(f"[\n{lines}\n]\n")


if __name__ == "__main__":
    asyncio.run(main())
