"""The typed state that flows through the story graph, and the request that starts it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

Severity = Literal["low", "medium", "high"]


class ThemeSpec(TypedDict):
    id: str
    title: str
    description: str
    guidance: str
    fallback_question: str
    fallback_choices: list[str]


class StoryRequest(TypedDict):
    """What a run asks the workflow for; user-supplied text here is data, never instructions."""

    child_name: str
    child_age: int
    reading_level: Literal["beginner", "intermediate", "advanced"]
    interests: list[str]
    blocked_topics: list[str]
    allow_mild_peril: bool
    story_length: Literal["short", "medium", "long"]
    theme: ThemeSpec
    # "sentence": tokens reach the client only after their sentence passed the fast checks;
    # "none": a parent's preview, raw tokens.
    gate: Literal["sentence", "none"]
    chapter_number: int
    title: str
    previous_summary: str | None
    chosen_choice: str | None


class SafetyIssue(TypedDict):
    category: str
    severity: Severity
    term: str
    span: tuple[int, int]


class SafetyReport(TypedDict):
    approved: bool
    score: float
    issues: list[SafetyIssue]


class StoryMetrics(TypedDict):
    word_count: int
    estimated_reading_time: float
    readability_grade: float  # Flesch-Kincaid
    reading_ease: float  # Flesch, 0-100, higher is easier
    spache_grade: float | None  # for the youngest readers
    target_grade_min: float
    target_grade_max: float
    fits_reader: bool
    vocabulary_level: Literal["beginner", "intermediate", "advanced"]
    educational_elements: list[str]


class TokenUsage(TypedDict):
    input_tokens: int
    output_tokens: int
    total_tokens: int


@dataclass
class BlockedSentence:
    """A sentence the gate held back, and why (the sentence never reaches the child)."""

    sentence: str
    issues: list[SafetyIssue]


class Repair(TypedDict):
    """A sentence the gate held back and the model wrote again in place: why, and in which
    draft. The sentence itself is not kept."""

    attempt: int
    categories: list[str]


class StoryState(TypedDict, total=False):
    request: StoryRequest
    max_attempts: int
    attempt: int
    # The chapter as the client was shown it; for a blocked draft its whole body (for parents).
    story_text: str
    blocked: BlockedSentence | None
    # Every repair of the chapter so far, across drafts.
    repairs: list[Repair]
    # The structured ending (workflows.ending): from the model, or the theme's when the model
    # gave no valid, safe one after a retry.
    choice_question: str
    choices: list[str]
    choices_source: Literal["model", "theme"]
    # What happened in this chapter, for the next one's prompt: the model's, or an extract of
    # the chapter when the structured call gave none.
    summary: str
    summary_source: Literal["model", "extract"]
    usage: TokenUsage | None
    safety: SafetyReport
    metrics: StoryMetrics
