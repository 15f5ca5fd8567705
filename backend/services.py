"""The long-lived parts of a running service, built once at start-up and shared by requests.

`open_services` is the one way to build them: the app's lifespan, the CLI (through the app) and
the tests all go through it. Each part is registered on one `AsyncExitStack` as soon as it is
opened, so a start that fails half-way closes what it had opened, and shutdown closes everything
in the reverse order: the sweeper, then the runs (each concluding), then Redis, the event log,
the story model and the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any

from langchain_core.language_models import BaseChatModel
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.passwords import PasswordHashing, default_hash_workers
from backend.auth.throttle import BackoffPolicy, SignInThrottle, throttle_storage
from backend.auth.tokens import TokenService
from backend.db.engine import SessionFactory, create_engine, create_session_factory
from backend.db.migrate import upgrade_database
from backend.db.write_turns import NO_TURNS, WriteTurns, write_turns_for
from backend.observability import watched_event_log
from backend.quotas import FamilyQuotas
from backend.redis_clients import dedicated_client, pooled_client, redis_key
from backend.runs.cancel_relay import RedisCancelRelay
from backend.runs.executor import RunEnvironment, RunTimeouts, run_slots
from backend.runs.log import InMemoryEventLog, RunEventLog
from backend.runs.manager import RunManager
from backend.runs.persistence import transient_retry
from backend.runs.redis_log import RedisEventLog
from backend.runs.runners import OrphanSweeper, RedisHeartbeats, new_runner_id
from backend.settings import Settings
from workflows.context import StoryContext
from workflows.graph import graph
from workflows.metrics import warm_up
from workflows.providers import BuiltModel, ProviderConfig, build_chat_model, resolve_provider
from workflows.providers.factory import JudgeChoice, build_judge, resolve_judge
from workflows.safety.classifier import load_semantic_check

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    event_log: RunEventLog
    runs: RunManager
    provider: ProviderConfig
    tokens: TokenService
    quotas: FamilyQuotas
    passwords: PasswordHashing
    sign_in: SignInThrottle
    # Publishes a cancel to the replica running a run; None with a single process.
    remote_cancel: Callable[[str], Awaitable[None]] | None = None
    # The whole-chapter LLM judge in use, and why (shown by /readyz).
    judge: JudgeChoice = field(default_factory=lambda: JudgeChoice("none", "not configured"))


def _hosts(config: ProviderConfig) -> int:
    return len(config.ollama_hosts) if config.name == "ollama" else 1


def build_event_log(settings: Settings) -> RunEventLog:
    """Redis Streams when STORYSTREAM_REDIS_URL is set (several replicas), else in memory."""
    if settings.redis_url is None:
        return InMemoryEventLog(settings.event_log_retention_seconds)
    return RedisEventLog(
        pooled_client(settings.redis_url),
        dedicated_client(settings.redis_url),
        prefix=redis_key(settings.redis_namespace, "run", ""),
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
        throttle_storage(settings.redis_url, settings.redis_namespace),
        account=policy(settings.login_free_attempts),
        address=policy(settings.login_free_attempts_per_address),
        registration=policy(settings.registration_free_attempts_per_address),
    )


# The story model's settings whose name differs from their ProviderConfig field; every other
# field of ProviderConfig is a setting of the same name (STORYSTREAM_<NAME>).
_SETTING_OF_FIELD = {
    "name": "llm_provider",
    "temperature": "llm_temperature",
    "max_tokens": "max_story_tokens",
}


def provider_config(settings: Settings) -> ProviderConfig:
    """The story model's configuration, read from the settings."""
    values: dict[str, Any] = {
        item.name: getattr(settings.llm, _SETTING_OF_FIELD.get(item.name, item.name))
        for item in fields(ProviderConfig)
        if item.name != "chosen_because"
    }
    return ProviderConfig(**values)


async def _story_model(
    settings: Settings, override: BaseChatModel | None
) -> tuple[ProviderConfig, BuiltModel]:
    """Resolve `auto`, build the chat model and load the embedded model before the first story."""
    if override is not None:
        config = replace(provider_config(settings), chosen_because="given by the caller")
        return config, BuiltModel(override)
    config = await resolve_provider(provider_config(settings))
    built = build_chat_model(config)
    if built.pool is not None:
        try:
            await built.pool.warm_up()
        except Exception as exc:
            logger.warning("the embedded story model did not load: %s", exc)
    return config, built


