"""OpenTelemetry traces, exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and not even set up otherwise: no provider, no
middleware, no spans, so streaming costs what it did.

Spans: the HTTP request (FastAPI's instrumentation), the run (`storystream.run`, from the event
log), each graph node and each model call (LangChain callbacks), all with `storystream.run_id`.
The standard `OTEL_*` variables (service name, resource attributes, headers, batching) apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span

from backend.access_log import redact_secrets
from backend.observability.context import replica

SERVICE_NAME = "storystream"
TRACER_NAME = "storystream"
# Probes and the metrics scrape would only add noise.
EXCLUDED_URLS = "/metrics,/healthz,/readyz"
# Attributes the ASGI instrumentation fills from the URL: a stream ticket may sit in its query.
_URL_ATTRIBUTES = ("http.target", "http.url", "url.query", "url.full")


def traces_endpoint(environ: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP traces URL the environment names, or None: tracing stays off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return None
    explicit = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if explicit:
        return explicit
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


def tracer_provider(environ: Mapping[str, str]) -> TracerProvider | None:
    endpoint = traces_endpoint(environ)
    if endpoint is None:
        return None
    attributes: dict[str, Any] = {"service.instance.id": replica()}
    if not environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = SERVICE_NAME
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def _hide_tickets(span: Span, scope: dict[str, Any]) -> None:
    query = scope.get("query_string", b"")
    if not span.is_recording() or b"ticket=" not in query.lower():
        return
    attributes = getattr(span, "attributes", None) or {}
    for name in _URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str):
            span.set_attribute(name, redact_secrets(value))


def instrument(app: FastAPI, provider: TracerProvider) -> None:
    """A server span per request (route template as its name); no span per ASGI message."""
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=EXCLUDED_URLS,
        server_request_hook=_hide_tickets,
        exclude_spans=["receive", "send"],
    )
