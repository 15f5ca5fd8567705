"""Chapters of sentences no other chapter repeats, for the benchmarks that measure the gate.

A benchmark that streams one chapter over and over measures the semantic check once: its verdicts
are cached, so from the second chapter on every sentence is a cache hit and the encoder never
runs, which no child's real stories allow. These chapters are made of the sentences of the
held-out benign whole stories (sets a, b and c, unseen by training), in file order, each used
once, keeping only sentences of at least `MIN_SENTENCE_WORDS` words that the gate passes for the
default reader: a blocked sentence would start a repair, which is not what the benchmark times,
and a shorter one would be judged joined to the next.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from pathlib import Path

from bench.safety_eval import gate_check, load_rows
from workflows.safety.sentences import sentence_spans
from workflows.sentence_gate import MIN_SENTENCE_WORDS

STORY_FILES = (
    "whole_stories/benign_a.jsonl",
    "whole_stories/benign_b.jsonl",
    "whole_stories_b/benign.jsonl",
    "whole_stories_c/benign.jsonl",
)
SENTENCES_PER_PARAGRAPH = 4
_SPACE = re.compile(r"\s+")


def story_sentences() -> list[str]:
    """Every sentence of the held-out benign stories, on one line each, in file order."""
    found: list[str] = []
    for name in STORY_FILES:
        for row in load_rows(name):
            text = row["text"]
            found.extend(
                _SPACE.sub(" ", text[start:end]).strip() for start, end in sentence_spans(text)
            )
    return [sentence for sentence in found if len(sentence.split()) >= MIN_SENTENCE_WORDS]


async def _passed(sentences: Sequence[str]) -> list[str]:
    check = gate_check()
    kept = []
    for sentence in sentences:
        issues = await check(sentence)
        if not any(issue["severity"] != "low" for issue in issues):
            kept.append(sentence)
    return kept


def passing_sentences() -> list[str]:
    """The stories' sentences that the gate passes (it loads the classifier: a few seconds)."""
    return asyncio.run(_passed(story_sentences()))


def chapters(sentences: Sequence[str], words: int, count: int) -> list[str]:
    """`count` chapter bodies of at least `words` words, in paragraphs; each sentence is used
    once until all have been, then they are used again in the same order (a run that needs more
    than the corpus holds meets the cache again; `distinct_chapters` counts those that do not)."""
    if not sentences:
        raise ValueError("no sentences to make chapters of")
    bodies: list[str] = []
    index = 0
    for _ in range(count):
        paragraphs: list[list[str]] = [[]]
        total = 0
        while total < words:
            if len(paragraphs[-1]) == SENTENCES_PER_PARAGRAPH:
                paragraphs.append([])
            sentence = sentences[index % len(sentences)]
            paragraphs[-1].append(sentence)
            total += len(sentence.split())
            index += 1
        bodies.append("\n\n".join(" ".join(paragraph) for paragraph in paragraphs))
    return bodies


def distinct_chapters(bodies: Sequence[str]) -> int:
    """How many of the chapter bodies use no sentence a chapter before them used."""
    seen: set[str] = set()
    distinct = 0
    for body in bodies:
        parts = [body[start:end].strip() for start, end in sentence_spans(body)]
        if not seen.intersection(parts):
            distinct += 1
        seen.update(parts)
    return distinct


def write_scripts(path: Path, bodies: Sequence[str], ending: str) -> Path:
    """The scripted model's chapters file (`STORYSTREAM_SCRIPTED_TEXTS_FILE`, JSON Lines of
    `{"text": ...}`): each body followed by `ending`, the question and choices it ends with."""
    rows = (json.dumps({"text": body + ending}) for body in bodies)
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return path
