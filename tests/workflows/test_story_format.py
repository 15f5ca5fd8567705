"""The body splitter keeps every ending addressed to the reader out of the streamed story, in
whatever format the model writes it and however its tokens are split."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from workflows.story_format import StoryBodySplitter, classify, story_body

BODY = (
    'Pip found a tiny silver key under the mushroom. "Where do you open?" Pip asked the key.\n\n'
    "A friendly frog hopped closer and sang three happy notes. What a lovely song it was. "
    "The pond was still and the stars came out."
)

# Each ending style a model may write after the body, and what must be dropped.
ENDINGS: dict[str, str] = {
    "no ending": "",
    "old markers": ("\n\nQUESTION: What should Pip do next?\nCHOICE 1: Swim home\nCHOICE 2: Sleep"),
    "decorated markers": (
        "\n\n**QUESTION:** Where should Pip go?\n**CHOICE 1:** Up\n**CHOICE 2:** Down"
    ),
    "question then numbered list": (
        "\n\nWhat should Pip do next?\n1. Swim home to the lily pad\n2. Sleep under the mushroom"
    ),
    "plain question then numbered list": (
        "\n\nWhere will Pip go now?\n\n1) Swim home\n2) Sleep\n3) Ask the frog"
    ),
    "question then lettered list": (
        "\n\nWhere will Pip go?\nA) Swim home to the lily pad\nB) Sleep under the mushroom"
    ),
    "inline lettered list": "\n\nWhere will Pip go? A) Swim home B) Sleep under the mushroom",
    "inline question to the reader": (
        " Should Pip swim home, or sleep under the mushroom? You decide!"
    ),
    "you decide on its own line": "\n\nIt is up to you to choose what Pip does.",
    "bulleted choices after a colon line": (
        "\n\nHere is what Pip could do:\n- Swim home\n- Sleep under the mushroom"
    ),
    "markdown heading": "\n\n## What happens next?\n* Swim home\n* Sleep",
    "trailing question alone": "\n\nWould Pip ever find the door?",
    "rule then options": "\n\n---\nOption 1: Swim home\nOption 2: Sleep",
    "meta commentary": ("\n\nThe story ends at a moment where we can choose what Pip does next."),
    "what do you think": " What do you think Pip should do?",
    "help the hero choose": "\n\nCan you help Pip decide which way to go?",
}


def _stream(tokens: list[str], *, drop_unfinished: bool = False) -> list[str]:
    splitter = StoryBodySplitter()
    pieces: list[str] = []
    for token in tokens:
        pieces.extend(splitter.feed(token))
    pieces.extend(splitter.finish(drop_unfinished=drop_unfinished))
    return pieces


def _words(text: str) -> list[str]:
    """Tokens the way most models send them: words with their leading whitespace."""
    pieces: list[str] = []
    for part in text.split(" "):
        pieces.append(part if not pieces else " " + part)
    return pieces


def _random_split(text: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 60))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


SPLITS: dict[str, Callable[[str], list[str]]] = {
    "whole": lambda text: [text],
    "words": _words,
    "one character at a time": list,
    "random 1": lambda text: _random_split(text, 1),
    "random 2": lambda text: _random_split(text, 2),
    "random 3": lambda text: _random_split(text, 3),
}


@pytest.mark.parametrize("split", sorted(SPLITS))
@pytest.mark.parametrize("style", sorted(ENDINGS))
def test_no_part_of_an_ending_is_streamed_whatever_its_format(style: str, split: str) -> None:
    answer = BODY + ENDINGS[style]
    pieces = _stream(SPLITS[split](answer))
    assert "".join(pieces) == BODY
    assert story_body(answer) == BODY


@pytest.mark.parametrize("seed", range(20))
def test_pieces_keep_the_tokens_they_came_from(seed: int) -> None:
    answer = BODY + ENDINGS["question then numbered list"]
    tokens = _random_split(answer, seed)
    pieces = _stream(tokens)
    assert "".join(pieces) == BODY  # the body is the start of the answer, so offsets agree
    bounds = [0]
    for token in tokens:
        bounds.append(bounds[-1] + len(token))
    start = 0
    for piece in pieces:
        # No piece spans two tokens: the client gets at most one `content` event per token
        # (two when a sentence ends inside a token).
        index = max(i for i, bound in enumerate(bounds) if bound <= start)
        assert start + len(piece) <= bounds[index + 1], piece
        start += len(piece)


def test_one_piece_per_token_even_when_held_back() -> None:
    tokens = ["Mia", " ran", ".", "\n", "\n", "Que", "st", "ions", " came", "."]
    assert _stream(tokens) == ["Mia", " ran", ".", "\n", "\n", "Que", "st", "ions", " came", "."]


def test_a_question_in_the_middle_of_the_story_is_released_when_the_story_goes_on() -> None:
    tokens = _words("Where was the key? Pip looked under the bed. There it was.")
    assert "".join(_stream(tokens)) == "Where was the key? Pip looked under the bed. There it was."


def test_a_countdown_inside_a_paragraph_is_story() -> None:
    text = "Mia counted down. 3... 2... 1... Off went the rocket!"
    assert story_body(text) == text


def test_a_chapter_cut_off_by_the_token_budget_loses_its_unfinished_sentence() -> None:
    tokens = _words("Mia ran to the gate. She saw a big red")
    assert "".join(_stream(tokens, drop_unfinished=True)) == "Mia ran to the gate."
    assert "".join(_stream(tokens)) == "Mia ran to the gate. She saw a big red"


def test_a_story_written_as_a_list_is_still_the_story() -> None:
    # SmolLM2 sometimes numbers its sentences; only options after the story are an ending.
    text = "1. The sun shines.\n2. Leo swims by the reef.\n3. A fish says hello."
    assert story_body(text) == text


def test_leading_and_trailing_whitespace_is_never_released() -> None:
    assert "".join(_stream(["  \n", "Mia", " slept", ".", "\n\n", "  "])) == "Mia slept."


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("1. Swim home", "list item"),
        ("A) Swim home", "list item"),
        ("CHOICE 2: Sleep", "ending"),
        ("You decide!", "ending"),
        ('"What do you think?" asked the frog.', "story"),
        ('"Where do you open?"', "story"),
        ("What should happen next?", "ending"),
        ("Where will Pip go?", "candidate"),
        ("Here are some ideas:", "candidate"),
        ("---", "candidate"),
        ("Questions filled her head.", "story"),
        ("What a lovely day it was.", "story"),
    ],
)
def test_each_sentence_is_classified_for_the_reader(sentence: str, kind: str) -> None:
    assert classify(sentence) == kind
