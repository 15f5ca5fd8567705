"""The benchmarks' chapters: each sentence once, then again; the scripts file the model reads."""

from __future__ import annotations

from pathlib import Path

from bench.story_corpus import chapters, distinct_chapters, write_scripts
from workflows.providers.scripted import read_scripts

SENTENCES = [f"Sentence number {word} is here." for word in ("one", "two", "three", "four")]


def test_chapters_use_each_sentence_once_before_any_repeats() -> None:
    bodies = chapters(SENTENCES, words=10, count=3)
    assert bodies == [
        "Sentence number one is here. Sentence number two is here.",
        "Sentence number three is here. Sentence number four is here.",
        "Sentence number one is here. Sentence number two is here.",
    ]
    assert distinct_chapters(bodies) == 2


def test_the_scripts_file_is_what_the_scripted_model_reads(tmp_path: Path) -> None:
    bodies = chapters(SENTENCES, words=5, count=2)
    path = write_scripts(tmp_path / "chapters.jsonl", bodies, "\n\nQUESTION: Next?")
    assert read_scripts(path) == tuple(body + "\n\nQUESTION: Next?" for body in bodies)
