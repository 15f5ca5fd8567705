"""Builds the FastAPI application from settings; `create_app` is what tests and `main` call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from langchain_core.language_models import BaseChatModel

from backend.access_log import install_ticket_redaction
from backend.api.errors import install_error_handlers
from backend.api.health import router as health_router
from backend.api.router import api_router
from backend.api.wire_schema import install_wire_event_schemas
from backend.auth.passwords import PasswordHashing, default_hash_workers
from backend.auth.throttle import BackoffPolicy, SignInThrottle, throttle_storage
from backend.auth.tokens import TokenService
from backend.db.engine import create_engine, create_session_factory
from backend.db.migrate import upgrade_database
from backend.quotas import FamilyQuotas
from backend.redis_clients import dedicated_client, pooled_client
from backend.request_limits import RequestLimits
from backend.runs.cancel_relay import RedisCancelRelay
from backend.runs.executor import RunEnvironment, RunTimeouts, run_slots
from backend.runs.log import InMemoryEventLog, RunEventLog
from backend.runs.manager import RunManager
from backend.runs.persistence import RetryPolicy
from backend.runs.redis_log import RedisEventLog
from backend.runs.runners import OrphanSweeper, RedisHeartbeats, new_runner_id
from backend.security_headers import SecurityHeaders
from backend.services import Services
from backend.settings import Settings, load_settings
from backend.web import install_web_app
from workflows.context import StoryContext
from workflows.graph import graph
from workflows.metrics import warm_up
from workflows.providers import BuiltModel, ProviderConfig, build_chat_model, resolve_provider
from workflows.providers.factory import build_judge, resolve_judge
from workflows.safety.classifier import load_semantic_check

logger = logging.getLogger(__name__)

API_DESCRIPTION = """
StoryStream writes children's stories with a LangGraph workflow (generate → safety_check →
metrics) and streams them token by token as Server-Sent Events.

Every generation is a **run**: it goes on whether or not a client is connected, and any client
can join or resume its stream with `Last-Event-ID`. Each stream ends with exactly one
`complete` or `error` event.
"""


def _hosts(config: ProviderConfig) -> int:
    return len(config.ollama_hosts) if config.name == "ollama" else 1


def build_event_log(settings: Settings) -> RunEventLog:
    """Redis Streams when STORYSTREAM_REDIS_URL is set (several replicas), else in memory."""
    if settings.redis_url is None:
        return InMemoryEventLog(settings.event_log_retention_seconds)
    return RedisEventLog(
        pooled_client(settings.redis_url),
        dedicated_client(settings.redis_url),
        retention_seconds=settings.event_log_retention_seconds,
        # A run whose writer died still expires: its longest life plus the retention.
        live_ttl_seconds=settings.run_timeout_seconds + settings.event_log_retention_seconds,
    )


def token_service(settings: Settings) -> TokenService:
    return TokenService(
        settings.signing_key,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
        ticket_ttl=timedelta(seconds=settings.stream_ticket_seconds),
    )


def sign_in_throttle(settings: Settings) -> SignInThrottle:
    def policy(free_attempts: int) -> BackoffPolicy:
        return BackoffPolicy(
            free_attempts=free_attempts,
            base_seconds=settings.login_backoff_seconds,
            max_seconds=settings.login_backoff_max_seconds,
        )

    return SignInThrottle(
        throttle_storage(settings.redis_url),
        account=policy(settings.login_free_attempts),
        address=policy(settings.login_free_attempts_per_address),
        registration=policy(settings.registration_free_attempts_per_address),
    )


def provider_config(settings: Settings) -> ProviderConfig:
    return ProviderConfig(
        name=settings.llm_provider,
        ollama_base_url=settings.ollama_base_url,
        ollama_model=settings.ollama_model,
        temperature=settings.llm_temperature,
        max_tokens=settings.max_story_tokens,
        local_model_path=settings.local_model_path,
        local_capacity=settings.local_capacity,
        local_threads=settings.local_threads,
        local_context_tokens=settings.local_context_tokens,
        local_temperature=settings.local_temperature,
        local_repeat_penalty=settings.local_repeat_penalty,
        scripted_text=settings.scripted_text,
        scripted_retry_text=settings.scripted_retry_text,
        scripted_repair_text=settings.scripted_repair_text,
        scripted_ending_text=settings.scripted_ending_text,
        scripted_tokens_per_second=settings.scripted_tokens_per_second,
        scripted_fail_at_token=settings.scripted_fail_at_token,
    )


async def _story_model(
    settings: Settings, override: BaseChatModel | None
) -> tuple[ProviderConfig, BuiltModel]:
    """Resolve `auto`, build the chat model and load the embedded model before the first story."""
    if override is not None:
        config = provider_config(settings)
        return replace(config, chosen_because="given by the caller"), BuiltModel(override)
    config = await resolve_provider(provider_config(settings))
    built = build_chat_model(config)
    if built.pool is not None:
        try:
            await built.pool.warm_up()
        except Exception as exc:
            logger.warning("the embedded story model did not load: %s", exc)
    return config, built


async def _start_orphan_recovery(
    settings: Settings, environment: RunEnvironment, runner_id: str
) -> tuple[RedisHeartbeats | None, OrphanSweeper | None]:
    """End the runs of processes that died: at start-up when this is the only process (no
    Redis); with Redis, whenever a replica's heartbeat has been missing for its lifetime."""
    heartbeats = None
    if settings.redis_url is not None:
        heartbeats = RedisHeartbeats(
            pooled_client(settings.redis_url), runner_id, settings.runner_heartbeat_seconds
        )
        await heartbeats.start()
    if not settings.interrupt_orphaned_runs:
        return heartbeats, None
    sweeper = OrphanSweeper(
        sessions=environment.sessions,
        event_log=environment.event_log,
        runner_id=runner_id,
        heartbeats=heartbeats,
    )
    await sweeper.sweep()
    if heartbeats is not None:
        sweeper.start(interval_seconds=settings.runner_heartbeat_seconds / 3)
    return heartbeats, sweeper


