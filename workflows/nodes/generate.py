"""`generate`: streams a chapter from the chat model, shows the child each sentence that passes
the checks, repairs a held-back sentence in place, and splits off the question and choices.

A repair stops the model, keeps everything the child has read, and asks the model to continue
from the last shown sentence with guidance that names the problem's category; the child sees a
pause (`node` `repairing`), never a cleared screen. After `max_repairs` in a chapter a blocked
sentence stays blocked: `safety_check` rejects the draft and the graph writes a new one.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage, BaseMessageChunk
from langgraph.runtime import Runtime

from workflows.context import StoryContext
from workflows.policy import sentence_check
from workflows.sentence_gate import SentenceGate
from workflows.state import BlockedSentence, Repair, StoryState, TokenUsage
from workflows.story_format import StoryBodySplitter, parse_story_output
from workflows.story_prompt import build_repair_messages, build_story_messages

# The one way story text reaches a client: the event mapper turns these into `content` events.
VISIBLE_TOKEN_EVENT = "storystream.token"
# A held-back sentence is being written again; the mapper turns it into `node` `repairing`.
REPAIR_EVENT = "storystream.repair"


def _usage(message: BaseMessageChunk | None) -> TokenUsage | None:
    if not isinstance(message, AIMessageChunk) or message.usage_metadata is None:
        return None
    usage = message.usage_metadata
    return TokenUsage(
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        total_tokens=usage["total_tokens"],
    )


def _add_usage(total: TokenUsage | None, more: TokenUsage | None) -> TokenUsage | None:
    if total is None or more is None:
        return total or more
    return TokenUsage(
        input_tokens=total["input_tokens"] + more["input_tokens"],
        output_tokens=total["output_tokens"] + more["output_tokens"],
        total_tokens=total["total_tokens"] + more["total_tokens"],
    )


async def _show(pieces: list[str]) -> None:
    # One event per released sentence (not per token): dispatching is the costly part.
    if pieces:
        await adispatch_custom_event(VISIBLE_TOKEN_EVENT, {"pieces": pieces})


@dataclass
class _Call:
    text: str  # what the model wrote in this call, up to where it was stopped
    usage: TokenUsage | None


async def _stream(
    model: BaseChatModel, messages: list[BaseMessage], gate: SentenceGate, separator: str
) -> _Call:
    """One model call through the splitter and the gate; stops the model at a blocked sentence.
    `separator` goes before the first text, so a continuation does not run into the last
    shown sentence."""
    splitter = StoryBodySplitter()
    full: BaseMessageChunk | None = None
    written: list[str] = []
    # astream is an async generator: closing it on a break stops the model's stream at once.
    model_stream = cast(AsyncGenerator[BaseMessageChunk, None], model.astream(messages))
    async with aclosing(model_stream) as stream:
        async for chunk in stream:
            full = chunk if full is None else full + chunk
            written.append(chunk.text)
            for piece in splitter.feed(chunk.text):
                # The splitter drops a body's leading whitespace; the separator goes after it.
                if separator and piece:
                    piece = piece if piece[0].isspace() else separator + piece
                    separator = ""
                await _show(await gate.feed(piece))
            if gate.blocked is not None:
                break  # stop writing a draft that can no longer be shown
    if gate.blocked is None:
        for piece in splitter.finish():
            await _show(await gate.feed(piece))
        await _show(await gate.finish())
    return _Call(text="".join(written), usage=_usage(full))


def _join(kept: str, continuation: str) -> str:
    if kept and continuation and not kept[-1].isspace() and not continuation[0].isspace():
        return f"{kept} {continuation}"
    return kept + continuation


async def generate(state: StoryState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    context = runtime.context
    request = state["request"]
    theme = request["theme"]
    attempt = state.get("attempt", 0) + 1
    # A regenerated draft is told what was wrong with the one before it.
    earlier_issues = state["safety"]["issues"] if attempt > 1 and "safety" in state else []
    repairs = list(state.get("repairs", []))
    gate = SentenceGate(
        check=sentence_check(context.safety, context.classifier, request),
        enabled=request["gate"] == "sentence",
    )
    messages = build_story_messages(context.prompts, request, earlier_issues)
    kept = ""  # the text the child read before the current call
    usage: TokenUsage | None = None
    separator = ""
    while True:
        call = await _stream(context.model, messages, gate, separator)
        usage = _add_usage(usage, call.usage)
        if gate.blocked is None or len(repairs) >= context.max_repairs:
            break
        blocked_issues = gate.blocked.issues
        categories = sorted({issue["category"] for issue in blocked_issues})
        repairs.append(Repair(attempt=attempt, categories=categories))
        await adispatch_custom_event(
            REPAIR_EVENT, {"repair": len(repairs), "categories": categories}
        )
        kept = gate.released
        gate.resume()
        if kept.strip():
            messages = build_repair_messages(
                context.prompts, request, earlier_issues, kept, blocked_issues
            )
            separator = "" if kept[-1].isspace() else " "
        else:
            # Nothing shown yet: a fresh start with the guidance costs the child nothing.
            messages = build_story_messages(
                context.prompts, request, [*earlier_issues, *blocked_issues]
            )
    draft = _join(kept, call.text)

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
        "repairs": repairs,
        "choice_question": question,
        "choices": choices,
        "choices_source": source,
        "usage": usage,
    }
