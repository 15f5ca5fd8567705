"""Turns a story request into the chat messages for the model, from the templates in `prompts/`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from workflows.body_shaping import ChapterShape
from workflows.metrics import target_grade_band, target_word_count
from workflows.prompts import PromptLibrary
from workflows.state import SafetyIssue, StoryRequest

_GUIDANCE = {
    "beginner": (
        "very short sentences of five to eight words, everyday words, and gentle repetition "
        "that is fun to read aloud."
    ),
    "intermediate": "short sentences, familiar words, and a simple explanation of any new word.",
    "advanced": "clear sentences, with some rich vocabulary whose meaning is clear from the story.",
}


def reading_guidance(reading_level: str) -> str:
    return _GUIDANCE.get(reading_level, _GUIDANCE["beginner"])


def quoted(value: str) -> str:
    """User- or model-derived text for a place inside double quotes in a template: it cannot
    close its quotes or start a line of its own."""
    return " ".join(value.replace('"', "'").split())


# Which prompt files a story model gets: the production prompts, or the short ones a 135M model
# can follow (the embedded model).
PromptProfile = Literal["standard", "embedded"]


def fenced(text: str) -> str:
    """Model-written text for a place between the hash lines of a template: no hash of its own
    can close the fence early."""
    return "\n".join(line.replace("#", "") for line in text.strip().splitlines())


def _quoted_list(values: Iterable[str]) -> str:
    return ", ".join(f'"{quoted(value)}"' for value in values)


def peril_rule(allowed: bool) -> str:
    if allowed:
        return "A little gentle suspense is fine, as long as everyone is safe by the end."
    return (
        "Keep every moment calm and reassuring: no danger, no suspense about anyone getting hurt."
    )


def blocked_topics_line(topics: list[str]) -> str:
    # In the request, quoted, never in the system prompt: a parent's words are data too (#13).
    if not topics:
        return ""
    return f"Topics the child's parent has ruled out: {_quoted_list(topics)}."


def interests_line(interests: list[str]) -> str:
    if not interests:
        return ""
    return f"The child loves {_quoted_list(interests)}: weave one of these in if it fits."


def continuation_text(
    prompts: PromptLibrary, request: StoryRequest, opening: str = "story_opening"
) -> str:
    if request["chapter_number"] == 1 or not request["previous_summary"]:
        return prompts.render(opening, child_name=quoted(request["child_name"]))
    if request["chosen_choice"]:
        return prompts.render(
            "story_continuation",
            previous_chapter_number=request["chapter_number"] - 1,
            previous_summary=quoted(request["previous_summary"]),
            chosen_choice=quoted(request["chosen_choice"]),
        )
    return prompts.render(
        "story_continuation_no_choice",
        previous_chapter_number=request["chapter_number"] - 1,
        previous_summary=quoted(request["previous_summary"]),
    )


def retry_note(prompts: PromptLibrary, earlier_issues: Sequence[SafetyIssue]) -> str:
    if not earlier_issues:
        return ""
    return prompts.render("story_retry", problems=problem_names(earlier_issues))


def problem_names(issues: Sequence[SafetyIssue]) -> str:
    """The categories of issues in words, never the words that were found."""
    return ", ".join(sorted({issue["category"].replace("_", " ") for issue in issues}))


def build_repair_messages(
    prompts: PromptLibrary,
    request: StoryRequest,
    earlier_issues: Sequence[SafetyIssue],
    shown_text: str,
    blocked_issues: Sequence[SafetyIssue],
    profile: PromptProfile = "standard",
) -> list[BaseMessage]:
    """The chapter's own prompt, the text the child has read as the model's message, and a
    request to continue from there: the model repairs in place instead of starting over."""
    messages = build_story_messages(prompts, request, earlier_issues, profile)
    repair = prompts.render("story_repair", problems=problem_names(blocked_issues))
    return [*messages, AIMessage(content=shown_text), HumanMessage(content=repair)]


def build_ending_messages(
    prompts: PromptLibrary, request: StoryRequest, chapter: str
) -> list[BaseMessage]:
    """The structured-output call after the body: the chapter as the child read it, as data."""
    system = prompts.render("ending_system", child_age=request["child_age"])
    user = prompts.render(
        "ending_user", child_name=quoted(request["child_name"]), chapter=fenced(chapter)
    )
    return [SystemMessage(content=system), HumanMessage(content=user)]


def build_story_messages(
    prompts: PromptLibrary,
    request: StoryRequest,
    earlier_issues: Sequence[SafetyIssue] = (),
    profile: PromptProfile = "standard",
) -> list[BaseMessage]:
    if profile == "embedded":
        return _embedded_story_messages(prompts, request, earlier_issues)
    theme = request["theme"]
    band = target_grade_band(request["child_age"], request["reading_level"])
    system = prompts.render(
        "story_system",
        child_age=request["child_age"],
        reading_level=request["reading_level"],
        reading_guidance=reading_guidance(request["reading_level"]),
        grade_min=band[0],
        grade_max=band[1],
        peril_rule=peril_rule(request["allow_mild_peril"]),
    )
    user = prompts.render(
        "story_user",
        chapter_number=request["chapter_number"],
        title=quoted(request["title"]),
        child_name=quoted(request["child_name"]),
        theme_title=quoted(theme["title"]),
        theme_description=quoted(theme["description"]),
        theme_guidance=theme["guidance"],
        interests_line=interests_line(request["interests"]),
        blocked_topics_line=blocked_topics_line(request["blocked_topics"]),
        target_words=target_word_count(request["child_age"], request["story_length"]),
        continuation=continuation_text(prompts, request),
        retry_note=retry_note(prompts, earlier_issues),
    )
    return [SystemMessage(content=system), HumanMessage(content=user)]


def _embedded_story_messages(
    prompts: PromptLibrary, request: StoryRequest, earlier_issues: Sequence[SafetyIssue]
) -> list[BaseMessage]:
    """Short, concrete prompts with one example opening at the reader's level: SmolLM2-135M
    echoes or comments on the long production prompt instead of following it."""
    theme = request["theme"]
    system = prompts.render("embedded_story_system")
    user = prompts.render(
        "embedded_story_user",
        child_age=request["child_age"],
        child_name=quoted(request["child_name"]),
        theme_title=quoted(theme["title"]),
        theme_description=quoted(theme["description"]),
        interests_line=interests_line(request["interests"]),
        blocked_topics_line=blocked_topics_line(request["blocked_topics"]),
        target_words=target_word_count(request["child_age"], request["story_length"]),
        # Not the standard opening: its "end at a moment where the reader can choose" made
        # SmolLM2 write about the reader and the story instead of the story.
        continuation=continuation_text(prompts, request, "embedded_story_opening"),
        retry_note=retry_note(prompts, earlier_issues),
        example_opening=prompts.render(f"embedded_example_{request['reading_level']}"),
    )
    return [SystemMessage(content=system), HumanMessage(content=user)]


# The embedded model writes about 1.2 tokens a word (measured with bench.quality). It stops at
# the end of a sentence once the chapter reaches its target (the shape below); the token budget
# is only a bound on a chapter that never ends a sentence.
EMBEDDED_TOKENS_PER_WORD = 1.5
EMBEDDED_ENDING_TOKENS = 260
# The chapter may not end before this share of its target length.
EMBEDDED_MIN_LENGTH = 0.85


def embedded_shape(request: StoryRequest) -> ChapterShape:
    """How the embedded model's chapter should come out for this reader: its length, and the
    sentence and word lengths that land it inside the reader's Flesch-Kincaid band."""
    words = target_word_count(request["child_age"], request["story_length"])
    low, high = target_grade_band(request["child_age"], request["reading_level"])
    style = _EMBEDDED_STYLE[min(_EMBEDDED_STYLE, key=lambda grade: abs(grade - (low + high) / 2))]
    return ChapterShape(target_words=words, min_words=round(words * EMBEDDED_MIN_LENGTH), **style)


