"""Turns a story request into the chat messages for the model, from the templates in `prompts/`."""

from __future__ import annotations

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from workflows.metrics import target_word_count
from workflows.prompts import PromptLibrary
from workflows.state import StoryRequest
from workflows.themes import Theme


def reading_guidance(age: int) -> str:
    if age <= 5:
        return (
            "very short sentences of five to eight words, everyday words, and gentle repetition "
            "that is fun to read aloud."
        )
    if age <= 8:
        return "short sentences, familiar words, and a simple explanation of any new word."
    return "clear sentences, some rich vocabulary whose meaning is clear from the story."


def _quoted(value: str) -> str:
    # User text goes inside double quotes in the templates; keep it from closing them early.
    return value.replace('"', "'").replace("\n", " ").strip()


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


def build_story_messages(
    prompts: PromptLibrary, theme: Theme, request: StoryRequest
) -> list[BaseMessage]:
    age = request["child_age"]
    system = prompts.render("story_system", child_age=age, reading_guidance=reading_guidance(age))
    user = prompts.render(
        "story_user",
        chapter_number=request["chapter_number"],
        title=_quoted(request["title"]),
        child_name=_quoted(request["child_name"]),
        theme_title=theme.title,
        theme_description=theme.description,
        theme_guidance=theme.guidance,
        target_words=target_word_count(age),
        continuation=continuation_text(prompts, request),
    )
    return [SystemMessage(content=system), HumanMessage(content=user)]
