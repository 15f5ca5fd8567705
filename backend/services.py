"""The long-lived parts of a running service, built once at start-up and shared by requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.passwords import PasswordHashing
from backend.auth.throttle import SignInThrottle
from backend.auth.tokens import TokenService
from backend.db.engine import SessionFactory
from backend.quotas import FamilyQuotas
from backend.runs.log import RunEventLog
from backend.runs.manager import RunManager
from backend.settings import Settings
from workflows.providers import ProviderConfig
from workflows.providers.factory import JudgeChoice


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
