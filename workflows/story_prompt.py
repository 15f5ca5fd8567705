"""Turns a story request into the chat messages for the model, from the templates in `prompts/`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


def _quoted(value: str) -> str:
    # User text goes inside double quotes in the templates; keep it from closing them early.
    return value.replace('"', "'").replace("\n", " ").strip()


def _quoted_list(values: Iterable[str]) -> str:
    return ", ".join(f'"{_quoted(value)}"' for value in values)


def peril_rule(allowed: bool) -> str:
    if allowed:
        return "A little gentle suspense is fine, as long as everyone is safe by the end."
    return (
        "Keep every moment calm and reassuring: no danger, no suspense about anyone getting hurt."
    )


def blocked_topics_rule(topics: list[str]) -> str:
    if not topics:
        return ""
    listed = _quoted_list(topics)
    return f"Never mention these topics, which the child's parent has ruled out: {listed}."


def interests_line(interests: list[str]) -> str:
    if not interests:
        return ""
    return f"The child loves {_quoted_list(interests)}: weave one of these in if it fits."


def continuation_text(prompts: PromptLibrary, request: StoryRequest) -> str:
    if request["chapter_number"] == 1 or not request["previous_summary"]:
        return prompts.render("story_opening", child_name=_quoted(request["child_name"]))
    if request["chosen_choice"]:
        return prompts.render(
            "story_continuation",
            previous_chapter_number=request["chapter_number"] - 1,
            previous_summary=request["previous_summary"],
            chosen_choice=_quoted(request["chosen_choice"]),
        )
    return prompts.render(
        "story_continuation_no_choice",
        previous_chapter_number=request["chapter_number"] - 1,
        previous_summary=request["previous_summary"],
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
) -> list[BaseMessage]:
    """The chapter's own prompt, the text the child has read as the model's message, and a
    request to continue from there: the model repairs in place instead of starting over."""
    messages = build_story_messages(prompts, request, earlier_issues)
    repair = prompts.render("story_repair", problems=problem_names(blocked_issues))
    return [*messages, AIMessage(content=shown_text), HumanMessage(content=repair)]


def build_story_messages(
    prompts: PromptLibrary, request: StoryRequest, earlier_issues: Sequence[SafetyIssue] = ()
) -> list[BaseMessage]:
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
        blocked_topics_rule=blocked_topics_rule(request["blocked_topics"]),
    )
    user = prompts.render(
        "story_user",
        chapter_number=request["chapter_number"],
        title=_quoted(request["title"]),
        child_name=_quoted(request["child_name"]),
        theme_title=_quoted(theme["title"]),
        theme_description=_quoted(theme["description"]),
        theme_guidance=theme["guidance"],
        interests_line=interests_line(request["interests"]),
        target_words=target_word_count(request["child_age"], request["story_length"]),
        continuation=continuation_text(prompts, request),
        retry_note=retry_note(prompts, earlier_issues),
    )
    return [SystemMessage(content=system), HumanMessage(content=user)]
