from __future__ import annotations

import pytest

from workflows.metrics import (
    count_words,
    measure_story,
    reading_speed_wpm,
    target_grade_band,
    target_word_count,
)

SIMPLE = "Mia saw a red ball. She ran to get it. The ball was big. Mia was happy."
HARD = (
    "Photosynthesis transforms luminous energy into chemical compounds, enabling extraordinary "
    "ecological interdependence throughout magnificent, biodiverse rainforest ecosystems."
)


def test_simple_text_reads_at_a_low_grade_with_beginner_vocabulary() -> None:
    metrics = measure_story(SIMPLE, age=6, reading_level="beginner")
    assert metrics["word_count"] == 17
    assert metrics["readability_grade"] < 2
    assert metrics["reading_ease"] > 90
    assert metrics["spache_grade"] is not None
    assert metrics["spache_grade"] < 3
    assert (metrics["target_grade_min"], metrics["target_grade_max"]) == (0.0, 1.0)
    assert metrics["fits_reader"] is True
    assert metrics["vocabulary_level"] == "beginner"
    assert "colours" in metrics["educational_elements"]
    assert "feelings" in metrics["educational_elements"]


def test_hard_text_reads_at_a_high_grade_with_advanced_vocabulary() -> None:
    metrics = measure_story(HARD, age=10, reading_level="advanced")
    assert metrics["readability_grade"] > 12
    assert metrics["reading_ease"] < 30
    assert metrics["spache_grade"] is None  # Spache is for the youngest readers only
    assert (metrics["target_grade_min"], metrics["target_grade_max"]) == (4.5, 6.5)
    assert metrics["fits_reader"] is False
    assert metrics["vocabulary_level"] == "advanced"


@pytest.mark.parametrize(
    ("age", "level", "band"),
    [
        (4, "beginner", (0.0, 2.0)),
        (6, "beginner", (0.0, 1.0)),
        (6, "intermediate", (0.0, 1.5)),
        (8, "intermediate", (1.5, 3.5)),
        (12, "advanced", (6.5, 8.5)),
    ],
)
def test_target_grade_band_follows_age_and_reading_level(
    age: int, level: str, band: tuple[float, float]
) -> None:
    assert target_grade_band(age, level) == band


def test_a_grade_three_text_fits_a_nine_year_old_but_not_a_six_year_old_beginner() -> None:
    text = (
        "Sam and his dog ran across the field to the old bridge. "
        "The river below was bright in the morning sun. "
        "They stopped to watch a family of ducks swim in a line."
    )
    nine = measure_story(text, age=9, reading_level="intermediate")
    six = measure_story(text, age=6, reading_level="beginner")
    assert nine["target_grade_min"] <= nine["readability_grade"] <= nine["target_grade_max"]
    assert nine["fits_reader"] is True
    assert six["fits_reader"] is False


@pytest.mark.parametrize(("age", "wpm"), [(3, 100), (5, 100), (6, 55), (9, 120), (12, 150)])
def test_reading_speed_follows_age(age: int, wpm: int) -> None:
    assert reading_speed_wpm(age) == wpm


def test_reading_time_is_words_over_speed() -> None:
    text = " ".join(["word"] * 275)
    assert count_words(text) == 275
    assert measure_story(text, age=6)["estimated_reading_time"] == 5.0


def test_target_length_stays_within_bounds() -> None:
    assert [target_word_count(age) for age in (3, 6, 12)] == [400, 220, 600]
