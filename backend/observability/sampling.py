"""Gauges read from the running service rather than counted as things happen: the Ollama hosts
(up or down, calls in flight, times marked down) and the embedded model's copies. Read before
every scrape of this process and every few seconds (so other workers' scrapes see them too);
nothing on the request path pays for them. Database errors come from SQLAlchemy's own event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.observability.metrics import ServiceMetrics
from workflows.providers.local import LocalChatModel
from workflows.providers.ollama_hosts import RoutedChatModel

logger = logging.getLogger(__name__)
SAMPLE_SECONDS = 5.0


def host_label(base_url: str) -> str:
    """The host's URL without any userinfo (credentials never become a label)."""
    parts = urlsplit(base_url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class ServiceSampler:
    def __init__(self, metrics: ServiceMetrics, story_model: Any) -> None:
        self.metrics = metrics
        self.model = story_model
        self._failures_seen: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        if isinstance(self.model, RoutedChatModel):
            self._sample_hosts(self.model)
        elif isinstance(self.model, LocalChatModel):
            self._sample_embedded(self.model)

    def _sample_hosts(self, model: RoutedChatModel) -> None:
        now = time.monotonic()
        for host in model.pool.hosts:
            label = host_label(host.base_url)
            self.metrics.ollama_host_up.labels(label).set(1 if host.healthy(now) else 0)
            self.metrics.ollama_in_flight.labels(label).set(host.in_flight)
            # `failures` counts the times in a row the host was marked down; a rise is a failover.
            seen = self._failures_seen.get(label, 0)
            if host.failures > seen:
                self.metrics.ollama_failovers.labels(label).inc(host.failures - seen)
            self._failures_seen[label] = host.failures

    def _sample_embedded(self, model: LocalChatModel) -> None:
        copies = getattr(model.pool, "_copies", None)
        created = int(getattr(copies, "_created", 0))
        idle = len(getattr(copies, "_idle", ()))
        self.metrics.embedded_copies.set(created)
        self.metrics.embedded_in_use.set(max(created - idle, 0))
        self.metrics.embedded_waiting.set(model.pool.queued)

    def start(self, interval_seconds: float = SAMPLE_SECONDS) -> None:
        self._task = asyncio.create_task(self._sample_forever(interval_seconds), name="metrics")

    async def _sample_forever(self, interval_seconds: float) -> None:
        while True:
            try:
                self.sample()
            except Exception:  # a reading must never stop the service
                logger.exception("reading the service's gauges failed")
            await asyncio.sleep(interval_seconds)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def count_database_errors(engine: AsyncEngine, metrics: ServiceMetrics) -> None:
    """Every error the database driver raises (a lost connection, a refused one, a bad query)."""

    def on_error(context: ExceptionContext) -> None:
        metrics.database_errors.labels("disconnect" if context.is_disconnect else "error").inc()

    event.listen(engine.sync_engine, "handle_error", on_error)
