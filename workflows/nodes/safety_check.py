"""`safety_check`: judges the whole chapter (text, question and choices) before a child keeps it,
together with any sentence the streaming gate already stopped."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from workflows.context import StoryContext
from workflows.state import SafetyReport, StoryState


async def safety_check(state: StoryState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    text = "\n".join([state["story_text"], state["choice_question"], *state["choices"]])
    blocked_topics = state["request"]["blocked_topics"]
    report = runtime.context.safety.assess(text, blocked_topics=blocked_topics)
    blocked = state.get("blocked")
    if blocked is not None and report["approved"]:
        # The gate judged the sentence on its own; that verdict stands for the whole draft.
        report = SafetyReport(
            approved=False, score=min(report["score"], 0.5), issues=blocked["issues"]
        )
    return {"safety": report}
