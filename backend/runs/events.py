"""The typed events of the wire contract (v1); each serialises to the JSON of an SSE `data:`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

NodeName = Literal["workflow", "generate", "ending", "safety_check", "metrics"]
NodeStatus = Literal["queued", "started", "completed", "retrying", "repairing"]
ErrorCode = Literal[
    "LLM_UNAVAILABLE",
    "LLM_ERROR",
    "TIMEOUT",
    "CANCELLED",
    "SAFETY_REJECTED",
    "INTERRUPTED",
    "PERSIST_FAILED",
    "OVERLOADED",
]
EventType = Literal["node", "content", "reset", "safety", "metadata", "complete", "error"]
TERMINAL_EVENT_TYPES: frozenset[str] = frozenset({"complete", "error"})


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class NodeEvent(_Event):
    type: Literal["node"] = "node"
    node: NodeName
    status: NodeStatus
    progress: int = Field(ge=0, le=100)
    run_id: str | None = None
    position: int | None = None


class ContentEvent(_Event):
    type: Literal["content"] = "content"
    chunk: str
    attempt: int


class ResetEvent(_Event):
    type: Literal["reset"] = "reset"
    reason: str
    attempt: int


class SafetyIssueOut(_Event):
    category: str
    severity: Literal["low", "medium", "high"]
    term: str
    span: tuple[int, int]


class SafetyEvent(_Event):
    type: Literal["safety"] = "safety"
    approved: bool
    score: float = Field(ge=0.0, le=1.0)
    issues: list[SafetyIssueOut]
    status: Literal["approved", "rejected"]


class MetadataEvent(_Event):
    type: Literal["metadata"] = "metadata"
    estimated_reading_time: float
    vocabulary_level: str
    readability_grade: float
    reading_ease: float
    spache_grade: float | None
    target_grade_min: float
    target_grade_max: float
    fits_reader: bool
    word_count: int
    educational_elements: list[str]


class Usage(_Event):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class Timings(_Event):
    time_to_first_token_ms: int | None
    total_ms: int


class CompletedStory(_Event):
    id: int
    run_id: str
    child_id: int
    series_id: int | None
    theme: str
    title: str
    content: str
    choices: list[str]
    choice_question: str
    choices_source: Literal["model", "theme"]
    chapter_number: int
    safety_score: float
    content_approved: bool
    vocabulary_level: str | None
    readability_grade: float | None
    word_count: int | None
    estimated_reading_time: float | None
    educational_elements: list[str]
    usage: Usage | None
    timings: Timings


class CompleteEvent(_Event):
    type: Literal["complete"] = "complete"
    story: CompletedStory


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    message: str
    error_code: ErrorCode
    retryable: bool


WireEvent = Annotated[
    NodeEvent
    | ContentEvent
    | ResetEvent
    | SafetyEvent
    | MetadataEvent
    | CompleteEvent
    | ErrorEvent,
    Field(discriminator="type"),
]


def event_json(event: WireEvent) -> str:
    """The `data:` payload: compact JSON whose `type` equals the SSE event name."""
    return event.model_dump_json(exclude_none=event.type == "node")
