"""What `make quality` measures in one chapter: prompt echo and commentary, cut-off sentences,
whether its ending is a real choice, and repetition.

The detectors (documented in the README's "Story quality"):
- **Prompt echo**: the chapter repeats a run of `ECHO_WORDS` (6) consecutive words of the prompt
  it was given (system and user messages, example opening included), compared in lower case
  without punctuation. Six words is longer than the phrases a story shares with its theme
  ("a trip to the stars") and shorter than any instruction a model copies.
- **Commentary**: the chapter talks about itself or to its reader, a parent or an author instead
  of telling the story ("The story ends at a moment where we can choose", "In this scene, you can
  use Sam as an example", "your child's own adventures", "This is the end of the first 540-word
  short"): `workflows.story_rules.COMMENTARY`, the same patterns the product refuses in an ending.
- **Cut-off sentences**: the share of a chapter's sentences that end on a word no finished
  sentence ends on ("it made a big.", "And it made him."): `workflows.story_rules.is_cut_off`.
- **A real ending**: the question asks what happens next, the choices are two or more different
  phrases of two words or more, none with leading punctuation, JSON, mark-up or commentary; the
  summary starts with a letter and has no JSON or commentary (`workflows.story_rules`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from workflows.story_rules import (
    choice_problems,
    cut_off_sentences,
    has_commentary,
    question_problems,
    sentences,
    summary_problems,
)

__all__ = [
    "cut_off_share",
    "distinct_trigram_ratio",
    "echoes_prompt",
    "ending_problems",
    "has_commentary",
    "summary_is_clean",
]

ECHO_WORDS = 6
_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _runs(words: list[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def echoes_prompt(chapter: str, prompt_texts: Iterable[str]) -> bool:
    prompt_runs: set[tuple[str, ...]] = set()
    for text in prompt_texts:
        prompt_runs |= _runs(_words(text), ECHO_WORDS)
    return bool(_runs(_words(chapter), ECHO_WORDS) & prompt_runs)


def cut_off_share(chapter: str) -> float:
    """Cut-off sentences over all finished sentences of the chapter (0.0 without any)."""
    finished = sentences(chapter)
    return len(cut_off_sentences(chapter)) / len(finished) if finished else 0.0


def ending_problems(question: str, choices: Sequence[str]) -> list[str]:
    """Why the question and choices a child sees are not a real choice of what happens next
    (empty: they are)."""
    return question_problems(question) + choice_problems(choices)


def summary_is_clean(summary: str) -> bool:
    return not summary_problems(summary)


def distinct_trigram_ratio(text: str) -> float:
    """Distinct word trigrams over all trigrams: 1.0 never repeats itself, a loop drives it
    towards 0."""
    words = _words(text)
    trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return len(set(trigrams)) / len(trigrams) if trigrams else 1.0
