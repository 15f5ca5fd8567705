"""`ending`: the chapter's question, 2-3 choices and summary, from a structured-output call made
after the body streamed. The model's answer is constrained to `ChapterEnding`'s JSON schema
(Ollama's `format`, a llama.cpp grammar); it must also pass the safety checks. An answer that is
not valid or not safe is asked for once more; after that the theme's own choices are used
(`choices_source: "theme"`) and the summary is an extract of the chapter. Nothing of it is
streamed as `content`: it reaches the client as fields of `complete`.
"""

from __future__ import annotations

import logging
from typing import Any

from langgraph.runtime import Runtime

from workflows.context import StoryContext
from workflows.ending import ChapterEnding
from workflows.policy import blocks, text_issues
from workflows.providers.structured import ask_structured
from workflows.state import StoryRequest, StoryState, TokenUsage
from workflows.story_prompt import build_ending_messages, ending_options
from workflows.summary import summarize_chapter
from workflows.usage import add_usage, usage_of

logger = logging.getLogger(__name__)
# The structured call and one retry.
ENDING_ATTEMPTS = 2
ENDING_TAG = "storystream:ending"


def ending_text(result: ChapterEnding) -> str:
    """The ending as the safety checks read it: one line per field."""
    return "\n".join([result.question, *result.choices, result.summary])


async def _ask(
    context: StoryContext, request: StoryRequest, chapter: str
) -> tuple[ChapterEnding | None, TokenUsage | None]:
    messages = build_ending_messages(context.prompts, request, chapter)
    options = ending_options(context.profile)
    usage: TokenUsage | None = None
    for attempt in range(1, ENDING_ATTEMPTS + 1):
        answer = await ask_structured(
            context.model, ChapterEnding, messages, {"tags": [ENDING_TAG]}, **options
        )
        usage = add_usage(usage, usage_of(answer.raw))
        parsed = answer.parsed
        if parsed is None:
            logger.info("ending attempt %d: not a valid ending: %s", attempt, answer.parsing_error)
            continue
        issues = await text_issues(context.safety, context.classifier, ending_text(parsed), request)
        if blocks(issues):
            categories = sorted({issue["category"] for issue in issues})
            logger.info("ending attempt %d: held back by the safety checks %s", attempt, categories)
            continue
        return parsed, usage
    return None, usage


async def ending(state: StoryState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    context = runtime.context
    request = state["request"]
    chapter = state["story_text"]
    result: ChapterEnding | None = None
    usage = state.get("usage")
    # A draft the gate stopped is rejected by `safety_check` whatever it ends with.
    if state.get("blocked") is None and chapter.strip():
        result, more = await _ask(context, request, chapter)
        usage = add_usage(usage, more)
    if result is None:
        theme = request["theme"]
        return {
            "choice_question": theme["fallback_question"],
            "choices": list(theme["fallback_choices"]),
            "choices_source": "theme",
            "summary": summarize_chapter(chapter),
            "summary_source": "extract",
            "usage": usage,
        }
    return {
        "choice_question": result.question,
        "choices": list(result.choices),
        "choices_source": "model",
        "summary": result.summary,
        "summary_source": "model",
        "usage": usage,
    }
