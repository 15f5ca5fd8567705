"""Operations (issue 16) over a real socket, against a real uvicorn process: production log
lines are JSON and carry the run's ids, no ticket or token is ever written, traces reach an
OTLP collector (a stand-in here) with spans for the request, the run and every node, and
LangSmith tracing pointed at nothing does not hold a stream up."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench.servers import (
    HOST,
    PROJECT_ROOT,
    Server,
    clean_environment,
    free_port,
    stop_process,
    wait_until_healthy,
)
from tests.support import (
    STORY_TEXT,
    LiveServer,
    closed_port,
    collect,
    create_child,
    ollama_speaking_app,
    sign_up,
)
from workflows.providers.scripted import tokenize

JWT_SECRET = "operations-test-secret-of-at-least-32-characters"
STARTUP_SECONDS = 120.0
STREAM = "/api/v1/stories/generate/stream"


@contextmanager
def service_process(tmp_path: Path, env: Mapping[str, str]) -> Iterator[tuple[Server, Path]]:
    """`uvicorn backend.main:app` (access log on) with `env`; yields it and its log file."""
    port = free_port()
    log = tmp_path / "server.log"
    environment = clean_environment(
        {
            "STORYSTREAM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'storystream.db'}",
            "STORYSTREAM_SAFETY_JUDGE": "none",
            **env,
        }
    )
    command = [sys.executable, "-m", "uvicorn", "backend.main:app", "--host", HOST]
    command += ["--port", str(port), "--log-level", "info"]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=log_file, stderr=subprocess.STDOUT
        )
        server = Server(name="StoryStream", pid=process.pid, base_url=f"http://{HOST}:{port}")
        try:
            wait_until_healthy(process, server, log, STARTUP_SECONDS)
            yield server, log
        finally:
            stop_process(process)


async def test_production_logs_are_json_lines_with_the_run_and_no_secret(tmp_path: Path) -> None:
    with (
        LiveServer(ollama_speaking_app(tokenize(STORY_TEXT))) as ollama,
        service_process(
            tmp_path,
            {
                "STORYSTREAM_ENV": "production",
                "STORYSTREAM_JWT_SECRET": JWT_SECRET,
                "STORYSTREAM_LLM_PROVIDER": "ollama",
                "STORYSTREAM_OLLAMA_BASE_URL": ollama.url,
            },
        ) as (server, log),
    ):
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            token = await sign_up(client)
            child_id = await create_child(client)
            ticket = (
                await client.post("/api/v1/stream-tickets", json={"child_id": child_id})
            ).json()["ticket"]
            del client.headers["Authorization"]
            frames = await collect(
                client,
                STREAM,
                params={"child_id": child_id, "theme": "space", "ticket": ticket},
                headers={"X-Request-ID": "operations-test-1"},
            )
            health = await client.get("/healthz", headers={"X-Request-ID": 'bad id "forged"'})
    assert frames[-1].event == "complete"
    run_id = frames[0].data["run_id"]
    text = log.read_text("utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all(isinstance(line, dict) for line in lines)
    assert all({"event", "level", "timestamp", "replica"} <= set(line) for line in lines)
    concluded = [line for line in lines if line["event"] == "run finished"]
    assert len(concluded) == 1
    conclusion = concluded[0]
    assert (conclusion["run_id"], conclusion["outcome"], conclusion["error_code"]) == (
        run_id,
        "completed",
        None,
    )
    assert (conclusion["child_id"], conclusion["story_id"]) == (
        child_id,
        frames[-1].data["story"]["id"],
    )
    assert conclusion["family_id"] >= 1
    assert conclusion["tokens_streamed"] == sum(1 for f in frames if f.event == "content")
    assert conclusion["output_tokens"] == frames[-1].data["story"]["usage"]["output_tokens"]
    assert conclusion["total_ms"] >= conclusion["time_to_first_visible_token_ms"] >= 0
    assert conclusion["request_id"] == "operations-test-1"
    # Every line the run wrote carries its ids; the stream's access line its request id.
    for line in lines:
        if line.get("run_id") == run_id:
            assert (line["child_id"], line["family_id"]) == (child_id, conclusion["family_id"])
    started = [line for line in lines if line["logger"] == "backend.runs.manager"]
    assert started
    assert all(line["run_id"] == run_id for line in started)
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    streamed = [line for line in access if STREAM in line["event"]]
    assert len(streamed) == 1
    assert streamed[0]["request_id"] == "operations-test-1"
    assert streamed[0]["path"].endswith("ticket=<redacted>")
    # A request id that could forge a line is replaced by a fresh one.
    assert health.headers["X-Request-ID"] != 'bad id "forged"'
    assert len(health.headers["X-Request-ID"]) == 32
    for secret in (ticket, ticket.split(".")[2], token, token.split(".")[2], JWT_SECRET):
        assert secret not in text


class _Collector(BaseHTTPRequestHandler):
    """OTLP/HTTP: each POST to /v1/traces is a protobuf ExportTraceServiceRequest."""

    received: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        if self.path == "/v1/traces":
            self.received.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the test reads what the collector received, not its access lines."""


