from __future__ import annotations

import random

import pytest

from workflows.story_format import StoryBodySplitter, parse_story_output

ANSWER = (
    "  Once upon a time, Mia saw a star.\n\nShe smiled. Questions filled her head.\n\n"
    "**QUESTION:** Where should Mia go?\n"
    "CHOICE 1: Up to the Moon\n"
    "CHOICE 2: Down to the sea\n"
    "CHOICE 3: Home to bed\n"
)


def _stream(tokens: list[str]) -> list[str]:
    splitter = StoryBodySplitter()
    pieces: list[str] = []
    for token in tokens:
        pieces.extend(splitter.feed(token))
    pieces.extend(splitter.finish())
    return pieces


def test_parse_separates_body_question_and_choices() -> None:
    parsed = parse_story_output(ANSWER)
    assert parsed.body == (
        "Once upon a time, Mia saw a star.\n\nShe smiled. Questions filled her head."
    )
    assert parsed.question == "Where should Mia go?"
    assert parsed.choices == ("Up to the Moon", "Down to the sea", "Home to bed")
    assert parsed.has_valid_choices


@pytest.mark.parametrize("seed", range(30))
def test_streamed_pieces_equal_parsed_body_for_any_token_split(seed: int) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(ANSWER)), rng.randint(1, 40)))
    tokens = [ANSWER[a:b] for a, b in zip([0, *cuts], [*cuts, len(ANSWER)], strict=True)]
    pieces = _stream(tokens)
    assert "".join(pieces) == parse_story_output(ANSWER).body
    assert all("QUESTION" not in piece and "CHOICE" not in piece for piece in pieces)


def test_one_piece_per_token_even_when_held_back() -> None:
    tokens = ["Mia", " ran", ".", "\n", "\n", "Que", "st", "ions", " came", "."]
    assert _stream(tokens) == ["Mia", " ran", ".", "\n", "\n", "Que", "st", "ions", " came", "."]


def test_marker_split_across_tokens_is_never_streamed() -> None:
    tokens = ["The end", ".", "\n\n", "QUE", "STI", "ON", ":", " Next?", "\nCHOICE 1: a"]
    assert _stream(tokens) == ["The end", "."]


def test_numbered_choices_without_choice_prefix_are_understood() -> None:
    parsed = parse_story_output("Story.\nQuestion: What now?\n1. Swim\n2) Fly\n- 3: Run")
    assert parsed.question == "What now?"
    assert parsed.choices == ("Swim", "Fly", "Run")


def test_more_than_three_choices_are_cut_to_three() -> None:
    parsed = parse_story_output(
        "S.\nQUESTION: Q?\nCHOICE 1: a\nCHOICE 2: b\nCHOICE 3: c\nCHOICE 4: d"
    )
    assert parsed.choices == ("a", "b", "c")


def test_answer_without_choices_is_all_body_and_invalid() -> None:
    parsed = parse_story_output("Mia slept.\n\nThe end.\n")
    assert parsed.body == "Mia slept.\n\nThe end."
    assert parsed.question is None
    assert not parsed.has_valid_choices
