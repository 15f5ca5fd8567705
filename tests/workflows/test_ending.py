"""The structured chapter ending: what a valid answer from any backend looks like."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bench.stream_bench import QUESTION_BLOCK, story_body
from workflows.ending import CHOICE_PATTERN, QUESTION_PATTERN, SUMMARY_PATTERN, ChapterEnding
from workflows.providers.scripted import compose_ending

SUMMARY = "Mia found a silver key under the garden gate and met a friendly frog."


def test_a_question_and_two_choices_make_an_ending() -> None:
    ending = ChapterEnding(
        question="What should Mia do next",
        choices=[" Open the little door ", "Ask the frog"],
        summary=SUMMARY,
    )
    assert ending.question == "What should Mia do next?"
    assert ending.choices == ["Open the little door", "Ask the frog"]


@pytest.mark.parametrize(
    "choices",
    [
        ["Open the little door", "]\n,"],  # written by SmolLM2 under the grammar (bench.quality)
        ["Open the little door", "123"],
        ["Ask the frog", "ask the frog!"],
        ["Ask the frog"],
    ],
)
def test_choices_without_words_or_alike_are_refused(choices: list[str]) -> None:
    with pytest.raises(ValidationError):
        ChapterEnding(question="What should Mia do next?", choices=choices, summary=SUMMARY)


def test_stray_json_punctuation_at_the_edges_of_a_field_is_trimmed() -> None:
    ending = ChapterEnding(
        question="} What should Max do next",
        choices=["]Ask Ben to play,", ", Build a big boat"],
        summary="] Max built a boat and played music with his friend Ben.",
    )
    assert ending.question == "What should Max do next?"
    assert ending.choices == ["Ask Ben to play", "Build a big boat"]
    assert ending.summary == "Max built a boat and played music with his friend Ben."


@pytest.mark.parametrize(
    "question",
    [
        # Written by SmolLM2 under the grammar (bench.quality, 2026-12-01).
        "} The main character is Sam. This chapter has been shared with your child?",
        "What is Leo's character like?",
        "What is the last sentence of this chapter?",
        "Ava's first day was a big one?",
        "What should the reader do next?",
        # Under a looser shape (bench.quality, 2026-12-01).
        "What is the shall of a long lost love?",
        "What does Max should do next?",
    ],
)
def test_a_question_that_does_not_ask_what_happens_next_is_refused(question: str) -> None:
    with pytest.raises(ValidationError):
        ChapterEnding(question=question, choices=["Open the door", "Ask the frog"], summary=SUMMARY)


@pytest.mark.parametrize(
    "choices",
    [
        ["Open the little door", "the answer is no."],
        ["Spring", "Summer"],
        ["Befriend other people. I love my home.", "Go home"],
        # Written by SmolLM2 before choices had to start with a verb (bench.quality, 2026-12-01).
        ["Mia loves me!", "I love you!"],
        ["Hi there!", "Ze EYES"],
        ["Ava's mom", "Go to bed"],
        ["Ask A", "Bake B"],
        ["Open the door", '{"choice": "Ask the frog"}'],
        # Written by SmolLM2 under the grammar (bench.quality run 5, 2026-12-01): no English, cut
        # off, vague or run together.
        ["Listen the sky with stars", "Go home"],
        ["Listen his life", "Go home"],
        ["Make it", "Bake with her favorite cake"],
        ["Bring the moon", "Make her home to"],
        ["Help Emily to go home", "Sit on his bed and tell him about the trip he'sGoing,buthel."],
        # Run 6 (and its chapters asked again under a stricter shape).
        ["Invite to play with Ben.", "Go home"],
        ["Make up", "Listen the moon"],
        ["Listen de Amor", "Ask el Jím"],
        ["Invite to help him with his adventures", "Dance around the house and play games"],
        ["Invite her", "Invite to go home"],
        ["Invite about him", "Go home"],
        # Run 7.
        ["Invite a big meal", "Make some food for her home"],
        ["Invite a sail", "Meet his dad"],
    ],
)
def test_choices_that_are_not_real_choices_are_refused(choices: list[str]) -> None:
    with pytest.raises(ValidationError):
        ChapterEnding(question="What should Mia do next?", choices=choices, summary=SUMMARY)


@pytest.mark.parametrize(
    "summary",
    [
        "} { description: { title: Mia",
        "In this scene, you can use Mia as an example for your child.",
    ],
)
def test_a_summary_with_json_or_commentary_is_refused(summary: str) -> None:
    with pytest.raises(ValidationError):
        ChapterEnding(
            question="What should Mia do next?",
            choices=["Open the door", "Go home"],
            summary=summary,
        )


def test_the_schema_carries_the_shape_of_each_field_for_the_grammar() -> None:
    properties = ChapterEnding.model_json_schema()["properties"]
    assert properties["question"]["pattern"] == QUESTION_PATTERN
    assert properties["choices"]["items"]["pattern"] == CHOICE_PATTERN
    assert properties["summary"]["pattern"] == SUMMARY_PATTERN


def test_names_with_accents_fit_the_shape() -> None:
    ending = ChapterEnding(
        question="What should Zoë do next?",
        choices=["Ask José for help", "Sing a song with Élodie"],
        summary="Zoë found a silver key under the garden gate.",
    )
    assert ending.choices == ["Ask José for help", "Sing a song with Élodie"]


@pytest.mark.parametrize(
    ("question", "choices"),
    [
        ("Which way should Mia go?", ["Take the river path", "Climb the 3 hills"]),
        (
            "Where will Leo look for the key?",
            ["Look under the old mat", "Search inside the blue jar"],
        ),
        ("Should Pip swim home, or sleep under the mushroom?", ["Swim home", "Sleep here"]),
        ("What should Noor do now?", ["Stay in the cozy den", "Wake up the sleepy owl"]),
        ("What will Sam and Ben do next?", ["Build a raft", "Ask the owl"]),
        ("What should Max do next?", ["Listen to the birds", "Wake up"]),
        ("What should Zoe do next?", ["Help Emily to go home", "Make a cake for Sam"]),
        ("What will Leo do next?", ["Go to the beach, then swim", "Find the well-hidden key"]),
        ("What should Mia do now?", ["Ask Mom for help", "Try to climb the tree"]),
        ("What should Ben do next?", ["Invite Ben to the party", "Tell a joke", "Thank everyone"]),
        ("What should Ava do next?", ["Visit Grandma", "Meet a new friend", "Call for help"]),
        ("What should Max do next?", ["Help to build the boat", "Ask his friend for help"]),
        ("What will Lily do next?", ["Invite her", "Take care of herself", "Keep going"]),
    ],
)
def test_everyday_what_next_questions_and_choices_fit_the_shape(
    question: str, choices: list[str]
) -> None:
    # The shape constrains Ollama's production model too: ordinary good endings must pass it.
    ending = ChapterEnding(question=question, choices=choices, summary=SUMMARY)
    assert (ending.question, ending.choices) == (question, choices)


def test_the_benchmarks_scripted_ending_is_one_the_model_gets_accepted() -> None:
    # bench.stream_bench / capacity / profile_stream end every script with this block; a refused
    # ending would put a retry and the theme's choices into every measured story.
    script = story_body(20) + QUESTION_BLOCK
    ending = ChapterEnding.model_validate_json(compose_ending(script, ""))
    assert ending.question == "What should Mia do next?"
    assert ending.choices == ["Go up to the Moon", "Go down to the sea", "Stay by the rocket"]
