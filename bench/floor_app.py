"""The benchmark's floor: a bare sse-starlette endpoint that streams fixed chunks, with no graph.

It speaks the service's wire format for content (`id:` a sequence number, `event: content`,
compact JSON `data:` with `type`, `chunk` and `attempt`) and ends with one `complete` event, so
the only difference from `GET /api/v1/stories/generate/stream` is everything StoryStream does
around the stream. Serve it with
`uvicorn --factory bench.floor_app:create_app`, with `BENCH_FLOOR_CHUNKS_FILE` naming a JSON
list of the chunks to stream.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CHUNKS_FILE_ENV = "BENCH_FLOOR_CHUNKS_FILE"
STREAM_PATH = "/stream"
# The same headers and keep-alive ping interval as the service's streams.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
PING_SECONDS = 15.0


def _json(payload: dict[str, object]) -> str:
    """Compact JSON, as the service serialises its events."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


async def _frames(chunks: Sequence[str]) -> AsyncIterator[ServerSentEvent]:
    """One `content` event per chunk, then `complete`."""
    seq = 0
    for chunk in chunks:
        seq += 1
        data = _json({"type": "content", "chunk": chunk, "attempt": 1})
        yield ServerSentEvent(data=data, event="content", id=str(seq))
    yield ServerSentEvent(data=_json({"type": "complete"}), event="complete", id=str(seq + 1))


def build_app(chunks: Sequence[str]) -> Starlette:
    """A Starlette app whose `GET /stream` streams `chunks` and whose `GET /healthz` answers 200."""
    frozen = tuple(chunks)

    async def stream(request: Request) -> Response:
        return EventSourceResponse(_frames(frozen), ping=PING_SECONDS, headers=SSE_HEADERS)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route(STREAM_PATH, stream), Route("/healthz", healthz)])


def load_chunks(path: Path) -> list[str]:
    """The JSON list of strings stored at `path`."""
    chunks = json.loads(path.read_text("utf-8"))
    if not isinstance(chunks, list) or not all(isinstance(chunk, str) for chunk in chunks):
        raise ValueError(f"{path} must hold a JSON list of strings")
    return chunks


def create_app() -> Starlette:
    """The uvicorn factory: streams the chunks in the file that `BENCH_FLOOR_CHUNKS_FILE` names."""
    location = os.environ.get(CHUNKS_FILE_ENV)
    if not location:
        raise SystemExit(f"the floor app needs {CHUNKS_FILE_ENV}: a JSON list of chunks to stream")
    return build_app(load_chunks(Path(location)))
