"""Sign-in throttling: exponential back-off per account and per client address (issue 13).

Counts live in a `limits` storage: this process's memory, or Redis so that every replica sees the
same counts. An account gets `free` login attempts; each attempt past those opens a back-off
period (base, doubling with every further attempt, capped), during which its logins are refused
with 429 and Retry-After without checking the password, so a guesser gets one try per period.
The count is taken when an attempt is let through, so a burst of concurrent guesses cannot slip
past the free attempts together. A successful login clears the account's count. A client address
is counted the same way on its failed logins (across accounts), and on its registrations.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, status
from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from backend.redis_clients import DEFAULT_REDIS_NAMESPACE, redis_key

# Attempts are forgotten an hour after the first one of a series.
ATTEMPTS_REMEMBERED_SECONDS = 3600


@dataclass(frozen=True)
class BackoffPolicy:
    free_attempts: int
    base_seconds: float
    max_seconds: float

    def period(self, attempts_over: int) -> float:
        """The back-off opened by the `attempts_over`-th attempt past the free ones (1-based)."""
        if attempts_over > 64:
            return self.max_seconds
        return min(self.max_seconds, self.base_seconds * 2.0 ** (attempts_over - 1))


def too_many_attempts(what: str, wait_seconds: float) -> HTTPException:
    retry_after = max(1, math.ceil(wait_seconds))
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many {what}; try again in {retry_after} "
        f"{'second' if retry_after == 1 else 'seconds'}",
        headers={"Retry-After": str(retry_after)},
    )


class Backoff:
    """Attempt counts and back-off periods under one key prefix of a `limits` storage."""

    def __init__(self, storage: Storage, prefix: str, policy: BackoffPolicy) -> None:
        self._storage = storage
        self._prefix = prefix
        self.policy = policy
        # Redis expires keys in whole seconds; memory keeps fractions (tests use short periods).
        self._whole_seconds = isinstance(storage, RedisStorage)

    def _expiry(self, seconds: float) -> Any:
        # `limits` types expiry as int, which Redis needs; its memory storage takes a float.
        return math.ceil(seconds) if self._whole_seconds else seconds

    def _keys(self, subject: str) -> tuple[str, str]:
        return f"{self._prefix}/attempts/{subject}", f"{self._prefix}/wait/{subject}"

    async def waiting(self, subject: str) -> float:
        """Seconds until `subject` may try again; 0 when it may now."""
        _, wait_key = self._keys(subject)
        if await self._storage.get(wait_key) == 0:
            return 0.0
        return max(0.0, await self._storage.get_expiry(wait_key) - time.time())

    async def admit(self, subject: str) -> float:
        """Count an attempt and let it through (0), or say how long to wait (refused, uncounted)."""
        wait = await self.waiting(subject)
        if wait > 0:
            return wait
        if not await self.count(subject):
            # A concurrent attempt opened the period first.
            return max(await self.waiting(subject), 0.001)
        return 0.0

    async def count(self, subject: str) -> bool:
        """Count an attempt; past the free ones it opens a back-off period. False when another
        attempt had opened one already (this one is refused)."""
        attempts_key, wait_key = self._keys(subject)
        attempts = await self._storage.incr(attempts_key, self._expiry(ATTEMPTS_REMEMBERED_SECONDS))
        over = attempts - self.policy.free_attempts
        if over <= 0:
            return True
        period = self.policy.period(over)
        opened = await self._storage.incr(wait_key, self._expiry(period))
        return opened == 1

    async def reset(self, subject: str) -> None:
        for key in self._keys(subject):
            await self._storage.clear(key)


def throttle_storage(
    redis_url: str | None, redis_namespace: str = DEFAULT_REDIS_NAMESPACE
) -> Storage:
    if redis_url:
        return RedisStorage(
            redis_url.replace("redis://", "async+redis://", 1),
            key_prefix=redis_key(redis_namespace, "sign-in"),
        )
    return MemoryStorage()


class SignInThrottle:
    """Back-off for logins (per account and per client address) and registrations (per address)."""

    def __init__(
        self,
        storage: Storage,
        *,
        account: BackoffPolicy,
        address: BackoffPolicy,
        registration: BackoffPolicy,
    ) -> None:
        self._accounts = Backoff(storage, "sign-in/account", account)
        self._addresses = Backoff(storage, "sign-in/address", address)
        self._registrations = Backoff(storage, "register/address", registration)

    async def admit_login(self, account: str, address: str) -> None:
        """Let a login attempt through to the password check, or refuse it with 429."""
        address_wait = await self._addresses.waiting(address)
        if address_wait > 0:
            raise too_many_attempts("failed sign-ins from this address", address_wait)
        account_wait = await self._accounts.admit(account)
        if account_wait > 0:
            raise too_many_attempts("sign-in attempts for this account", account_wait)

    async def login_failed(self, address: str) -> None:
        await self._addresses.count(address)

    async def login_succeeded(self, account: str) -> None:
        await self._accounts.reset(account)

    async def admit_registration(self, address: str) -> None:
        wait = await self._registrations.admit(address)
        if wait > 0:
            raise too_many_attempts("registrations from this address", wait)
