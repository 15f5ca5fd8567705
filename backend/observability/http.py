"""Per request: a request id (the client's `X-Request-ID` when it is a sane one, else a new
one) bound into every log line and returned in the answer; counts by route template and status;
answer times; and the number of event streams open."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.observability.metrics import ServiceMetrics

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()
# Anything else (too long, spaces, quotes, line breaks) could forge log lines: replaced.
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
UNMATCHED_ROUTE = "unmatched"


def request_id_from(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == _REQUEST_ID_KEY and _SANE_REQUEST_ID.fullmatch(value):
            return str(value.decode("ascii"))
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template ("/api/v1/runs/{run_id}"), never the path itself."""
    route = scope.get("route")
    # FastAPI keeps an included router's routes with their own path; the effective route
    # (where FastAPI records it) has the full one, prefix included.
    fastapi_scope = scope.get("fastapi")
    effective = (
        fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    )
    path = getattr(effective, "path", None) or getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    if route is not None:
        return "web"  # the web app's files and its single-page fallback
    return UNMATCHED_ROUTE


class ObservedRequests:
    """Pure ASGI (no task hop), so what it binds is seen by every line the request logs."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        method = scope.get("method", "GET")
        answered: list[int] = []
        streaming = False

        async def send_observed(message: Message) -> None:
            nonlocal streaming
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                status = int(message["status"])
                answered.append(status)
                self.metrics.http_requests.labels(method, route_template(scope), str(status)).inc()
                if headers.get("content-type", "").startswith("text/event-stream"):
                    streaming = True
                    self.metrics.streams_open.inc()
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            if streaming:
                self.metrics.streams_open.dec()
            else:
                if not answered:
                    # The app raised before answering; the server answers 500.
                    self.metrics.http_requests.labels(method, route_template(scope), "500").inc()
                self.metrics.http_duration.labels(method, route_template(scope)).observe(
                    time.perf_counter() - started
                )
            structlog.contextvars.clear_contextvars()
