from __future__ import annotations

import pytest

from workflows.metrics import count_words, measure_story, reading_speed_wpm, target_word_count

SIMPLE = "Mia saw a red ball. She ran to get it. The ball was big. Mia was happy."
HARD = (
    "Photosynthesis transforms luminous energy into chemical compounds, enabling extraordinary "
    "ecological interdependence throughout magnificent, biodiverse rainforest ecosystems."
)


def test_simple_text_reads_at_a_low_grade_with_beginner_vocabulary() -> None:
    metrics = measure_story(SIMPLE, age=6)
    assert metrics["word_count"] == 17
    assert metrics["readability_grade"] < 2
    assert metrics["vocabulary_level"] == "beginner"
    assert "colours" in metrics["educational_elements"]
    assert "feelings" in metrics["educational_elements"]


def test_hard_text_reads_at_a_high_grade_with_advanced_vocabulary() -> None:
    metrics = measure_story(HARD, age=10)
    assert metrics["readability_grade"] > 12
    assert metrics["vocabulary_level"] == "advanced"


@pytest.mark.parametrize(("age", "wpm"), [(3, 100), (5, 100), (6, 55), (9, 120), (12, 150)])
def test_reading_speed_follows_age(age: int, wpm: int) -> None:
    assert reading_speed_wpm(age) == wpm


def test_reading_time_is_words_over_speed() -> None:
    text = " ".join(["word"] * 275)
    assert count_words(text) == 275
    assert measure_story(text, age=6)["estimated_reading_time"] == 5.0


def test_target_length_stays_within_bounds() -> None:
    assert [target_word_count(age) for age in (3, 6, 12)] == [400, 220, 600]
