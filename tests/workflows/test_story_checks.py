"""The story-quality detectors of `make quality` (`bench/story_checks.py`, rules in
`workflows/story_rules.py`), on what the embedded model really wrote (bench/results/quality.json,
2026-12-01) and on sentences a good story has."""

from __future__ import annotations

import pytest

from bench.story_checks import cut_off_share, ending_problems, has_commentary, summary_is_clean
from workflows.story_rules import cut_off_sentences, is_cut_off, trim_stray_punctuation


@pytest.mark.parametrize(
    "text",
    [
        "In this scene, you can use Sam as an example.",
        "The rest of the book would be about your child's own adventures.",
        "This is a short and sweet version.",
        "You have some great tips for this.",
        "This is the final sentence. The child's next question was",
        "This is the end of the first 540-word short, happy, fun adventure with Lily.",
        'This book would not only tell them about "Friends Together," but also share.',
        "The last sentence is a great way to end the book.",
        "This is the rest of the first page, but this time he starts with spring.",
        "You could add more details to make it fun for them!",
        "The story ends at a moment where we can choose.",
        "Dear reader, what would you do?",
        "Title: Mia and the Moon",
    ],
)
def test_commentary_to_a_reader_parent_or_author_is_found(text: str) -> None:
    assert has_commentary(text)


@pytest.mark.parametrize(
    "text",
    [
        "The cat sat on the mat.",
        "Mia read the book under the tree.",
        "At the end of the day, Leo went home.",
        "You can do it!",
        "The tips of the trees were gold.",
        "She turned the page and smiled.",
    ],
)
def test_story_sentences_are_not_commentary(text: str) -> None:
    assert not has_commentary(text)


@pytest.mark.parametrize(
    "sentence",
    [
        "The sun was set, and the sky seemed to be a little.",
        "The wind blew through the trees, and it made a big.",
        "And it made him.",
        "It had been so long time since Mia's dad could do.",
        "The sun was setting, and Leo's heart felt the weight of a.",
        "She looked at the stars and.",
        "He gave it to their!",
        "It was very.",
    ],
)
def test_sentences_cut_off_on_a_closed_class_word_are_found(sentence: str) -> None:
    assert is_cut_off(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "The cat sat on the mat.",
        "The dog was big.",
        "They were so happy.",
        "She got up.",
        "He saw her.",
        "It is his.",
        "Where are you from?",
        "We made it!",
        "Once she found a bed that was for 20.",
    ],
)
def test_finished_sentences_are_not_cut_off(sentence: str) -> None:
    assert not is_cut_off(sentence)


def test_the_cut_off_share_counts_finished_sentences() -> None:
    text = "The cat sat on the mat. It made a big. Mia laughed! And then"
    assert cut_off_sentences(text) == ["It made a big."]
    assert cut_off_share(text) == 1 / 3
    assert cut_off_share("") == 0.0


@pytest.mark.parametrize(
    ("question", "choices"),
    [
        # Written by SmolLM2 under the JSON grammar (bench.quality, 2026-12-01).
        (
            "} The main character is Sam. This chapter has been shared with your child?",
            ["Sam's Friends", "A special one for all of them"],
        ),
        ("What is Leo's character like?", ["Go to the beach", "Build a boat"]),
        ("What is the last sentence of this chapter?", ["They are gone.", "It seems so"]),
        ("Ava's first day was a big one?", ["Make a big bed", "Find a bed with legs"]),
        (
            "What should Max do next?",
            ["]Ben was not happy when they told him.", "the answer is no."],
        ),
        (
            "What should Zoe do next?",
            [", they could have used different words.", "Walk down the path"],
        ),
        ("What should Noah do next?", ["Spring", "Summer", "Fall (Autumn), Winter"]),
        ("What should Mia do next?", ["Make friends", "make friends!"]),
        ("What should Mia do next?", ["Befriend other people. I love my home.", "Go home"]),
    ],
)
def test_endings_that_are_not_real_choices_are_found(question: str, choices: list[str]) -> None:
    assert ending_problems(question, choices)


@pytest.mark.parametrize(
    ("question", "choices"),
    [
        ("What should Mia do next?", ["Open the little door", "Ask the frog"]),
        ("Where should the little cloud float next?", ["Float over the hills", "Make a rainbow"]),
        ("Should Leo open the box?", ['Say "hello" to the owl', "Go back home", "Wait a bit"]),
    ],
)
def test_real_choices_pass(question: str, choices: list[str]) -> None:
    assert ending_problems(question, choices) == []


def test_a_summary_with_json_or_commentary_is_not_clean() -> None:
    assert not summary_is_clean("} { description: { title:")
    assert not summary_is_clean("The rest of the book would be about your child's adventures.")
    assert summary_is_clean("Mia found a silver key and met a friendly frog.")
    # A summary may say what happened in the chapter.
    assert summary_is_clean("In this chapter, Mia found a silver key.")


def test_stray_json_punctuation_is_trimmed_from_the_edges_only() -> None:
    assert trim_stray_punctuation("]Ben was not happy, ") == "Ben was not happy"
    assert trim_stray_punctuation("} What should Max do next") == "What should Max do next"
    assert trim_stray_punctuation('"Hello," said Mia.') == '"Hello," said Mia.'
