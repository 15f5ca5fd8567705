"""The streaming response of a run's events: the frames the event log encoded once, written as
they come, every frame already waiting in one write (sse-starlette keeps the connection: pings,
disconnects, shutdown)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent

from backend.runs.log import RunEventLog

SSE_HEADERS: Mapping[str, str] = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

# Documents the stream in OpenAPI; the events themselves are described in README and DESIGN.md.
SSE_RESPONSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "A Server-Sent Events stream: `id:` is the run's sequence number, `event:` one of "
            "node, content, reset, safety, metadata, complete, error, and `data:` a JSON object "
            "with the same `type`. It ends after exactly one `complete` or `error` event."
        ),
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping")


async def run_frames(log: RunEventLog, run_id: str, after_seq: int) -> AsyncIterator[bytes]:
    """The run's SSE frames after `after_seq`: each batch of waiting events as one chunk of
    bytes, so that a sentence the gate released reaches the socket in one send, not one a
    token."""
    # A disconnecting client cancels only this generator: the run keeps going.
    async for batch in log.follow_batches(run_id, after_seq):
        yield batch[0].frame if len(batch) == 1 else b"".join(event.frame for event in batch)


async def held_open(
    frames: AsyncIterator[bytes], place: AbstractAsyncContextManager[None]
) -> AsyncIterator[bytes]:
    """Frames that hold `place` (a family's stream count, say) for as long as they flow."""
    async with place:
        async for frame in frames:
            yield frame


def event_stream(
    frames: AsyncIterator[bytes], *, ping_seconds: float, run_id: str
) -> EventSourceResponse:
    return EventSourceResponse(
        frames,
        ping=ping_seconds,
        ping_message_factory=ping,
        headers={**SSE_HEADERS, "X-Run-Id": run_id},
    )
