"""Operations (issue 16): Prometheus metrics at `/metrics`, structured log lines with the run's
ids, OpenTelemetry traces over OTLP when configured.

    install_observability(app, settings)   in create_app: /metrics, the request middleware,
                                           tracing (only with an OTLP endpoint), start-up hooks
    watched_event_log(log)                 where the event log is built (backend/services.py):
                                           run metrics, the run span and the run's conclusion
                                           line, from its events
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Response
from fastapi.routing import APIRoute
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client import multiprocess as prometheus_multiprocess

from backend.observability.callbacks import RunObserver, observe_this_run
from backend.observability.context import set_replica
from backend.observability.http import ObservedRequests
from backend.observability.metrics import (
    ServiceMetrics,
    forget_this_process,
    multiprocess_dir,
    render,
)
from backend.observability.run_watch import ObservedEventLog, RunWatcher
from backend.observability.sampling import ServiceSampler, count_database_errors
from backend.observability.tracing import TRACER_NAME, instrument, tracer_provider
from backend.runs.log import RunEventLog
from backend.settings import Settings

logger = logging.getLogger(__name__)
METRICS_PATH = "/metrics"


@dataclass
class Observability:
    """One app's metrics, run watcher, LangChain observer and (maybe) tracer provider."""

    settings: Settings
    metrics: ServiceMetrics
    provider: TracerProvider | None
    watcher: RunWatcher
    observer: RunObserver
    sampler: ServiceSampler | None = None
    _metrics_server: Any = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, environ: Mapping[str, str]) -> Observability:
        metrics = ServiceMetrics()
        provider = tracer_provider(environ)
        tracer = provider.get_tracer(TRACER_NAME) if provider is not None else None
        watcher = RunWatcher(metrics, log_kind="memory", tracer=tracer)
        observer = RunObserver(watcher, tracer)
        watcher.on_created(lambda: observe_this_run(observer))
        return cls(settings, metrics, provider, watcher, observer)

    def refresh(self) -> None:
        if self.sampler is not None:
            self.sampler.sample()

    async def service_started(self, services: Any) -> None:
        runs = getattr(services, "runs", None)
        runner_id = getattr(runs, "runner_id", None)
        if isinstance(runner_id, str):
            set_replica(runner_id)
        engine = getattr(services, "engine", None)
        if engine is not None:
            count_database_errors(engine, self.metrics)
        context = getattr(getattr(runs, "env", None), "context", None)
        self.sampler = ServiceSampler(self.metrics, getattr(context, "model", None))
        self.sampler.start()
        port = self.settings.metrics_port
        if self.settings.metrics_enabled and port is not None:
            self._serve_metrics_on(port)

    def _serve_metrics_on(self, port: int) -> None:
        registry = self.metrics.registry
        if multiprocess_dir() is not None:
            registry = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        try:
            self._metrics_server = start_http_server(port, registry=registry)
        except OSError as exc:
            # Several workers: the first one binds the port and serves everyone's values.
            logger.info("metrics port %d not bound here (%s): another worker serves it", port, exc)

    async def service_stopped(self) -> None:
        if self.sampler is not None:
            await self.sampler.aclose()
        if self._metrics_server is not None:
            server, _thread = self._metrics_server
            server.shutdown()
            server.server_close()
        if self.provider is not None:
            # Spans of runs that ended during shutdown still leave.
            self.provider.shutdown()
        forget_this_process()


def install_observability(
    app: FastAPI, settings: Settings, environ: Mapping[str, str] | None = None
) -> Observability:
    """Call once the app's routes and other middleware are in place."""
    observability = Observability.build(settings, os.environ if environ is None else environ)
    app.state.observability = observability
    if settings.metrics_enabled and settings.metrics_port is None:

        async def metrics() -> Response:
            body, content_type = render(observability.metrics, observability.refresh)
            return Response(body, media_type=content_type)

        # First, ahead of the web app's single-page fallback; not in the API schema; no auth.
        route = APIRoute(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)
        app.router.routes.insert(0, route)
    app.add_middleware(ObservedRequests, metrics=observability.metrics)
    if observability.provider is not None:
        instrument(app, observability.provider)
    _run_with_service(app, observability)
    return observability


# The observability of the app whose services are being opened (set by its lifespan), so the
# event log built inside `open_services` is watched without that code knowing about it.
_STARTING: ContextVar[Observability | None] = ContextVar("storystream_starting", default=None)


def _run_with_service(app: FastAPI, observability: Observability) -> None:
    """Watch the event log the services build; start the samplers once the service is up;
    flush traces after it has stopped."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        try:
            starting = _STARTING.set(observability)
            try:
                async with inner(app) as state:
                    _STARTING.reset(starting)
                    await observability.service_started(getattr(app.state, "services", None))
                    yield state
            finally:
                if _STARTING.get() is observability:
                    _STARTING.set(None)
        finally:
            with contextlib.suppress(Exception):
                await observability.service_stopped()

    app.router.lifespan_context = lifespan


def watched_event_log(log: RunEventLog) -> RunEventLog:
    """`log`, watched by the observability of the app being started (unchanged outside one)."""
    observability = _STARTING.get()
    if observability is None:
        return log
    observability.watcher.log_kind = "redis" if "redis" in type(log).__name__.lower() else "memory"
    return ObservedEventLog(log, observability.watcher)
