"""Persistence: SQLAlchemy 2.0 asyncio models, engine and Alembic migrations."""
