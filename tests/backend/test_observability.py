"""Operations (issue 16) in-process: what `/metrics` says after a story, request ids, the
metrics settings, and secrets kept out of log lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from backend.access_log import redact_secrets
from backend.app import create_app
from backend.observability.logging import formatter_config
from backend.observability.sampling import host_label
from tests.support import STORY_TEXT, collect, create_child, make_settings, running, sign_up

STREAM = "/api/v1/stories/generate/stream"
UNSAFE_TEXT = "The pirate pulled out a gun.\nQUESTION: ?\nCHOICE 1: a\nCHOICE 2: b"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def _one_story(client: httpx.AsyncClient) -> tuple[int, list[Any]]:
    await sign_up(client)
    child_id = await create_child(client)
    frames = await collect(client, STREAM, params={"child_id": child_id, "theme": "space"})
    return child_id, frames


async def test_after_one_story_metrics_count_its_run_tokens_safety_and_routes(
    tmp_path: Path,
) -> None:
    app = create_app(make_settings(tmp_path, scripted_text=STORY_TEXT))
    async with running(app) as client:
        child_id, frames = await _one_story(client)
        await client.get(f"/api/v1/children/{child_id}")
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert frames[-1].event == "complete"
    found = samples(response.text)
    run = "storystream_runs"
    assert value(found, f"{run}_started_total") == 1
    assert value(found, f"{run}_finished_total", outcome="completed", error_code="") == 1
    assert value(found, f"{run}_queued") == 0
    assert value(found, f"{run}_running") == 0
    assert value(found, "storystream_time_to_first_token_seconds_count") == 1
    assert value(found, "storystream_time_to_first_visible_token_seconds_count") == 1
    assert value(found, "storystream_run_queue_wait_seconds_count") == 1
    assert value(found, "storystream_run_duration_seconds_count", outcome="completed") == 1
    content = sum(1 for frame in frames if frame.event == "content")
    assert value(found, "storystream_tokens_streamed_total") == content
    usage = frames[-1].data["story"]["usage"]
    assert value(found, "storystream_model_tokens_total", kind="output") == usage["output_tokens"]
    assert value(found, "storystream_safety_checks_total", verdict="approved") == 1
    assert value(found, "storystream_safety_checks_total", verdict="rejected") == 0
    metadata = next(frame.data for frame in frames if frame.event == "metadata")
    fit = "true" if metadata["fits_reader"] else "false"
    assert value(found, "storystream_readability_fit_total", fits=fit) == 1
    assert value(found, "storystream_streams_open") == 0
    assert value(found, "storystream_stream_subscribers") == 0
    http = "storystream_http_requests_total"
    assert value(found, http, method="GET", route=STREAM, status="200") == 1
    assert value(found, http, method="POST", route="/api/v1/children", status="201") == 1
    route = "/api/v1/children/{child_id}"
    assert value(found, http, method="GET", route=route, status="200") == 1
    # Labels name routes by their template: no id, ticket or name in them.
    run_id = frames[0].data["run_id"]
    assert run_id not in response.text
    assert f"/children/{child_id}" not in response.text
    assert "Mia" not in response.text


async def test_a_rejected_story_counts_its_repairs_redraft_and_rejection(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, scripted_text=UNSAFE_TEXT))
    async with running(app) as client:
        _, frames = await _one_story(client)
        found = samples((await client.get("/metrics")).text)
    assert frames[-1].data["error_code"] == "SAFETY_REJECTED"
    finished = value(
        found, "storystream_runs_finished_total", outcome="failed", error_code="SAFETY_REJECTED"
    )
    assert finished == 1
    verdicts = "storystream_safety_verdicts_total"
    assert value(found, verdicts, stage="rejection", category="") == 1
    resets = sum(1 for frame in frames if frame.event == "reset")
    assert value(found, verdicts, stage="redraft", category="") == resets
    repairs = sum(
        1 for frame in frames if frame.event == "node" and frame.data["status"] == "repairing"
    )
    # Each held-back sentence (a gun) is counted under its category.
    assert repairs > 0
    assert value(found, verdicts, stage="repair", category="weapons") == repairs
    assert resets == 1
    checks = sum(1 for frame in frames if frame.event == "safety")
    assert value(found, "storystream_safety_checks_total", verdict="rejected") == checks


async def test_request_ids_are_honoured_generated_and_returned(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    async with running(app) as client:
        given = await client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2"})
        fresh = await client.get("/healthz")
        forged = await client.get("/healthz", headers={"X-Request-ID": 'x" level="error'})
    assert given.headers["X-Request-ID"] == "lb-7f3a.2"
    assert len(fresh.headers["X-Request-ID"]) == 32
    assert forged.headers["X-Request-ID"] != 'x" level="error'


async def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, metrics_enabled=False))
    async with running(app) as client:
        response = await client.get("/metrics")
    assert response.status_code != 200
    assert "storystream_" not in response.text


async def test_metrics_on_their_own_port_leave_the_api_port(tmp_path: Path) -> None:
    from tests.support import closed_port

    port = closed_port()
    app = create_app(make_settings(tmp_path, metrics_port=port))
    async with running(app) as client:
        on_api = await client.get("/metrics")
        async with httpx.AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
    assert "storystream_" not in on_api.text
    assert scraped.status_code == 200
    assert "storystream_runs_started_total 0.0" in scraped.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET /api/v1/runs/1/stream?ticket=abc.def&x=1",
            "GET /api/v1/runs/1/stream?ticket=<redacted>&x=1",
        ),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
            "Authorization: Bearer <redacted>",
        ),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl left", "token <redacted> left"),
        ("run 3845d140 finished", "run 3845d140 finished"),
    ],
)
def test_secrets_are_redacted_from_text(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected


def test_json_lines_redact_secret_fields_and_carry_bound_ids() -> None:
    import structlog

    formatter = logging.Formatter()
    config = formatter_config("json")
    factory = config.pop("()")
    formatter = factory(**config)
    structlog.contextvars.bind_contextvars(run_id="r1", child_id=3)
    try:
        record = logging.LogRecord(
            "backend.test", logging.INFO, __file__, 1, "hello %s", ("x",), None
        )
        record.refresh_token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
        record.detail = {"password": "hunter2 hunter2", "ok": 1}
        line = json.loads(formatter.format(record))
    finally:
        structlog.contextvars.clear_contextvars()
    assert (line["event"], line["run_id"], line["child_id"]) == ("hello x", "r1", 3)
    assert line["refresh_token"] == "<redacted>"
    assert line["detail"] == {"password": "<redacted>", "ok": 1}
    assert {"level", "timestamp", "replica", "logger"} <= set(line)


def test_ollama_host_labels_drop_credentials() -> None:
    assert host_label("http://user:secret@ollama-2:11434/") == "http://ollama-2:11434"


async def test_event_log_redis_errors_are_counted_by_operation() -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from backend.observability.metrics import ServiceMetrics
    from backend.observability.run_watch import ObservedEventLog, RunWatcher
    from backend.runs.log import InMemoryEventLog

    class Unreachable(InMemoryEventLog):
        async def last_seq(self, run_id: str) -> int:
            raise RedisConnectionError("Redis is restarting")

    metrics = ServiceMetrics()
    log = ObservedEventLog(Unreachable(60), RunWatcher(metrics, log_kind="redis"))
    with pytest.raises(RedisConnectionError):
        await log.last_seq("r1")
    found = samples(generate_latest(metrics.registry).decode())
    assert value(found, "storystream_redis_errors_total", operation="event_log.last_seq") == 1
    await log.aclose()


def test_a_graph_node_binds_its_name_and_the_story_model_first_token_is_timed() -> None:
    import uuid

    import structlog

    from backend.observability.callbacks import RunObserver
    from backend.observability.context import bound
    from backend.observability.metrics import ServiceMetrics
    from backend.observability.run_watch import RunWatcher
    from tests.support import ManualClock
    from workflows.event_stream import ignores_model_calls
    from workflows.nodes.generate import PROGRESS_EVENT

    clock = ManualClock()
    watcher = RunWatcher(ServiceMetrics(), log_kind="memory", clock=clock)
    observer = RunObserver(watcher, None, clock=clock)
    structlog.contextvars.clear_contextvars()
    watcher.created("r1")
    root, node = uuid.uuid4(), uuid.uuid4()
    try:
        observer.on_chain_start(None, {}, run_id=root, name="storystream")
        observer.on_chain_start(
            None,
            {},
            run_id=node,
            parent_run_id=root,
            name="generate",
            metadata={"langgraph_node": "generate"},
        )
        assert (bound()["run_id"], bound()["node"]) == ("r1", "generate")
        # With tracing off the observer has nothing to do in a model call: it is left out.
        assert ignores_model_calls(observer)
        clock.now += 0.25
        observer.on_custom_event(PROGRESS_EVENT, {"tokens": 1}, run_id=node)
        clock.now += 0.5
        observer.on_custom_event(PROGRESS_EVENT, {"tokens": 9}, run_id=node)
    finally:
        structlog.contextvars.clear_contextvars()
    assert watcher.runs["r1"].first_model_token == 1000.25
