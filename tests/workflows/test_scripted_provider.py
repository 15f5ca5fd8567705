from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from workflows.ending import ChapterEnding
from workflows.providers.scripted import (
    ScriptedChatModel,
    ScriptedModelError,
    compose_ending,
    compose_story,
    read_scripts,
    tokenize,
)


async def test_streams_given_text_token_by_token_with_usage() -> None:
    model = ScriptedChatModel(text="One two three.")
    chunks = [chunk async for chunk in model.astream([HumanMessage("go")])]
    assert [chunk.text for chunk in chunks if chunk.text] == ["One", " two", " three."]
    final = chunks[0]
    for chunk in chunks[1:]:
        final = final + chunk
    assert final.usage_metadata is not None
    assert final.usage_metadata["output_tokens"] == 3


async def test_fails_at_the_requested_token() -> None:
    model = ScriptedChatModel(text="a b c d e", fail_at_token=3)
    seen: list[str] = []

    async def consume() -> None:
        async for chunk in model.astream([HumanMessage("go")]):
            seen.append(chunk.text)

    with pytest.raises(ScriptedModelError, match="token 3"):
        await consume()
    assert seen == ["a", " b"]


def test_composed_story_follows_the_prompt_name_theme_and_length() -> None:
    story = compose_story('Child named "Zoe". Theme: "Under the Sea": ... Length: about 200 words.')
    assert "Zoe" in story
    assert "Under the Sea" in story
    assert story.rstrip().endswith("CHOICE 3: Build a little boat")
    assert 200 <= len(story.split("QUESTION:")[0].split()) <= 230


def test_tokenize_keeps_every_character() -> None:
    text = " Hello,  world!\n\nBye."
    assert "".join(tokenize(text)) == text


def test_composed_story_starts_from_the_readers_choice() -> None:
    prompt = (
        'named "Zoe". Theme: "Under the Sea". '
        'At the end of chapter 1 the reader chose: "Swim to the reef".'
    )
    assert compose_story(prompt).startswith(
        "Zoe chose to swim to the reef, and the Under the Sea went on."
    )


async def test_several_scripts_stream_in_turn_and_each_ending_reads_its_own(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts.jsonl"
    scripts.write_text(
        '{"text": "One.\\nQUESTION: First?\\nCHOICE 1: A\\nCHOICE 2: B"}\n'
        '{"text": "Two.\\nQUESTION: Second?\\nCHOICE 1: C\\nCHOICE 2: D"}\n',
        "utf-8",
    )
    model = ScriptedChatModel(text="unused", texts=read_scripts(scripts))
    answers = []
    for _ in range(3):
        chapter = await model.ainvoke([HumanMessage("go")])
        ending = await model.ainvoke([HumanMessage("end it")], format={"type": "object"})
        answers.append((chapter.text.split("\n")[0], json.loads(ending.text)["question"]))
    assert answers == [("One.", "First?"), ("Two.", "Second?"), ("One.", "First?")]


def test_no_scripts_file_means_no_scripts() -> None:
    assert read_scripts(None) == ()


def test_the_scripted_ending_fits_the_schema_when_the_chapter_opens_with_dialogue() -> None:
    # A chapter that opens with quoted speech: the summary the schema allows has no quotes.
    chapter = '"Granny, what big eyes you have!" said Red. "All the better to see you with."'
    answer = json.loads(compose_ending("", f"########\n{chapter}\n########"))
    ending = ChapterEnding.model_validate(answer)
    assert ending.summary == "In this chapter: Granny, what big eyes you have! said Red."
