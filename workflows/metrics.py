"""Measures how a story fits its reader: length, reading time, readability and vocabulary."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Literal

import textstat
from wordfreq import zipf_frequency

from workflows.state import StoryMetrics

VocabularyLevel = Literal["beginner", "intermediate", "advanced"]

# Words per minute. Under six a story is read aloud by an adult (about 100 wpm); from six on the
# child reads alone, at oral reading fluency norms (Hasbrouck & Tindal, 2017, spring medians).
_READING_SPEED_BY_AGE: Mapping[int, int] = {6: 55, 7: 90, 8: 105, 9: 120, 10: 135, 11: 145, 12: 150}
_READ_ALOUD_WPM = 100
_WORD = re.compile(r"[A-Za-z0-9']+(?:-[A-Za-z0-9']+)*")


def reading_speed_wpm(age: int) -> int:
    if age < min(_READING_SPEED_BY_AGE):
        return _READ_ALOUD_WPM
    return _READING_SPEED_BY_AGE[min(age, max(_READING_SPEED_BY_AGE))]


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


# Words rarer than this (Zipf scale: 3 is about once per million words) count as rare. Names
# are rare too, so the thresholds below leave room for a few.
RARE_ZIPF = 3.5
SPACHE_MAX_AGE = 8  # Spache is made for texts up to about third grade


def rare_word_share(text: str) -> float:
    words = [word.lower() for word in _WORD.findall(text)]
    if not words:
        return 0.0
    rare = sum(1 for word in words if zipf_frequency(word, "en") < RARE_ZIPF)
    return rare / len(words)


def vocabulary_level(text: str) -> VocabularyLevel:
    """Graded by the share of rare words (wordfreq's Zipf frequency)."""
    share = rare_word_share(text)
    if share < 0.06:
        return "beginner"
    if share < 0.12:
        return "intermediate"
    return "advanced"


_LEVEL_SHIFT: Mapping[str, float] = {"beginner": -1.0, "intermediate": 0.0, "advanced": 1.0}


def target_grade_band(age: int, reading_level: str) -> tuple[float, float]:
    """The Flesch-Kincaid grades a chapter should fall in for this reader.

    A child of six is in first grade; the band sits around that grade, shifted down a grade for
    beginners and up for advanced readers. Under six a story is read aloud: up to grade 2."""
    if age < 6:
        return (0.0, 2.0)
    centre = age - 5 + _LEVEL_SHIFT.get(reading_level, 0.0)
    return (max(0.0, centre - 1.5), max(1.0, centre + 0.5))


@cache
def _educational_patterns() -> Mapping[str, re.Pattern[str]]:
    raw = json.loads(
        resources.files("workflows.data").joinpath("educational_elements.json").read_text("utf-8")
    )
    return {
        element: re.compile(
            r"\b(?:" + "|".join(re.escape(word) for word in words) + r")\b", re.IGNORECASE
        )
        for element, words in raw.items()
        if not element.startswith("_")
    }


def educational_elements(text: str) -> list[str]:
    return [element for element, pattern in _educational_patterns().items() if pattern.search(text)]


def measure_story(text: str, age: int, reading_level: str = "intermediate") -> StoryMetrics:
    words = count_words(text)
    grade = max(0.0, float(textstat.flesch_kincaid_grade(text))) if words else 0.0
    ease = float(textstat.flesch_reading_ease(text)) if words else 100.0
    spache = (
        round(float(textstat.spache_readability(text)), 1)
        if words and age <= SPACHE_MAX_AGE
        else None
    )
    low, high = target_grade_band(age, reading_level)
    return StoryMetrics(
        word_count=words,
        estimated_reading_time=round(words / reading_speed_wpm(age), 1),
        readability_grade=round(grade, 1),
        reading_ease=round(ease, 1),
        spache_grade=spache,
        target_grade_min=low,
        target_grade_max=high,
        fits_reader=low <= round(grade, 1) <= high,
        vocabulary_level=vocabulary_level(text),
        educational_elements=educational_elements(text),
    )


LENGTH_FACTOR: Mapping[str, float] = {"short": 0.6, "medium": 1.0, "long": 1.5}


def target_word_count(age: int, length: str = "medium") -> int:
    """How long a chapter should be: about four minutes of reading at medium length."""
    medium = max(120, min(600, reading_speed_wpm(age) * 4))
    return round(medium * LENGTH_FACTOR.get(length, 1.0) / 10) * 10


def warm_up() -> None:
    """Load the pronouncing dictionary and word lists now (about half a second), so the first
    chapter's metrics do not stall the event loop. Blocking: call from a worker thread."""
    measure_story("A warm-up sentence about a friendly owl.", age=6)