@contextmanager
def otlp_collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    received: list[ExportTraceServiceRequest] = []
    handler = type("Collector", (_Collector,), {"received": received})
    httpd = ThreadingHTTPServer((HOST, 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{httpd.server_address[1]}", received
    finally:
        httpd.shutdown()
        httpd.server_close()


def _spans(received: list[ExportTraceServiceRequest]) -> list[dict[str, Any]]:
    spans = []
    for request in received:
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    attributes = {
                        item.key: item.value.string_value or item.value.int_value
                        for item in span.attributes
                    }
                    spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "attributes": attributes,
                        }
                    )
    return spans


async def test_one_story_sends_spans_for_request_run_and_nodes(tmp_path: Path) -> None:
    with (
        otlp_collector() as (endpoint, received),
        service_process(
            tmp_path,
            {
                "STORYSTREAM_ENV": "test",
                "STORYSTREAM_LLM_PROVIDER": "scripted",
                "STORYSTREAM_SCRIPTED_TEXT": STORY_TEXT,
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_SERVICE_NAME": "storystream-test",
            },
        ) as (server, _log),
    ):
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            await sign_up(client)
            child_id = await create_child(client)
            frames = await collect(client, STREAM, params={"child_id": child_id, "theme": "space"})
    # Stopping the process flushed its spans.
    assert frames[-1].event == "complete"
    run_id = frames[0].data["run_id"]
    spans = [s for s in _spans(received) if s["attributes"].get("storystream.run_id") == run_id]
    names = sorted(span["name"] for span in spans)
    assert names.count("storystream.run") == 1
    for node in ("generate", "ending", "safety_check", "metrics"):
        assert names.count(f"node {node}") == 1, names
    assert f"GET {STREAM}" in names
    assert "model call" in names
    # One trace: the request's span is the run's parent, the run's span every node's.
    assert len({span["trace_id"] for span in spans}) == 1
    by_name = {span["name"]: span for span in spans}
    run = by_name["storystream.run"]
    assert run["parent"] == by_name[f"GET {STREAM}"]["span_id"]
    assert all(by_name[f"node {n}"]["parent"] == run["span_id"] for n in ("generate", "metrics"))
    story_call = next(s for s in spans if s["name"] == "model call")
    assert story_call["parent"] == by_name["node generate"]["span_id"]


async def test_langsmith_pointed_at_nothing_does_not_hold_the_stream_up(tmp_path: Path) -> None:
    with service_process(
        tmp_path,
        {
            "STORYSTREAM_ENV": "test",
            "STORYSTREAM_LLM_PROVIDER": "scripted",
            "STORYSTREAM_SCRIPTED_TEXT": STORY_TEXT,
            "LANGSMITH_TRACING": "true",
            "LANGSMITH_ENDPOINT": f"http://{HOST}:{closed_port()}",
            "LANGSMITH_API_KEY": "lsv2-test-key-not-real",
            "LANGSMITH_PROJECT": "storystream-test",
        },
    ) as (server, _log):
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            await sign_up(client)
            child_id = await create_child(client)
            frames = await collect(client, STREAM, params={"child_id": child_id, "theme": "space"})
    assert frames[-1].event == "complete"
    assert [frame.id for frame in frames] == list(range(1, len(frames) + 1))
