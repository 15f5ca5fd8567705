"""Fresh databases for tests: a SQLite file, or a PostgreSQL database cloned from a migrated
template (one template per test session, so each test pays only a CREATE DATABASE)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import asyncpg
import pytest

from backend.db.migrate import upgrade_database

POSTGRES_ADMIN_URL = os.environ.get(
    "STORYSTREAM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
TEMPLATE = f"storystream_template_{os.getpid()}"


def sqlite_url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'storystream.db'}"


def _async_url(database: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{database}"


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def admin_statement(statement: str) -> None:
    """Run one statement as the test PostgreSQL's administrator (to inject faults, say)."""
    await _admin(statement)


@cache
def _postgres_problem() -> str | None:
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc})"
    return None


@cache
def _template() -> str:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}"'))
    asyncio.run(_admin(f'CREATE DATABASE "{TEMPLATE}"'))
    upgrade_database(_async_url(TEMPLATE))
    return TEMPLATE


def drop_template() -> None:
    if _template.cache_info().currsize:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)'))


@contextmanager
def postgres_database() -> Iterator[str]:
    problem = _postgres_problem()
    if problem:
        pytest.skip(f"{problem}; the SQLite run of this test still ran")
    name = f"storystream_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_template()}"'))
    try:
        yield _async_url(name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


REDIS_URL = os.environ.get("STORYSTREAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@cache
def _redis_problem() -> str | None:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except (RedisError, OSError) as exc:
        return f"Redis is not reachable at {REDIS_URL} ({exc})"
    return None


def redis_url() -> str:
    """The test Redis, or a skip that says why."""
    problem = _redis_problem()
    if problem:
        pytest.skip(problem)
    return REDIS_URL
