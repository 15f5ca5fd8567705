"""Test helpers: settings and apps on a fresh SQLite file, SSE collection, a real uvicorn server,
and Ollama `/api/chat` NDJSON bodies in Ollama's real shapes."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import httpx
import uvicorn
from fastapi import FastAPI, Request
from httpx_sse import aconnect_sse
from sqlalchemy import select

from backend.db.engine import create_engine, create_session_factory
from backend.db.models import Child, Parent, Run
from backend.settings import Settings
from workflows.state import StoryRequest
from workflows.themes import load_theme_catalogue

STORY_BODY = (
    "Mia found a tiny silver key under the garden gate. She turned it over in her hand and smiled. "
    '"Where do you open?" she asked the key.\n\nA friendly robin hopped closer and sang three '
    "happy notes. Mia followed the robin past the apple tree."
)
CHOICES_BLOCK = (
    "\n\nQUESTION: What should Mia do next?\n"
    "CHOICE 1: Open the little blue door\n"
    "CHOICE 2: Ask the robin for help\n"
    "CHOICE 3: Show the key to Grandma"
)
STORY_TEXT = STORY_BODY + CHOICES_BLOCK
# The structured ending (workflows.ending.ChapterEnding) a model gives for STORY_BODY.
STORY_ENDING: dict[str, Any] = {
    "question": "What should Mia do next?",
    "choices": ["Open the little blue door", "Ask the robin for help", "Show the key to Grandma"],
    "summary": "Mia found a tiny silver key under the garden gate and followed a robin.",
}


class ManualClock:
    """A monotonic clock that moves only when the test sets `now`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def left_behind_runs(database_url: str, runs: dict[str, tuple[str, str | None]]) -> None:
    """Rows as a process that died mid-story leaves them: run id -> (status, runner), for one
    family with one child, on a migrated database."""
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            session.add(Parent(id=1, email="p@example.com", password_hash="x"))
            await session.flush()
            session.add(Child(id=1, parent_id=1, name="Mia", age=6))
            await session.flush()
            for run_id, (status, runner) in runs.items():
                session.add(
                    Run(
                        id=run_id,
                        child_id=1,
                        theme="space",
                        chapter_number=1,
                        title="T",
                        status=status,
                        provider="scripted",
                        model="scripted",
                        runner=runner,
                    )
                )
    finally:
        await engine.dispose()


async def run_states(database_url: str) -> dict[str, tuple[str, str | None]]:
    """Every run's (status, error code)."""
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            return {
                run.id: (run.status, run.error_code) for run in await session.scalars(select(Run))
            }
    finally:
        await engine.dispose()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'storystream.db'}",
        "llm_provider": "scripted",
        "ping_seconds": 15.0,
        # Tests start many stories for one family quickly; the quota tests set their own.
        "family_runs_per_minute": 1000,
        "family_concurrent_streams": 100,
        "family_runs_in_flight": 1000,
        # Tests register many parents from one address; the throttle tests set their own.
        "registration_free_attempts_per_address": 1000,
        # The LLM judge is its own subject (tests/workflows/test_judges.py and the readiness
        # tests); elsewhere a run's model calls are the story's alone.
        "safety_judge": "none",
        # Redis is shared by every suite on the machine: each test's keys are its own.
        "redis_namespace": f"storystream-test-{uuid.uuid4().hex[:12]}",
    }
    values.update(overrides)
    return Settings(**values)


def one_connection_settings(tmp_path: Path, wait_seconds: float, **overrides: Any) -> Settings:
    """Settings whose database pool holds one connection, waited for `wait_seconds`."""
    return make_settings(
        tmp_path,
        database_pool_size=1,
        database_max_overflow=0,
        database_pool_timeout_seconds=wait_seconds,
        **overrides,
    )


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, driven in-process through ASGITransport."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://storystream.test"
        ) as client:
            yield client


@dataclass(frozen=True)
class Frame:
    id: int
    event: str
    data: dict[str, Any]


