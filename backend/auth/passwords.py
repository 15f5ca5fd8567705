"""Password hashing with Argon2 (pwdlib's recommended hasher)."""

from __future__ import annotations

from functools import cache

from pwdlib import PasswordHash

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher().verify(password, password_hash)
