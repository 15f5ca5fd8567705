"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from backend.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from backend.db.models import ReadingLevel, RunStatus, StoryLength

# Ids fit a 32-bit signed integer column on every database.
MAX_ID = 2**31 - 1
MIN_CHILD_AGE = 3
MAX_CHILD_AGE = 12

# Names, topics and titles are placed in prompts as quoted data: letters (any script), digits,
# spaces and light punctuation only, so they cannot carry markup or control characters.
_SAFE_TEXT = r"^[\w][\w .,'!?&:\-]*$"
ChildName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[^\W\d_][\w .'\-]*$"
    ),
]
Topic = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=_SAFE_TEXT)
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=_SAFE_TEXT)
]
ThemeTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=60, pattern=_SAFE_TEXT)
]
ThemeDescription = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=300, pattern=_SAFE_TEXT)
]
# Run and device-token ids are hex strings; anything else never reaches the database.
RUN_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
DEVICE_TOKEN_ID_PATTERN = r"^[0-9a-f]{32}$"
ThemeId = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9_\-]+$")]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorBody(BaseModel):
    detail: str


Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"model": ErrorBody, "description": "Not found, or not yours."}}
TOO_MANY_ATTEMPTS: Responses = {
    429: {
        "model": ErrorBody,
        "description": "Too many attempts: wait the back-off given in `Retry-After` (seconds).",
    }
}


# --- accounts ------------------------------------------------------------------------------


class Credentials(BaseModel):
    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class RegistrationAccepted(BaseModel):
    detail: str


class ParentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    created_at: datetime


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class DeviceTokenCreate(BaseModel):
    label: Topic = Field(default="reading app", description="Which device this is, for parents.")


class DeviceTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    child_id: int
    label: str
    created_at: datetime
    revoked_at: datetime | None


class DeviceTokenCreated(DeviceTokenRead):
    token: str = Field(description="Shown once: give it to the child's reading app.")


class StreamTicketCreate(BaseModel):
    """Exactly one of `child_id` (start or join that child's streams) or `run_id` (join one run)."""

    child_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    run_id: str | None = Field(default=None, pattern=RUN_ID_PATTERN)

    @model_validator(mode="after")
    def _exactly_one_scope(self) -> Self:
        if (self.child_id is None) == (self.run_id is None):
            raise ValueError("give exactly one of child_id or run_id")
        return self


class StreamTicket(BaseModel):
    ticket: str
    expires_at: datetime


# --- children and themes -----------------------------------------------------------------


class ContentSettings(BaseModel):
    reading_level: ReadingLevel | None = Field(
        default=None, description="Defaults from age: up to 6 beginner, up to 9 intermediate."
    )
    interests: list[Topic] = Field(default_factory=list, max_length=10)
    blocked_topics: list[Topic] = Field(default_factory=list, max_length=20)
    allow_mild_peril: bool = False
    story_length: StoryLength = "medium"


class ChildCreate(ContentSettings):
    name: ChildName = Field(description="The child's first name.")
    age: int = Field(ge=MIN_CHILD_AGE, le=MAX_CHILD_AGE, description="Age in years (3-12).")


class ChildUpdate(BaseModel):
    name: ChildName | None = None
    age: int | None = Field(default=None, ge=MIN_CHILD_AGE, le=MAX_CHILD_AGE)
    reading_level: ReadingLevel | None = None
    interests: list[Topic] | None = Field(default=None, max_length=10)
    blocked_topics: list[Topic] | None = Field(default=None, max_length=20)
    allow_mild_peril: bool | None = None
    story_length: StoryLength | None = None


class ChildRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    age: int
    reading_level: str
    interests: list[str]
    blocked_topics: list[str]
    allow_mild_peril: bool
    story_length: str
    allowed_theme_ids: list[str]
    created_at: datetime


class ThemeRead(BaseModel):
    id: str
    title: str
    description: str
    min_age: int
    max_age: int
    custom: bool = False


class AllowedThemes(BaseModel):
    theme_ids: list[ThemeId] = Field(max_length=100)


class CustomThemeCreate(BaseModel):
    title: ThemeTitle
    description: ThemeDescription


# --- stories, series, runs -----------------------------------------------------------------


class StoryParams(BaseModel):
    """What to write: accepted as a JSON body by `POST /runs` and as query parameters by the
    `generate/stream` endpoint."""

    child_id: int = Field(
        ge=1, le=MAX_ID, description="The child profile the chapter is written for."
    )
    theme: ThemeId | None = Field(
        default=None, description="A theme id from GET /themes; required to start a new series."
    )
    chapter_number: int | None = Field(
        default=None, ge=1, le=100, description="1 starts a new series; N+1 continues one."
    )
    series_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The series to continue."
    )
    choice: int | None = Field(
        default=None, ge=1, le=3, description="Record this choice on the previous chapter first."
    )
    title: Title | None = Field(
        default=None, description="Title of a new series; defaults to one made from the theme."
    )
    gate: Literal["sentence", "none"] = Field(
        default="sentence",
        description="'sentence': text arrives sentence by sentence, each checked first. "
        "'none': raw tokens, for a parent's preview only (403 for a child's device or child "
        "ticket); such a run is never shown on a child's device.",
    )


class RunCreated(BaseModel):
    run_id: str
    stream_url: str


class RunRead(BaseModel):
    id: str
    child_id: int
    series_id: int | None
    theme: str
    chapter_number: int
    title: str
    status: RunStatus
    gate: Literal["sentence", "none"] | None = Field(
        description="The streaming gate; 'none' is a parent's preview. Null for runs from "
        "before the gate was recorded (never shown on a child's device)."
    )
    provider: str
    model: str
    error_code: str | None
    error_message: str | None = Field(
        description="Why the run failed. A child's app gets a fixed message per error code, "
        "never the model's error text."
    )
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


class StorySummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    child_id: int
    series_id: int | None
    theme: str
    chapter_number: int
    title: str
    summary: str = Field(
        description="What happened in this chapter: the story so far that the next chapter's "
        "prompt gets."
    )
    summary_source: str | None = Field(
        default=None,
        description="'model': written by the story model with the chapter's question and "
        "choices; 'extract': the chapter's opening and last sentences, when the model gave no "
        "valid summary. Null for chapters stored before summaries were recorded.",
    )
    content_approved: bool = Field(description="False: a rejected draft, shown to parents only.")
    chosen_choice: int | None
    read_at: datetime | None
    favourite: bool
    created_at: datetime


class StoryRead(StorySummary):
    run_id: str
    content: str
    choice_question: str
    choices: list[str]
    choices_source: str
    chosen_at: datetime | None
    safety_score: float
    safety_issues: list[dict[str, object]]
    repairs: list[dict[str, object]] = Field(
        description="Sentences the safety gate held back while the chapter streamed and the model "
        "wrote again in place, each with the draft and the problem categories (never the text)."
    )
    word_count: int | None
    readability_grade: float | None
    vocabulary_level: str | None
    estimated_reading_time: float | None
    educational_elements: list[str] | None


class ChoiceMade(BaseModel):
    choice: int = Field(ge=1, le=3, description="1-based index into the chapter's choices.")


class FavouriteSet(BaseModel):
    favourite: bool


class SeriesRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    child_id: int
    theme: str
    title: str
    created_at: datetime
    updated_at: datetime
    chapters: int = Field(description="Chapters the caller can see.")


class SeriesDetail(SeriesRead):
    chapter_list: list[StorySummary]
