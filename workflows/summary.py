"""A short extractive summary of a chapter, handed to the prompt of the next one."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def split_sentences(text: str) -> list[str]:
    return [sentence.strip() for sentence in _SENTENCE_END.split(text.strip()) if sentence.strip()]


def summarize_chapter(text: str, max_words: int = 70) -> str:
    """The opening sentences and the last one: where the chapter started and where it stopped."""
    sentences = split_sentences(text)
    if not sentences:
        return ""
    chosen = sentences[:2] + ([sentences[-1]] if len(sentences) > 2 else [])
    words = " ".join(chosen).split()
    summary = " ".join(words[:max_words])
    return summary if len(words) <= max_words else summary + " ..."