def create_app(
    settings: Settings | None = None, *, chat_model: BaseChatModel | None = None
) -> FastAPI:
    """The service for `settings`; `chat_model` overrides the configured provider (tests)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await asyncio.to_thread(upgrade_database, settings.database_url)
        await asyncio.to_thread(warm_up)
        # The sentence encoder (about 90 MB) loads before the first story, off the event loop.
        classifier = await asyncio.to_thread(load_semantic_check)
        engine = create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout_seconds=settings.database_pool_timeout_seconds,
        )
        sessions = create_session_factory(engine)
        event_log = build_event_log(settings)
        config, built = await _story_model(settings, chat_model)
        judge = await resolve_judge(settings.safety_judge, config, settings.safety_judge_model)
        environment = RunEnvironment(
            event_log=event_log,
            sessions=sessions,
            graph=graph,
            context=StoryContext(
                model=built.model,
                classifier=classifier,
                max_repairs=settings.safety_max_repairs,
                judge=build_judge(judge.kind, config, built.model, settings.safety_judge_model),
                profile=built.profile,
            ),
            timeouts=RunTimeouts(
                first_token_seconds=settings.first_token_timeout_seconds,
                idle_seconds=settings.idle_timeout_seconds,
                total_seconds=settings.run_timeout_seconds,
            ),
            max_attempts=settings.safety_max_attempts,
            # "Per story model host": several Ollama hosts take that many stories each.
            slots=run_slots(settings.max_concurrent_runs * _hosts(config)),
            persist_retry=RetryPolicy(
                attempts=settings.persist_attempts,
                first_delay_seconds=settings.persist_first_delay_seconds,
            ),
        )
        runner_id = new_runner_id()
        runs = RunManager(
            environment,
            provider=config.name,
            model=config.model_label,
            runner_id=runner_id,
            max_live_runs=settings.max_concurrent_runs + settings.max_queued_runs,
            family_runs_in_flight=settings.family_runs_in_flight,
        )
        heartbeats, sweeper = await _start_orphan_recovery(settings, environment, runner_id)
        relay = None
        if isinstance(event_log, RedisEventLog) and settings.redis_url is not None:
            relay = RedisCancelRelay(pooled_client(settings.redis_url), runs.cancel)
            await relay.start()
        quotas = FamilyQuotas(
            settings.family_runs_per_minute,
            settings.family_concurrent_streams,
            settings.redis_url,
        )
        passwords = PasswordHashing(settings.password_hash_workers or default_hash_workers())
        app.state.services = Services(
            settings=settings,
            engine=engine,
            sessions=sessions,
            event_log=event_log,
            runs=runs,
            provider=config,
            tokens=token_service(settings),
            quotas=quotas,
            passwords=passwords,
            sign_in=sign_in_throttle(settings),
            remote_cancel=relay.request if relay is not None else None,
            judge=judge,
        )
        logger.info(
            "StoryStream ready: story model %s (%s) - %s; safety judge %s - %s",
            config.name,
            config.model_label,
            config.chosen_because,
            judge.kind,
            judge.chosen_because,
        )
        try:
            yield
        finally:
            if sweeper is not None:
                await sweeper.aclose()
            await runs.shutdown(settings.shutdown_grace_seconds)
            if heartbeats is not None:
                await heartbeats.aclose()
            if relay is not None:
                await relay.aclose()
            await quotas.aclose()
            passwords.close()
            await event_log.aclose()
            built.close()
            await engine.dispose()

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
    install_web_app(app)
    install_http_hardening(app, settings)
    install_ticket_redaction()
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
