"""Runs the Alembic migrations shipped in `backend/db/migrations` against a database URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from backend.db.engine import ensure_sqlite_folder

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Blocking: call from a worker thread (the migration environment runs its own event loop)."""
    ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


def main() -> None:
    """`python -m backend.db.migrate`: bring the configured database up to date."""
    from backend.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise SystemExit(f"StoryStream cannot migrate: {exc}") from None
    upgrade_database(settings.database_url)
    print(f"database is up to date: {settings.database_url}")


if __name__ == "__main__":
    main()
