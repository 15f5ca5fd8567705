"""The stored shape of families (parents, their sessions, children, device tokens, custom
themes), series, chapters (stories), runs, and the stream tickets that started them.

Ownership runs one way: a story or run belongs to a child, a child to a parent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

RunStatus = Literal["queued", "running", "completed", "failed", "cancelled", "interrupted"]
RUN_STATUSES: tuple[RunStatus, ...] = (
    "queued",
    "running",
    "completed",
    "failed",
    "cancelled",
    "interrupted",
)
FINISHED_RUN_STATUSES: frozenset[str] = frozenset(
    {"completed", "failed", "cancelled", "interrupted"}
)
ACTIVE_RUN_STATUSES: frozenset[str] = frozenset({"queued", "running"})
ReadingLevel = Literal["beginner", "intermediate", "advanced"]
StoryLength = Literal["short", "medium", "long"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database: SQLite stores no zone and hands back naive values,
    which would make the API's timestamps change shape after a round trip."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Parent(Base):
    __tablename__ = "parents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Raised by a password change: tokens carrying an older version no longer sign in.
    credentials_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefreshToken(Base):
    """One refresh token of a session (a family: the login's token and each rotation of it).
    A token works once; a second use revokes its whole family (issue 13)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Child(Base):
    __tablename__ = "children"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Nullable only for profiles made before accounts existed; nobody can reach those.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("parents.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    age: Mapped[int]
    reading_level: Mapped[str] = mapped_column(String(16), default="beginner")
    interests: Mapped[list[Any]] = mapped_column(default=list)
    blocked_topics: Mapped[list[Any]] = mapped_column(default=list)
    allow_mild_peril: Mapped[bool] = mapped_column(Boolean, default=False)
    story_length: Mapped[str] = mapped_column(String(8), default="medium")
    allowed_theme_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceToken(Base):
    """A child's reading-app credential; the token's `jti` names this row, so it can be revoked."""

    __tablename__ = "device_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class StreamTicketUse(Base):
    """A child stream ticket that started a story: it cannot start another, and joins only
    that run until it expires (issue 13)."""

    __tablename__ = "stream_ticket_uses"

    ticket_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class CustomTheme(Base):
    __tablename__ = "custom_themes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Series(Base):
    __tablename__ = "series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), index=True)
    theme: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), index=True)
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), index=True
    )
    theme: Mapped[str] = mapped_column(String(40))
    chapter_number: Mapped[int]
    title: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    provider: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(120))
    # The process executing the run (see backend.runs.runners); NULL before revision 0003.
    runner: Mapped[str | None] = mapped_column(String(80), index=True)
    # The streaming gate: "sentence", or "none" for a parent's preview; NULL before revision
    # 0004, and such a run is never shown on a child's device.
    gate: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    time_to_first_token_ms: Mapped[int | None]
    total_ms: Mapped[int | None]
    input_tokens: Mapped[int | None]
    output_tokens: Mapped[int | None]


class Story(Base):
    """One chapter of a series, as written by one run (approved, or a rejected draft)."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), unique=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), index=True)
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), index=True
    )
    theme: Mapped[str] = mapped_column(String(40))
    chapter_number: Mapped[int]
    title: Mapped[str] = mapped_column(String(120))
    content: Mapped[str] = mapped_column(Text)
    # "The story so far" for the next chapter. summary_source: "model" (the chapter's structured
    # ending) or "extract" (its opening and last sentences); NULL before revision 0006.
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_source: Mapped[str | None] = mapped_column(String(16))
    choice_question: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[Any]]
    choices_source: Mapped[str] = mapped_column(String(16))
    chosen_choice: Mapped[int | None]
    chosen_at: Mapped[datetime | None]
    content_approved: Mapped[bool]
    safety_score: Mapped[float]
    safety_issues: Mapped[list[Any]]
    # Sentences held back and written again in place: [{attempt, categories}], for parents.
    repairs: Mapped[list[Any]] = mapped_column(default=list)
    word_count: Mapped[int | None]
    readability_grade: Mapped[float | None]
    vocabulary_level: Mapped[str | None] = mapped_column(String(16))
    estimated_reading_time: Mapped[float | None]
    educational_elements: Mapped[list[Any] | None]
    read_at: Mapped[datetime | None]
    favourite: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PairingCode(Base):
    """A short code a parent shows to pair a child's reading app (issue 14): valid for minutes,
    claimed once. Only its digest is stored."""

    __tablename__ = "pairing_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    claimed_at: Mapped[datetime | None]


# The tables themselves, for the run pipeline's Core statements (a run's start and end, every
# chapter): a statement on a mapped class takes the ORM's bulk path, about a quarter more CPU
# per statement through aiosqlite than the same statement on its table (measured).
RUNS = cast(Table, Run.__table__)
SERIES = cast(Table, Series.__table__)
STORIES = cast(Table, Story.__table__)
