"""Password hashing with Argon2 (pwdlib's recommended hasher), off the event loop.

An Argon2 hash takes about 140 ms of CPU by design. Run on the event loop, a burst of wrong
logins stalled every open story stream and pushed `/healthz` from 3 ms to 224 ms (issue 13). The
async functions here hash on a small pool of worker threads instead: argon2-cffi releases the
GIL, and a pool smaller than the core count leaves a core for the event loop.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from pwdlib import PasswordHash

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def default_hash_workers() -> int:
    """Half the cores, at least one: the rest stay free for the event loop and the model."""
    return max(1, (os.cpu_count() or 2) // 2)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher().verify(password, password_hash)


class PasswordHashing:
    """Hashes and verifies passwords on `workers` threads; excess requests wait their turn."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="password-hash")

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, hash_password, password)

    async def verify(self, password: str, password_hash: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, verify_password, password, password_hash
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
