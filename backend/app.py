"""Builds the FastAPI application from settings; `create_app` is what tests and `main` call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from langchain_core.language_models import BaseChatModel

from backend.access_log import install_ticket_redaction
from backend.api.errors import install_error_handlers
from backend.api.health import router as health_router
from backend.api.router import api_router
from backend.api.wire_schema import install_wire_event_schemas
from backend.observability import install_observability
from backend.request_limits import RequestLimits
from backend.security_headers import SecurityHeaders
from backend.services import build_event_log, open_services, provider_config
from backend.settings import Settings, load_settings
from backend.web import install_web_app

# Built in backend.services; named here too for the callers that read them from the app.
__all__ = ["build_event_log", "create_app", "install_http_hardening", "provider_config"]


API_DESCRIPTION = """
StoryStream writes children's stories with a LangGraph workflow (generate → safety_check →
metrics) and streams them token by token as Server-Sent Events.

Every generation is a **run**: it goes on whether or not a client is connected, and any client
can join or resume its stream with `Last-Event-ID`. Each stream ends with exactly one
`complete` or `error` event.
"""


def create_app(
    settings: Settings | None = None, *, chat_model: BaseChatModel | None = None
) -> FastAPI:
    """The service for `settings`; `chat_model` overrides the configured provider (tests)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings, chat_model=chat_model) as services:
            app.state.services = services
            yield

    docs = settings.serves_api_docs
    app = FastAPI(
        title="StoryStream",
        version="1.0.0",
        summary="Children's stories, written by a LangGraph workflow and streamed over SSE.",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(api_router)
    install_wire_event_schemas(app)
    # Last: the web app's files and its single-page fallback (issue 14).
    install_web_app(app, settings.web_dist)
    install_http_hardening(app, settings)
    install_ticket_redaction()
    # Outermost: request ids, HTTP metrics and traces cover the refusals of the layers inside.
    install_observability(app, settings)
    return app


def install_http_hardening(app: FastAPI, settings: Settings) -> None:
    """Request bounds, then CORS (only for the configured origins), then security headers on
    every answer, including the refusals of the layers inside."""
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
    )
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            # Bearer tokens, never cookies: no credentials mode.
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            expose_headers=["Location", "Retry-After", "X-Run-Id"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
