"""`generate`: streams a chapter from the chat model, shows the child each sentence that passes
the fast checks, and splits off the question and choices."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, cast

from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.messages import AIMessageChunk, BaseMessageChunk
from langgraph.runtime import Runtime

from workflows.context import StoryContext
from workflows.policy import sentence_check
from workflows.sentence_gate import SentenceGate
from workflows.state import BlockedSentence, StoryState, TokenUsage
from workflows.story_format import StoryBodySplitter, parse_story_output
from workflows.story_prompt import build_story_messages

# The one way story text reaches a client: the event mapper turns these into `content` events.
VISIBLE_TOKEN_EVENT = "storystream.token"


def _usage(message: AIMessageChunk | None) -> TokenUsage | None:
    if message is None or message.usage_metadata is None:
        return None
    usage = message.usage_metadata
    return TokenUsage(
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        total_tokens=usage["total_tokens"],
    )


async def _show(pieces: list[str]) -> None:
    # One event per released sentence (not per token): dispatching is the costly part.
    if pieces:
        await adispatch_custom_event(VISIBLE_TOKEN_EVENT, {"pieces": pieces})


async def generate(state: StoryState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    context = runtime.context
    request = state["request"]
    theme = request["theme"]
    attempt = state.get("attempt", 0) + 1
    # A regenerated draft is told what was wrong with the one before it.
    earlier_issues = state["safety"]["issues"] if attempt > 1 and "safety" in state else []
    messages = build_story_messages(context.prompts, request, earlier_issues)

    splitter = StoryBodySplitter()
    check = sentence_check(context.safety, request)
    gate = SentenceGate(check=check, enabled=request["gate"] == "sentence")
    full: BaseMessageChunk | None = None
    # astream is an async generator: closing it on a break stops the model's stream at once.
    model_stream = cast(AsyncGenerator[BaseMessageChunk, None], context.model.astream(messages))
    async with aclosing(model_stream) as stream:
        async for chunk in stream:
            full = chunk if full is None else full + chunk
            for piece in splitter.feed(chunk.text):
                await _show(gate.feed(piece))
            if gate.blocked is not None:
                break  # stop writing a draft that can no longer be shown
    if gate.blocked is None:
        for piece in splitter.finish():
            await _show(gate.feed(piece))
        await _show(gate.finish())
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
    blocked = (
        BlockedSentence(sentence=gate.blocked.sentence, issues=gate.blocked.issues)
        if gate.blocked is not None
        else None
    )
    return {
        "attempt": attempt,
        "draft": draft,
        "story_text": parsed.body,
        "shown_text": gate.released,
        "blocked": blocked,
        "choice_question": question,
        "choices": choices,
        "choices_source": source,
        "usage": _usage(full if isinstance(full, AIMessageChunk) else None),
    }
