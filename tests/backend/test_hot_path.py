"""The streaming hot path (issue 15): each event is encoded once, to exactly the bytes the wire
contract had before; waiting frames go out in one send; the generate step dispatches one custom
event per released sentence and keeps the usage and stop reason without adding up chunks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, MutableMapping, Sequence
from typing import Any, Literal

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel
from sse_starlette import ServerSentEvent

from backend.runs.events import ContentEvent, ErrorEvent, NodeEvent, content_json, event_json
from backend.runs.log import InMemoryEventLog, LoggedEvent
from backend.sse import event_stream, run_frames
from workflows.nodes.generate import VISIBLE_TOKEN_EVENT, _stream
from workflows.sentence_gate import SentenceGate
from workflows.state import SafetyIssue

TRICKY_CHUNKS = [
    " Once",
    ' "Hi!"',
    "back\\slash",
    "line\nbreak\r\ttab",
    "\x00\x1f\x7f",
    " caf\u00e9 \U0001f680",
    "\u2028\u2029",
    "</script>",
    "",
]


class _PydanticContent(BaseModel):
    """The content event as the pydantic model it was before issue 15."""

    type: Literal["content"] = "content"
    chunk: str
    attempt: int


@pytest.mark.parametrize("chunk", TRICKY_CHUNKS)
def test_content_json_is_byte_for_byte_the_pydantic_models(chunk: str) -> None:
    expected = _PydanticContent(chunk=chunk, attempt=2).model_dump_json()
    assert content_json(chunk, 2) == expected
    assert event_json(ContentEvent(chunk=chunk, attempt=2)) == expected


def test_other_events_keep_their_pydantic_json() -> None:
    node = NodeEvent(node="generate", status="started", progress=5)
    assert event_json(node) == '{"type":"node","node":"generate","status":"started","progress":5}'


@pytest.mark.parametrize("chunk", TRICKY_CHUNKS)
def test_a_logged_frame_is_what_sse_starlette_would_write(chunk: str) -> None:
    data = content_json(chunk, 1)
    logged = LoggedEvent(seq=42, type="content", data=data)
    assert logged.frame == ServerSentEvent(data=data, event="content", id="42").encode()


async def test_events_already_waiting_come_as_one_batch() -> None:
    log = InMemoryEventLog(retention_seconds=60)
    await log.create("r")
    for index in range(3):
        await log.append("r", ContentEvent(chunk=f"t{index}", attempt=1))
    batches = log.follow_batches("r", 0)
    assert [event.seq for event in await anext(batches)] == [1, 2, 3]

    async def next_batch() -> Sequence[LoggedEvent]:
        return await anext(batches)

    waiting = asyncio.create_task(next_batch())
    await asyncio.sleep(0)
    await log.append("r", ContentEvent(chunk="t3", attempt=1))
    await log.append("r", ErrorEvent(message="x", error_code="CANCELLED", retryable=False))
    assert [event.seq for event in await waiting] == [4, 5]
    with pytest.raises(StopAsyncIteration):
        await anext(batches)


async def test_several_waiting_frames_are_written_with_one_send() -> None:
    log = InMemoryEventLog(retention_seconds=60)
    await log.create("r")
    logged = [
        await log.append("r", ContentEvent(chunk=f" w{index}", attempt=1)) for index in (1, 2)
    ]
    logged.append(
        await log.append("r", ErrorEvent(message="x", error_code="TIMEOUT", retryable=True))
    )
    response = event_stream(run_frames(log, "r", 0), ping_seconds=60, run_id="r")
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client never disconnects
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "asgi": {"version": "3.0"},
    }
    await asyncio.wait_for(response(scope, receive, send), 10)
    bodies = [message["body"] for message in sent if message["type"] == "http.response.body"]
    assert [body for body in bodies if body] == [b"".join(event.frame for event in logged)]


class _ChunkModel(BaseChatModel):
    """Streams the given chunks as they are, the last one carrying usage and a stop reason."""

    chunks: list[str]
    done_reason: str = "stop"

    @property
    def _llm_type(self) -> str:
        return "test-chunks"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage("".join(self.chunks)))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self.chunks:
            yield ChatGenerationChunk(message=AIMessageChunk(content=chunk))
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata={"input_tokens": 7, "output_tokens": 9, "total_tokens": 16},
                response_metadata={"done_reason": self.done_reason},
            )
        )


async def _passes(sentence: str) -> list[SafetyIssue]:
    return []


async def _run_stream(
    model: _ChunkModel, *, gated: bool
) -> tuple[list[list[str]], str, dict[str, int] | None]:
    """`_stream` inside a runnable (custom events need a parent run), and what it dispatched."""
    outcome: dict[str, Any] = {}

    async def call(_: object) -> None:
        gate = SentenceGate(check=_passes, enabled=gated)
        result = await _stream(model, [HumanMessage("a story")], gate, "", {})
        outcome["text"], outcome["usage"] = result.text, result.usage

    dispatched: list[list[str]] = []
    events: AsyncIterator[Any] = RunnableLambda(call).astream_events(None, version="v2")
    async for event in events:
        if event["event"] == "on_custom_event" and event["name"] == VISIBLE_TOKEN_EVENT:
            dispatched.append(event["data"]["pieces"])
    return dispatched, outcome["text"], outcome["usage"]


STORY_CHUNKS = ["Mia", " saw", " a", " red", " kite.", " It", " flew", " up", " high.", " Then"]


@pytest.mark.parametrize("gated", [True, False])
async def test_one_custom_event_per_released_sentence_gated_or_not(gated: bool) -> None:
    dispatched, text, usage = await _run_stream(_ChunkModel(chunks=STORY_CHUNKS), gated=gated)
    assert dispatched == [
        ["Mia", " saw", " a", " red", " kite."],
        [" It", " flew", " up", " high."],
        [" Then"],
    ]
    assert text == "".join(STORY_CHUNKS)
    assert usage == {"input_tokens": 7, "output_tokens": 9, "total_tokens": 16}


async def test_a_chapter_stopped_by_the_token_budget_loses_its_unfinished_sentence() -> None:
    model = _ChunkModel(chunks=STORY_CHUNKS, done_reason="length")
    dispatched, _, _ = await _run_stream(model, gated=True)
    assert dispatched == [
        ["Mia", " saw", " a", " red", " kite."],
        [" It", " flew", " up", " high."],
    ]