# By the centre of the reader's grade band: where a sentence is pushed towards its full stop,
# and how strongly two-syllable, longer and rare words are avoided.
_EMBEDDED_STYLE: dict[float, dict[str, Any]] = {
    0.5: {
        "sentence_words": 5,
        "two_syllable_penalty": 1.5,
        "long_word_penalty": 4.0,
        "rare_word_penalty": 3.0,
    },
    1.0: {
        "sentence_words": 6,
        "two_syllable_penalty": 1.2,
        "long_word_penalty": 3.5,
        "rare_word_penalty": 3.0,
    },
    1.5: {
        "sentence_words": 7,
        "two_syllable_penalty": 1.0,
        "long_word_penalty": 3.0,
        "rare_word_penalty": 2.5,
    },
    2.5: {
        "sentence_words": 8,
        "two_syllable_penalty": 0.6,
        "long_word_penalty": 2.0,
        "rare_word_penalty": 2.0,
    },
    3.5: {
        "sentence_words": 10,
        "two_syllable_penalty": 0.3,
        "long_word_penalty": 1.5,
        "rare_word_penalty": 1.5,
    },
    5.5: {
        "sentence_words": 14,
        "two_syllable_penalty": 0.0,
        "long_word_penalty": 0.5,
        "rare_word_penalty": 0.5,
    },
}


def call_options(profile: PromptProfile, request: StoryRequest) -> dict[str, Any]:
    """Per-call options for the story model: the embedded model gets a token budget fitted to
    the chapter's length (the `max_tokens` of its llama.cpp call) and the shape of its body."""
    if profile != "embedded":
        return {}
    words = target_word_count(request["child_age"], request["story_length"])
    return {
        "max_tokens": round(words * EMBEDDED_TOKENS_PER_WORD) + 32,
        "shape": embedded_shape(request),
    }


def ending_options(profile: PromptProfile) -> dict[str, Any]:
    return {"max_tokens": EMBEDDED_ENDING_TOKENS} if profile == "embedded" else {}
