"""`generate`: streams a chapter's body from the chat model, shows the child each sentence that
passes the checks, repairs a held-back sentence in place, and drops any ending the model writes
for the reader (the `ending` node asks for the question and choices as structured output).

A repair stops the model, keeps everything the child has read, and asks the model to continue
from the last shown sentence with guidance that names the problem's category; the child sees a
pause (`node` `repairing`), never a cleared screen. After `max_repairs` in a chapter a blocked
sentence stays blocked: `safety_check` rejects the draft and the graph writes a new one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, BaseMessageChunk
from langgraph.runtime import Runtime

from workflows.context import StoryContext
from workflows.event_stream import off_event_stream
from workflows.policy import sentence_check
from workflows.sentence_gate import SentenceGate
from workflows.state import Repair, StoryState, TokenUsage
from workflows.story_format import STOP_SEQUENCES, StoryBodySplitter, story_body
from workflows.story_prompt import (
    build_repair_messages,
    build_story_messages,
    call_options,
)
from workflows.usage import add_usage, usage_of

# The one way story text reaches a client: the event mapper turns these into `content` events.
VISIBLE_TOKEN_EVENT = "storystream.token"
# A held-back sentence is being written again; the mapper turns it into `node` `repairing`.
REPAIR_EVENT = "storystream.repair"
# The model is writing (`tokens` since the last report): the run's first-token and idle clocks.
# The model's own token events stay off the run's event stream (`workflows.event_stream`).
PROGRESS_EVENT = "storystream.model_progress"
# Reported on a call's first token, then at most this often: the idle limit is tens of seconds.
PROGRESS_SECONDS = 1.0


async def _show(pieces: list[str]) -> None:
    # One event per released sentence (not per token): dispatching is the costly part.
    if pieces:
        await adispatch_custom_event(VISIBLE_TOKEN_EVENT, {"pieces": pieces})


class _Progress:
    """Counts a call's tokens and says when to report them: on the first, then once a second,
    and the rest when the call ends."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._due = float("-inf")  # the first token is reported at once
        self._tokens = 0

    def count(self) -> int | None:
        """Counts one token; the tokens to report now, if it is time."""
        self._tokens += 1
        now = self._clock()
        if now < self._due:
            return None
        self._due = now + PROGRESS_SECONDS
        return self.take()

    def take(self) -> int:
        """The tokens counted since the last report, which are reported now."""
        tokens, self._tokens = self._tokens, 0
        return tokens


@dataclass
class _Call:
    text: str  # what the model wrote in this call, up to where it was stopped
    usage: TokenUsage | None


def _done_reason(chunk: BaseMessageChunk) -> str | None:
    # Ollama's done_reason (the embedded model reports the same): "length" at num_predict.
    reason = chunk.response_metadata.get("done_reason")
    return reason if isinstance(reason, str) else None


def _chunk_text(chunk: BaseMessageChunk) -> str:
    # A plain string for every backend here; `.text` would walk content blocks each token.
    content = chunk.content
    return content if isinstance(content, str) else chunk.text


async def _stream(
    model: BaseChatModel,
    messages: list[BaseMessage],
    gate: SentenceGate,
    separator: str,
    options: dict[str, Any],
) -> _Call:
    """One model call through the splitter and the gate; stops the model at a blocked sentence.
    `separator` goes before the first text, so a continuation does not run into the last
    shown sentence."""
    splitter = StoryBodySplitter()
    written: list[str] = []
    # Only the text and the few chunks that carry usage or a stop reason are kept: adding every
    # AIMessageChunk to the last (a new message each token) cost 6 % of a stream's CPU.
    usage: TokenUsage | None = None
    done_reason: str | None = None
    # astream is an async generator: closing it on a break stops the model's stream at once.
    progress = _Progress()
    model_stream = cast(
        AsyncGenerator[BaseMessageChunk, None],
        model.astream(messages, off_event_stream(), stop=list(STOP_SEQUENCES), **options),
    )
    async with aclosing(model_stream) as stream:
        async for chunk in stream:
            if chunk.response_metadata:
                done_reason = _done_reason(chunk) or done_reason
            if getattr(chunk, "usage_metadata", None):
                usage = add_usage(usage, usage_of(chunk))
            text = _chunk_text(chunk)
            if text and (tokens := progress.count()) is not None:
                await adispatch_custom_event(PROGRESS_EVENT, {"tokens": tokens})
            written.append(text)
            pieces = splitter.feed(text)
            if not pieces:
                continue  # mid-sentence: the usual token, nothing more to do
            visible: list[str] = []
            for piece in pieces:
                # The splitter drops a body's leading whitespace; the separator goes after it.
                if separator and piece:
                    piece = piece if piece[0].isspace() else separator + piece
                    separator = ""
                visible += await gate.feed(piece)
            await _show(visible)
            if gate.blocked is not None:
                break  # stop writing a draft that can no longer be shown
    if tokens := progress.take():
        # The rest of the call's tokens: the reports add up to what the model wrote.
        await adispatch_custom_event(PROGRESS_EVENT, {"tokens": tokens})
    if gate.blocked is None:
        visible = []
        for piece in splitter.finish(drop_unfinished=done_reason == "length"):
            visible += await gate.feed(piece)
        visible += await gate.finish()
        await _show(visible)
    return _Call(text="".join(written), usage=usage)


def _join(kept: str, continuation: str) -> str:
    if kept and continuation and not kept[-1].isspace() and not continuation[0].isspace():
        return f"{kept} {continuation}"
    return kept + continuation


async def generate(state: StoryState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    context = runtime.context
    request = state["request"]
    options = call_options(context.profile, request)
    attempt = state.get("attempt", 0) + 1
    # A regenerated draft is told what was wrong with the one before it.
    earlier_issues = state["safety"]["issues"] if attempt > 1 and "safety" in state else []
    repairs = list(state.get("repairs", []))
    gate = SentenceGate(
        check=sentence_check(context.safety, context.classifier, request),
        enabled=request["gate"] == "sentence",
    )
    messages = build_story_messages(context.prompts, request, earlier_issues, context.profile)
    kept = ""  # the text the child read before the current call
    usage: TokenUsage | None = None
    separator = ""
    while True:
        call = await _stream(context.model, messages, gate, separator, options)
        usage = add_usage(usage, call.usage)
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
                context.prompts, request, earlier_issues, kept, blocked_issues, context.profile
            )
            separator = "" if kept[-1].isspace() else " "
        else:
            # Nothing shown yet: a fresh start with the guidance costs the child nothing.
            messages = build_story_messages(
                context.prompts, request, [*earlier_issues, *blocked_issues], context.profile
            )
    blocked = gate.blocked
    return {
        "attempt": attempt,
        # What the child was shown is the chapter; a blocked draft keeps its whole body for
        # the parent.
        "story_text": gate.released if blocked is None else story_body(_join(kept, call.text)),
        "blocked": blocked,
        "repairs": repairs,
        "usage": usage,
    }
