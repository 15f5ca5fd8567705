"""`safety_check`: judges the whole chapter (text, question and choices) before a child keeps it."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from workflows.context import StoryContext
from workflows.state import StoryState


async def safety_check(state: StoryState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    text = "\n".join([state["story_text"], state["choice_question"], *state["choices"]])
    blocked = state["request"]["blocked_topics"]
    return {"safety": runtime.context.safety.assess(text, blocked_topics=blocked)}
