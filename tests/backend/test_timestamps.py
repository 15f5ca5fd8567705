from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from backend.db.engine import create_engine, create_session_factory
from backend.db.migrate import upgrade_database
from backend.db.models import Parent


async def test_timestamps_come_back_from_sqlite_as_aware_utc(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tz.db'}"
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    moment = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
    async with sessions() as session, session.begin():
        session.add(Parent(id=1, email="t@example.com", password_hash="x", created_at=moment))
    async with sessions() as session:
        loaded = await session.get(Parent, 1)
        assert loaded is not None
        assert loaded.created_at == moment
        assert loaded.created_at.tzinfo is not None
    await engine.dispose()
