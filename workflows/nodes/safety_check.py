"""`safety_check`: judges the whole chapter (text, question, choices and the summary that goes
into the parent's library and the next chapter's prompt) before a child keeps it:
the rules and the semantic classifier under the reader's policy, any sentence the streaming gate
stopped, and the LLM judge when one is configured."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from workflows.context import StoryContext
from workflows.policy import apply_policy, report, text_issues
from workflows.state import StoryState


async def safety_check(state: StoryState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    context = runtime.context
    request = state["request"]
    text = "\n".join(
        [state["story_text"], state["choice_question"], *state["choices"], state["summary"]]
    )
    issues = await text_issues(context.safety, context.classifier, text, request)
    blocked = state.get("blocked")
    if blocked is not None:
        # The gate judged that sentence on its own, with spans within the sentence; keep what
        # the whole-text check did not find again (with spans in the story).
        found = {(issue["category"], issue["term"].lower()) for issue in issues}
        missed = [
            issue
            for issue in blocked.issues
            if (issue["category"], issue["term"].lower()) not in found
        ]
        issues = [*issues, *apply_policy(missed, request)]
    verdict = report(issues)
    if verdict["approved"] and context.judge is not None:
        judged = await context.judge.judge(text, request)
        if judged:
            verdict = report([*issues, *judged])
    return {"safety": verdict}