def run_environment(
    settings: Settings,
    *,
    event_log: RunEventLog,
    sessions: SessionFactory,
    context: StoryContext,
    config: ProviderConfig,
    write_turns: WriteTurns = NO_TURNS,
) -> RunEnvironment:
    return RunEnvironment(
        event_log=event_log,
        sessions=sessions,
        graph=graph,
        context=context,
        timeouts=RunTimeouts(
            first_token_seconds=settings.first_token_timeout_seconds,
            idle_seconds=settings.idle_timeout_seconds,
            total_seconds=settings.run_timeout_seconds,
        ),
        max_attempts=settings.safety_max_attempts,
        write_turns=write_turns,
        # "Per story model host": several Ollama hosts take that many stories each.
        slots=run_slots(settings.max_concurrent_runs * _hosts(config)),
        persist_retry=transient_retry(
            settings.persist_attempts, settings.persist_first_delay_seconds
        ),
    )


async def _orphan_recovery(
    stack: AsyncExitStack, settings: Settings, environment: RunEnvironment, runner_id: str
) -> RedisHeartbeats | None:
    """End the runs of processes that died: at start-up when this is the only process (no
    Redis); with Redis, whenever a replica's heartbeat has been missing for its lifetime."""
    heartbeats = None
    if settings.redis_url is not None:
        heartbeats = RedisHeartbeats(
            pooled_client(settings.redis_url),
            runner_id,
            settings.runner_heartbeat_seconds,
            prefix=redis_key(settings.redis_namespace, "runner", ""),
        )
        stack.push_async_callback(heartbeats.aclose)
        await heartbeats.start()
    return heartbeats


@asynccontextmanager
async def open_services(
    settings: Settings, *, chat_model: BaseChatModel | None = None
) -> AsyncIterator[Services]:
    """Everything a running StoryStream needs, open until the block ends; `chat_model`
    overrides the configured story model (tests)."""
    if settings.auto_migrate:
        await asyncio.to_thread(upgrade_database, settings.database_url)
    await asyncio.to_thread(warm_up)
    # The sentence encoder (about 90 MB) loads before the first story, off the event loop.
    classifier = await asyncio.to_thread(load_semantic_check)
    async with AsyncExitStack() as stack:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout_seconds=settings.database_pool_timeout_seconds,
        )
        stack.push_async_callback(engine.dispose)
        sessions = create_session_factory(engine)
        # Watched for run metrics, spans and conclusion lines (issue 16: the one hook here).
        event_log = watched_event_log(build_event_log(settings))
        stack.push_async_callback(event_log.aclose)
        config, built = await _story_model(settings, chat_model)
        stack.callback(built.close)
        judge = await resolve_judge(settings.safety_judge, config, settings.safety_judge_model)
        passwords = PasswordHashing(settings.password_hash_workers or default_hash_workers())
        stack.callback(passwords.close)
        quotas = FamilyQuotas(
            settings.family_runs_per_minute,
            settings.family_concurrent_streams,
            settings.redis_url,
            redis_namespace=settings.redis_namespace,
        )
        stack.push_async_callback(quotas.aclose)
        environment = run_environment(
            settings,
            event_log=event_log,
            sessions=sessions,
            config=config,
            write_turns=write_turns_for(engine),
            context=StoryContext(
                model=built.model,
                classifier=classifier,
                max_repairs=settings.safety_max_repairs,
                judge=build_judge(judge.kind, config, built.model, settings.safety_judge_model),
                profile=built.profile,
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
        heartbeats = await _orphan_recovery(stack, settings, environment, runner_id)
        relay = None
        # With Redis the runs' logs are there too (build_event_log), and any replica may be
        # asked to cancel a run another one writes.
        if settings.redis_url is not None:
            relay = RedisCancelRelay(
                pooled_client(settings.redis_url),
                runs.cancel,
                channel=redis_key(settings.redis_namespace, "cancel"),
            )
            stack.push_async_callback(relay.aclose)
            await relay.start()
        # Before Redis and the event log close: every live run concludes first.
        stack.push_async_callback(runs.shutdown, settings.shutdown_grace_seconds)
        if settings.interrupt_orphaned_runs:
            sweeper = OrphanSweeper(
                sessions=sessions, event_log=event_log, runner_id=runner_id, heartbeats=heartbeats
            )
            stack.push_async_callback(sweeper.aclose)
            await sweeper.sweep()
            if heartbeats is not None:
                sweeper.start(interval_seconds=settings.runner_heartbeat_seconds / 3)
        logger.info(
            "StoryStream ready: story model %s (%s) - %s; safety judge %s - %s",
            config.name,
            config.model_label,
            config.chosen_because,
            judge.kind,
            judge.chosen_because,
        )
        yield Services(
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