async def collect(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    stop_after_content: int | None = None,
) -> list[Frame]:
    """Read SSE frames until the stream ends, or until `stop_after_content` content frames."""
    frames: list[Frame] = []
    content = 0
    async with aconnect_sse(
        client, "GET", url, headers=dict(headers or {}), params=params
    ) as source:
        source.response.raise_for_status()
        async for sse in source.aiter_sse():
            if not sse.data:
                continue  # httpx-sse reports keep-alive comments as data-less events
            frames.append(Frame(id=int(sse.id), event=sse.event, data=json.loads(sse.data)))
            if sse.event == "content":
                content += 1
                if stop_after_content is not None and content >= stop_after_content:
                    break
    return frames


def streamed_text(frames: Iterable[Frame]) -> str:
    return "".join(frame.data["chunk"] for frame in frames if frame.event == "content")


def event_types(frames: Iterable[Frame]) -> list[str]:
    return [frame.event for frame in frames]


# Prints a measured value past pytest's capture (the `report` fixture in tests/conftest.py).
Report = Callable[[str, str], None]

PASSWORD = "a long enough password"


async def sign_up(client: httpx.AsyncClient, email: str | None = None) -> str:
    """Register a parent, sign the client in as that parent, and return the access token."""
    email = email or f"parent-{uuid.uuid4().hex[:12]}@example.com"
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 202, registered.text
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    token: str = login.json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return token


async def create_child(
    client: httpx.AsyncClient,
    name: str = "Mia",
    age: int = 6,
    themes: tuple[str, ...] = ("space", "ocean"),
    **settings: Any,
) -> int:
    """A child of the signed-in parent, allowed `themes`."""
    response = await client.post("/api/v1/children", json={"name": name, "age": age, **settings})
    assert response.status_code == 201, response.text
    child_id: int = response.json()["id"]
    allowed = await client.put(
        f"/api/v1/children/{child_id}/themes", json={"theme_ids": list(themes)}
    )
    assert allowed.status_code == 200, allowed.text
    return child_id


async def start_run(client: httpx.AsyncClient, child_id: int, theme: str = "space") -> str:
    """Start a story with `POST /runs`; returns the run id."""
    response = await client.post("/api/v1/runs", json={"child_id": child_id, "theme": theme})
    assert response.status_code == 201, response.text
    run_id: str = response.json()["run_id"]
    return run_id


async def wait_for_run(
    client: httpx.AsyncClient, run_id: str, statuses: set[str], patience: float = 30.0
) -> dict[str, Any]:
    """Poll the run's status until it reaches one of `statuses` (bounded, for background runs)."""
    deadline = time.monotonic() + patience
    while True:
        body: dict[str, Any] = (await client.get(f"/api/v1/runs/{run_id}")).json()
        if body["status"] in statuses:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} stayed {body['status']!r}")
        await asyncio.sleep(0.05)


