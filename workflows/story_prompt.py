"""Turns a story request into the chat messages for the model, from the templates in `prompts/`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

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


def continuation_text(prompts: PromptLibrary, request: StoryRequest) -> str:
    if request["chapter_number"] == 1 or not request["previous_summary"]:
        return prompts.render("story_opening", child_name=quoted(request["child_name"]))
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
        continuation=continuation_text(prompts, request),
        retry_note=retry_note(prompts, earlier_issues),
        example_opening=prompts.render(f"embedded_example_{request['reading_level']}"),
    )
    return [SystemMessage(content=system), HumanMessage(content=user)]


# The embedded model writes about 1.1 tokens a word (measured with bench.quality); the budget
# ends a chapter near its target length, and stops a loop well before `max_tokens` would.
EMBEDDED_TOKENS_PER_WORD = 1.15
EMBEDDED_ENDING_TOKENS = 260


def call_options(profile: PromptProfile, request: StoryRequest) -> dict[str, Any]:
    """Per-call options for the story model: the embedded model gets a token budget fitted to
    the chapter's length (the `max_tokens` of its llama.cpp call)."""
    if profile != "embedded":
        return {}
    words = target_word_count(request["child_age"], request["story_length"])
    return {"max_tokens": round(words * EMBEDDED_TOKENS_PER_WORD) + 16}


def ending_options(profile: PromptProfile) -> dict[str, Any]:
    return {"max_tokens": EMBEDDED_ENDING_TOKENS} if profile == "embedded" else {}
