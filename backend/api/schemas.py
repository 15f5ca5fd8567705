"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backend.db.models import RunStatus

MIN_CHILD_AGE = 3
MAX_CHILD_AGE = 12


class ChildCreate(BaseModel):
    name: str = Field(min_length=1, max_length=60, description="The child's first name.")
    age: int = Field(ge=MIN_CHILD_AGE, le=MAX_CHILD_AGE, description="Age in years (3-12).")


class ChildRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    age: int
    created_at: datetime


class ThemeRead(BaseModel):
    id: str
    title: str
    description: str
    min_age: int
    max_age: int


class StoryParams(BaseModel):
    """What to write: accepted as a JSON body by `POST /runs` and as query parameters by the
    `generate/stream` endpoint."""

    child_id: int = Field(ge=1, description="The child profile the chapter is written for.")
    theme: str = Field(min_length=1, max_length=40, description="A theme id from GET /themes.")
    chapter_number: int = Field(default=1, ge=1, le=100)
    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        description="Story title; defaults to the previous chapter's or one made from the theme.",
    )


class RunCreated(BaseModel):
    run_id: str
    stream_url: str


class RunRead(BaseModel):
    id: str
    child_id: int
    theme: str
    chapter_number: int
    title: str
    status: RunStatus
    provider: str
    model: str
    error_code: str | None
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    time_to_first_token_ms: int | None
    total_ms: int | None
    input_tokens: int | None
    output_tokens: int | None
    story_id: int | None
    stream_url: str
    last_event_id: int | None = Field(
        description="Sequence number of the newest event, while the run's events are kept."
    )


class RunCancelled(BaseModel):
    run_id: str
    status: str = Field(description="'cancelling': the run stops and ends with a CANCELLED event.")


class StoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: str
    child_id: int
    theme: str
    chapter_number: int
    title: str
    content: str
    choice_question: str
    choices: list[str]
    choices_source: str
    content_approved: bool
    safety_score: float
    safety_issues: list[dict[str, object]]
    word_count: int | None
    readability_grade: float | None
    vocabulary_level: str | None
    estimated_reading_time: float | None
    educational_elements: list[str] | None
    created_at: datetime


class ErrorBody(BaseModel):
    detail: str