class LiveServer:
    """The app served by uvicorn on 127.0.0.1 and a random port, in a background thread."""

    def __init__(self, app: FastAPI, *, log_level: str = "warning") -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        # "info" turns uvicorn's access log on.
        config = uvicorn.Config(
            app, log_level=log_level, lifespan="on", timeout_graceful_shutdown=5
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._socket.close()


def ollama_chat_lines(
    text_chunks: Iterable[str], *, model: str = "llama3.2:3b"
) -> list[dict[str, Any]]:
    """The NDJSON objects Ollama's streaming `/api/chat` sends: one per token, then `done`."""
    lines: list[dict[str, Any]] = [
        {
            "model": model,
            "created_at": "2026-11-22T10:00:00.000000Z",
            "message": {"role": "assistant", "content": chunk},
            "done": False,
        }
        for chunk in text_chunks
    ]
    lines.append(
        {
            "model": model,
            "created_at": "2026-11-22T10:00:01.000000Z",
            "message": {"role": "assistant", "content": ""},
            "done_reason": "stop",
            "done": True,
            "total_duration": 1_234_000_000,
            "load_duration": 12_000_000,
            "prompt_eval_count": 321,
            "prompt_eval_duration": 100_000_000,
            "eval_count": len(lines),
            "eval_duration": 1_000_000_000,
        }
    )
    return lines


def ndjson(lines: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def json_chunks(value: object, size: int = 7) -> list[str]:
    """A JSON answer as Ollama streams it under `format`: a few characters per chunk."""
    text = json.dumps(value)
    return [text[start : start + size] for start in range(0, len(text), size)]


class OllamaChat:
    """A respx side effect that answers `/api/chat` as Ollama does. A request with `format` (a
    JSON schema: structured output) streams the next of `endings` as its JSON content (the last
    one again when they run out); any other request streams the next of `stories` (token lists),
    the last one again when they run out. Every request body is kept, in order."""

    def __init__(self, stories: list[list[str]], endings: list[object] | None = None) -> None:
        self.stories = stories
        self.endings = endings if endings is not None else [STORY_ENDING]
        self.requests: list[dict[str, Any]] = []

    @property
    def story_requests(self) -> list[dict[str, Any]]:
        return [body for body in self.requests if body.get("format") is None]

    @property
    def ending_requests(self) -> list[dict[str, Any]]:
        return [body for body in self.requests if body.get("format") is not None]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = json.loads(request.content)
        self.requests.append(body)
        if body.get("format") is not None:
            ending = self.endings[min(len(self.ending_requests), len(self.endings)) - 1]
            chunks = [ending] if isinstance(ending, str) else json_chunks(ending)
        else:
            chunks = self.stories[min(len(self.story_requests), len(self.stories)) - 1]
        return httpx.Response(200, content=ndjson(ollama_chat_lines(chunks)))


OllamaFault = Literal["none", "server_error", "malformed", "stall"]


def ollama_speaking_app(
    text_chunks: list[str],
    *,
    model: str = "llama3.2:3b",
    fault: OllamaFault = "none",
    ending: dict[str, Any] | None = None,
) -> FastAPI:
    """A small HTTP server that answers like Ollama: `/api/tags` lists `model`, `/api/chat`
    streams `text_chunks` as NDJSON (or, for a structured-output request with `format`, `ending`
    as JSON), or misbehaves as `fault` says (a 500, a broken line, or silence after two tokens).
    A test double for end-to-end tests over real sockets."""
    from fastapi.responses import JSONResponse, StreamingResponse

    structured: dict[str, Any] = ending if ending is not None else STORY_ENDING

    fake = FastAPI()

    @fake.get("/api/tags")
    async def tags() -> JSONResponse:
        return JSONResponse({"models": [{"name": model, "model": model, "size": 2_019_393_189}]})

    @fake.post("/api/chat", response_model=None)
    async def chat(request: Request) -> StreamingResponse | JSONResponse:
        if fault == "server_error":
            return JSONResponse({"error": "model runner crashed"}, status_code=500)
        if (await request.json()).get("format") is not None:
            # Structured output: the answer is JSON of the requested schema.
            return StreamingResponse(
                iter([ndjson(ollama_chat_lines(json_chunks(structured), model=model))]),
                media_type="application/x-ndjson",
            )

        async def lines() -> AsyncIterator[bytes]:
            for number, line in enumerate(ollama_chat_lines(text_chunks, model=model)):
                if number == 2 and fault == "malformed":
                    yield b'{"message": {"content": "bro\n'
                    return
                if number == 2 and fault == "stall":
                    await asyncio.Event().wait()  # connection open, no more bytes
                yield json.dumps(line).encode() + b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return fake


def story_request(**overrides: object) -> StoryRequest:
    """A story request for Mia, six, on the space theme; `overrides` change single fields."""
    values: dict[str, object] = {
        "child_name": "Mia",
        "child_age": 6,
        "reading_level": "beginner",
        "interests": [],
        "blocked_topics": [],
        "allow_mild_peril": False,
        "story_length": "medium",
        "theme": load_theme_catalogue()["space"].spec(),
        "gate": "sentence",
        "chapter_number": 1,
        "title": "Moon Trip",
        "previous_summary": None,
        "chosen_choice": None,
    }
    values.update(overrides)
    return cast(StoryRequest, values)
