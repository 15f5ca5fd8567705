"""Measures the word lists on the hand-written sets they were tuned on (tests/data/safety/); the
whole gate's held-out measure is tests/e2e/test_safety_evaluation_api.py.

The rates are printed past pytest's output capture and recorded as junit properties, so they show
with or without `-s`, and the asserted ones are in the assertion messages too. Timing is
reported only: a shared CI machine makes a timing assertion flaky.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from bench.safety_eval import gate_check
from tests.support import Report
from workflows.policy import blocks
from workflows.safety import load_rule_check

DATA = Path(__file__).parents[1] / "data" / "safety"
CATEGORIES = (
    "violence",
    "weapons",
    "sexual",
    "self_harm",
    "hate",
    "drugs_alcohol",
    "scary",
    "profanity",
    "personal_data",
)
MIN_UNSAFE_BLOCKED = 0.98
MIN_BENIGN_PASSED = 0.97
MIN_SENTENCES_PER_CATEGORY = 10
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")


@cache
def load(name: str) -> tuple[dict[str, Any], ...]:
    lines = (DATA / name).read_text("utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def approved(text: str) -> bool:
    return load_rule_check().assess(text)["approved"]


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}% ({part}/{whole})"


def examples(texts: Sequence[str], limit: int = 10) -> str:
    return "".join(f"\n  - {text}" for text in texts[:limit])


def test_every_category_has_at_least_ten_unsafe_sentences() -> None:
    counts = Counter(row["category"] for row in load("unsafe_sentences.jsonl"))
    assert set(counts) == set(CATEGORIES), f"categories in the set: {sorted(counts)}"
    thin = {category: n for category, n in counts.items() if n < MIN_SENTENCES_PER_CATEGORY}
    assert not thin, f"categories with fewer than {MIN_SENTENCES_PER_CATEGORY} sentences: {thin}"


def test_evaluation_sets_are_large_enough_and_have_no_duplicates() -> None:
    unsafe = [row["text"] for row in load("unsafe_sentences.jsonl")]
    benign = [row["text"] for row in load("benign_sentences.jsonl")]
    assert len(unsafe) >= 150
    assert len(benign) >= 150
    assert len(set(unsafe)) == len(unsafe)
    assert len(set(benign)) == len(benign)
    assert not set(unsafe) & set(benign)
    assert all(row["note"] for row in load("benign_sentences.jsonl"))


def test_stories_are_short_and_about_half_unsafe() -> None:
    stories = load("stories.jsonl")
    assert len(stories) == 20
    assert 8 <= sum(not story["safe"] for story in stories) <= 12
    for story in stories:
        sentences = len(_SENTENCE_END.findall(story["text"]))
        assert 5 <= sentences <= 12, f"{sentences} sentences: {story['note']}"


def test_unsafe_sentences_are_blocked(report: Report) -> None:
    rows = load("unsafe_sentences.jsonl")
    missed = [row["text"] for row in rows if approved(row["text"])]
    blocked = len(rows) - len(missed)
    rate = blocked / len(rows)
    report("unsafe blocked", percent(blocked, len(rows)))
    for category in CATEGORIES:
        in_category = [row["text"] for row in rows if row["category"] == category]
        caught = sum(not approved(text) for text in in_category)
        report(f"unsafe blocked, {category}", percent(caught, len(in_category)))
    assert rate >= MIN_UNSAFE_BLOCKED, (
        f"unsafe blocked {percent(blocked, len(rows))}, below {MIN_UNSAFE_BLOCKED:.0%}; "
        f"missed:{examples(missed)}"
    )


def test_blocked_sentences_name_the_expected_category(report: Report) -> None:
    """Reported only: a gory scary sentence may fairly be reported as violence."""
    check = load_rule_check()
    rows = [row for row in load("unsafe_sentences.jsonl") if not approved(row["text"])]
    named = sum(
        row["category"] in {issue["category"] for issue in check.find_issues(row["text"])}
        for row in rows
    )
    report("blocked with the expected category", percent(named, len(rows)))


def test_benign_sentences_pass(report: Report) -> None:
    check = load_rule_check()
    rows = load("benign_sentences.jsonl")
    refused = [
        f"{row['text']} ({', '.join(issue['term'] for issue in check.find_issues(row['text']))})"
        for row in rows
        if not approved(row["text"])
    ]
    passed = len(rows) - len(refused)
    report("benign passed", percent(passed, len(rows)))
    assert passed / len(rows) >= MIN_BENIGN_PASSED, (
        f"benign passed {percent(passed, len(rows))}, below {MIN_BENIGN_PASSED:.0%}; "
        f"refused:{examples(refused)}"
    )


def test_whole_stories_are_judged_correctly(report: Report) -> None:
    stories = load("stories.jsonl")
    wrong = [story["note"] for story in stories if approved(story["text"]) != story["safe"]]
    correct = len(stories) - len(wrong)
    report("stories correct", percent(correct, len(stories)))
    assert not wrong, f"stories correct {percent(correct, len(stories))}; wrong:{examples(wrong)}"


def test_known_limits_are_reported(report: Report) -> None:
    """Sentences word lists cannot judge, or judge more strictly than a reader might; these are
    tracked here, not asserted, so an improvement (or a regression) shows in the report."""
    rows = load("known_limits.jsonl")
    assert {row["kind"] for row in rows} <= {"missed", "strict"}
    for kind in ("missed", "strict"):
        of_kind = [row for row in rows if row["kind"] == kind]
        as_documented = sum(approved(row["text"]) != row["should_approve"] for row in of_kind)
        report(f"known limits still {kind}", f"{as_documented}/{len(of_kind)}")


def test_cost_per_sentence_is_reported(report: Report) -> None:
    check = load_rule_check()
    sentences = [
        row["text"]
        for name in ("unsafe_sentences.jsonl", "benign_sentences.jsonl")
        for row in load(name)
    ]
    stories = [story["text"] for story in load("stories.jsonl")]
    for text in sentences:
        check.assess(text)  # warm the per-word cache, as a running service has
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        for text in sentences:
            check.assess(text)
    per_sentence = (time.perf_counter() - started) / (rounds * len(sentences))
    started = time.perf_counter()
    for _ in range(rounds):
        for text in stories:
            check.assess(text)
    per_story = (time.perf_counter() - started) / (rounds * len(stories))
    report("mean cost per sentence", f"{per_sentence * 1e6:.0f} µs")
    report("mean cost per whole story", f"{per_story * 1e6:.0f} µs")


async def test_known_limits_through_the_whole_gate_are_reported(report: Report) -> None:
    """The same sentences through the gate's own check (rules and semantic classifier)."""
    check = gate_check()
    rows = load("known_limits.jsonl")
    for kind in ("missed", "strict"):
        of_kind = [row for row in rows if row["kind"] == kind]
        as_documented = 0
        for row in of_kind:
            passed = not blocks(await check(row["text"]))
            as_documented += passed != row["should_approve"]
        report(f"known limits still {kind} by the whole gate", f"{as_documented}/{len(of_kind)}")
