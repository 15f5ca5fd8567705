from __future__ import annotations

import pytest

from workflows.safety import load_rule_check


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("The pirate pulled out a gun.", "weapons"),
        ("He wanted to kill the dragon.", "violence"),
        ("Dad drank a beer by the fire.", "drugs_alcohol"),
        ("Call me on 555 123 4567 tonight.", "personal_data"),
        ("Write to mia@example.com for a prize.", "personal_data"),
        ("A zombie crawled out of the ground.", "scary"),
    ],
)
def test_unsafe_text_is_rejected_with_category_and_span(text: str, category: str) -> None:
    report = load_rule_check().assess(text)
    assert not report["approved"]
    issue = next(issue for issue in report["issues"] if issue["category"] == category)
    start, end = issue["span"]
    assert text[start:end].lower() == issue["term"].lower() or category == "personal_data"
    assert report["score"] < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Mia said hello to the shell on the beach.",
        "The class passed the skill test together.",
        "Grandma planted seeds and watched them grow.",
    ],
)
def test_gentle_text_with_lookalike_words_is_approved(text: str) -> None:
    report = load_rule_check().assess(text)
    assert report == {"approved": True, "score": 1.0, "issues": []}


def test_multi_word_terms_win_over_their_parts() -> None:
    issues = load_rule_check().find_issues("They hid the machine gun.")
    assert [issue["term"] for issue in issues] == ["machine gun"]
