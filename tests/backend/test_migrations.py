from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect

from backend.db.migrate import alembic_config, upgrade_database


def test_migrations_create_every_table_and_downgrade_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "story.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_database(url)
    engine = create_engine(f"sqlite:///{path}")
    assert {"children", "runs", "stories", "alembic_version"} <= set(
        inspect(engine).get_table_names()
    )
    command.downgrade(alembic_config(url), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_models_match_the_migrations(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'check.db'}"
    upgrade_database(url)
    command.check(alembic_config(url))  # raises when a model change has no migration
