"""The async engine and session factory for the configured database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]


def ensure_sqlite_folder(database_url: str) -> None:
    """A SQLite file under ./var/ should just work on a fresh clone."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and not _in_memory_sqlite(database_url):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _in_memory_sqlite(database_url: str) -> bool:
    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


# A writer waiting for SQLite's one write lock waits this long before "database is locked":
# as long as a request may wait for a pooled connection, so that a burst queues, not fails.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(
    database_url: str,
    *,
    pool_size: int = 5,
    max_overflow: int = 10,
    pool_timeout_seconds: float = 30.0,
) -> AsyncEngine:
    """The engine, with a pool that makes requests queue for a connection when all are busy
    (for `pool_timeout_seconds`, then 503)."""
    ensure_sqlite_folder(database_url)
    sqlite = make_url(database_url).get_backend_name() == "sqlite"
    pooling: dict[str, float] = {
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        "pool_timeout": pool_timeout_seconds,
    }
    if _in_memory_sqlite(database_url):
        pooling = {}  # one shared connection (StaticPool): there is nothing to size
    # A SQLite file cannot drop a connection: pinging it costs a round trip per checkout.
    engine = create_async_engine(database_url, pool_pre_ping=not sqlite, **pooling)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: object, _record: object) -> None:
    # WAL lets readers (status, story reads) proceed while a run writes; with WAL, NORMAL
    # synchronisation is safe against corruption and spares an fsync per commit (a crash of
    # the machine, not of the process, may lose the last commits); foreign keys are off by
    # default in SQLite.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)
