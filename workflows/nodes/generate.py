"""`generate`: streams a chapter from the chat model and splits off its question and choices."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessageChunk
from langgraph.runtime import Runtime

from workflows.context import StoryContext
from workflows.state import StoryState, TokenUsage
from workflows.story_format import parse_story_output
from workflows.story_prompt import build_story_messages


def _usage(message: AIMessageChunk | None) -> TokenUsage | None:
    if message is None or message.usage_metadata is None:
        return None
    usage = message.usage_metadata
    return TokenUsage(
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        total_tokens=usage["total_tokens"],
    )


async def generate(state: StoryState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    context = runtime.context
    request = state["request"]
    theme = request["theme"]
    messages = build_story_messages(context.prompts, request)

    # Streaming (not ainvoke) so astream_events sees every token as `on_chat_model_stream`.
    full: AIMessageChunk | None = None
    async for chunk in context.model.astream(messages):
        full = chunk if full is None else full + chunk
    draft = full.text if full is not None else ""

    parsed = parse_story_output(draft)
    if parsed.has_valid_choices and parsed.question is not None:
        question, choices, source = parsed.question, list(parsed.choices), "model"
    else:
        # Small models do not always follow the format; the theme's own choices keep the
        # reading app's "what next" screen working and are marked as such.
        question, choices, source = (
            theme["fallback_question"],
            list(theme["fallback_choices"]),
            "theme",
        )
    return {
        "attempt": state.get("attempt", 0) + 1,
        "draft": draft,
        "story_text": parsed.body,
        "choice_question": question,
        "choices": choices,
        "choices_source": source,
        "usage": _usage(full),
    }
