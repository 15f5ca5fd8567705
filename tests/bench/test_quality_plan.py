"""The story-quality benchmark's plan: which chapters a run writes."""

from __future__ import annotations

from bench.quality import THEMES, plan


def test_the_default_plan_is_every_theme_and_age_four_to_ten_in_turn() -> None:
    chapters = plan(16)
    assert [index for index, _, _ in chapters] == list(range(16))
    assert [theme for _, theme, _ in chapters[:8]] == list(THEMES)
    assert [age for _, _, age in chapters[:8]] == [4, 5, 6, 7, 8, 9, 10, 4]


def test_skipping_continues_the_same_sequence_with_chapters_not_written_before() -> None:
    first, fresh = plan(32), plan(16, skip=32)
    assert fresh == plan(48)[32:]
    assert not {(theme, age) for _, theme, age in first} & {(theme, age) for _, theme, age in fresh}
