"""`metrics`: measures how the approved chapter fits its reader."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from workflows.context import StoryContext
from workflows.metrics import measure_story
from workflows.state import StoryState


async def metrics(state: StoryState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    request = state["request"]
    text = state["story_text"]
    return {"metrics": measure_story(text, request["child_age"], request["reading_level"])}
