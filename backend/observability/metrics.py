"""StoryStream's Prometheus metrics: one `ServiceMetrics` per app, rendered at `/metrics`.

Labels never carry ids, tickets, names or text: routes by their template, runs by outcome and
error code, safety findings by stage and category, Ollama hosts by their URL without userinfo.

Several uvicorn workers: with PROMETHEUS_MULTIPROC_DIR set (before the process starts), every
worker writes its values to files there and a scrape of any worker adds them up; gauges of
things in flight are summed over the live workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
NAMESPACE = "storystream"
# From a fast embedded model (tens of ms) to a loaded Ollama host (a minute).
WAIT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
RUN_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
GRADE_BUCKETS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 16.0)

# A gauge of things in flight is summed over the live workers; a reading of shared state (an
# Ollama host seen by every worker) takes the highest.
GaugeMode = Literal["livesum", "livemax"]
SUM_LIVE: GaugeMode = "livesum"
MAX_LIVE: GaugeMode = "livemax"


# The `_created` series double what a scrape carries and no dashboard here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


class ServiceMetrics:
    """Every metric of the service, registered on one registry (per app, so tests count exactly)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, labels, namespace=NAMESPACE, registry=r)

        def gauge(
            name: str, doc: str, labels: tuple[str, ...] = (), mode: GaugeMode = SUM_LIVE
        ) -> Gauge:
            return Gauge(name, doc, labels, namespace=NAMESPACE, registry=r, multiprocess_mode=mode)

        def histogram(
            name: str, doc: str, buckets: tuple[float, ...], labels: tuple[str, ...] = ()
        ) -> Histogram:
            return Histogram(name, doc, labels, namespace=NAMESPACE, registry=r, buckets=buckets)

        # Runs
        self.runs_started = counter("runs_started", "Runs created (a chapter asked for).")
        self.runs_finished = counter(
            "runs_finished",
            "Runs ended, by outcome (completed, failed, cancelled, interrupted) and error code.",
            ("outcome", "error_code"),
        )
        self.runs_queued = gauge("runs_queued", "Runs waiting for a story slot in this process.")
        self.runs_running = gauge("runs_running", "Runs being written in this process.")
        self.queue_wait = histogram(
            "run_queue_wait_seconds", "Time a run waited for a story slot.", WAIT_BUCKETS
        )
        self.run_duration = histogram(
            "run_duration_seconds",
            "A run's whole life, from creation to its last event, by outcome.",
            RUN_BUCKETS,
            ("outcome",),
        )
        self.time_to_first_token = histogram(
            "time_to_first_token_seconds",
            "From a run's start (out of the queue) to the story model's first token.",
            WAIT_BUCKETS,
        )
        self.time_to_first_visible_token = histogram(
            "time_to_first_visible_token_seconds",
            "From a run's start (out of the queue) to the first token the child sees.",
            WAIT_BUCKETS,
        )
        self.tokens_streamed = counter(
            "tokens_streamed", "Story tokens sent to readers (content events)."
        )
        self.model_tokens = counter(
            "model_tokens", "Model tokens used by finished runs, input and output.", ("kind",)
        )
        # Streams
        self.streams_open = gauge("streams_open", "Server-Sent Event responses open.")
        self.stream_subscribers = gauge(
            "stream_subscribers", "Readers following a run's event log."
        )
        self.event_log_lag = histogram(
            "event_log_lag_seconds",
            "From an event's append to its delivery to a reader (node and final events of runs "
            "written in this process), by event log (memory or redis).",
            LAG_BUCKETS,
            ("log",),
        )
        # Safety
        self.safety_verdicts = counter(
            "safety_verdicts",
            "Safety findings by stage (repair: a sentence held back and written again; rules, "
            "classifier, judge: the whole-chapter check; redraft; rejection) and category.",
            ("stage", "category"),
        )
        self.safety_checks = counter(
            "safety_checks", "Whole-chapter safety checks, by verdict.", ("verdict",)
        )
        self.readability_fit = counter(
            "readability_fit",
            "Chapters measured, by whether their reading grade fits the reader.",
            ("fits",),
        )
        self.readability_grade = histogram(
            "readability_grade", "Flesch-Kincaid grade of measured chapters.", GRADE_BUCKETS
        )
        # Model hosts
        self.ollama_host_up = gauge(
            "ollama_host_up", "1 while an Ollama host is taken for healthy.", ("host",), MAX_LIVE
        )
        self.ollama_in_flight = gauge(
            "ollama_host_in_flight", "Model calls in flight per Ollama host.", ("host",)
        )
        self.ollama_failovers = counter(
            "ollama_host_failovers",
            "Times an Ollama host could not be reached and was marked down (the call moved on).",
            ("host",),
        )
        self.embedded_copies = gauge(
            "embedded_model_copies", "Loaded copies of the embedded model."
        )
        self.embedded_in_use = gauge(
            "embedded_model_copies_in_use", "Embedded model copies writing a story."
        )
        self.embedded_waiting = gauge(
            "embedded_model_waiting", "Model calls waiting for an embedded model copy."
        )
        # Dependencies
        self.database_errors = counter(
            "database_errors", "Database errors, by kind (disconnect or error).", ("kind",)
        )
        self.redis_errors = counter("redis_errors", "Redis commands that failed.", ("operation",))
        # HTTP
        self.http_requests = counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
        )
        self.http_duration = histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template (streams excluded).",
            HTTP_BUCKETS,
            ("method", "route"),
        )


def render(metrics: ServiceMetrics, refresh: Callable[[], None] | None = None) -> tuple[bytes, str]:
    """The exposition text and its content type: every worker's values in multiprocess mode."""
    if refresh is not None:
        refresh()
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(metrics.registry), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def forget_this_process() -> None:
    """In multiprocess mode, drop this worker's live gauges when it stops."""
    if multiprocess_dir() is not None:
        prometheus_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
