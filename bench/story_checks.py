"""What `make quality` measures in one chapter: prompt echo and meta-commentary, and repetition.

The echo and commentary detector (documented in the README):
- **Prompt echo**: the chapter repeats a run of `ECHO_WORDS` (6) consecutive words of the prompt
  it was given (system and user messages, example opening included), compared in lower case
  without punctuation. Six words is longer than the phrases a story shares with its theme
  ("a trip to the stars") and shorter than any instruction a model copies.
- **Meta-commentary**: the chapter talks about itself or its reader instead of telling the
  story, e.g. "The story ends at a moment where we can choose", "This ending leaves us free",
  "[Introduce Mia", "Here is a story", "Title:", "Word count" (the patterns below).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ECHO_WORDS = 6
_WORD = re.compile(r"[a-z0-9']+")
COMMENTARY = re.compile(
    r"\[|\]"
    r"|\b(?:this|the) (?:story|chapter|tale) (?:ends|is about|will|leaves|stops|has)\b"
    r"|\b(?:this|the) ending\b"
    r"|\bhere(?: is|'s) (?:a|the|your) (?:story|chapter|tale)\b"
    r"|\b(?:dear )?reader\b"
    r"|\bwe can choose\b"
    r"|\bchapter \d+\b"
    r"|^\s*(?:title|the end|moral|word count|note)\s*:"
    r"|\bword count\b"
    r"|\bas an ai\b"
    r"|\breading (?:grade|level)\b",
    re.I | re.M,
)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _runs(words: list[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def echoes_prompt(chapter: str, prompt_texts: Iterable[str]) -> bool:
    prompt_runs: set[tuple[str, ...]] = set()
    for text in prompt_texts:
        prompt_runs |= _runs(_words(text), ECHO_WORDS)
    return bool(_runs(_words(chapter), ECHO_WORDS) & prompt_runs)


def has_commentary(chapter: str) -> bool:
    return COMMENTARY.search(chapter) is not None


def distinct_trigram_ratio(text: str) -> float:
    """Distinct word trigrams over all trigrams: 1.0 never repeats itself, a loop drives it
    towards 0."""
    words = _words(text)
    trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return len(set(trigrams)) / len(trigrams) if trigrams else 1.0
