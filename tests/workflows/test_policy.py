from __future__ import annotations

from typing import cast

import pytest

from workflows.policy import SEMANTIC_TERM, apply_policy, report, sentence_check
from workflows.safety import load_rule_check
from workflows.safety.classifier import load_semantic_check
from workflows.state import SafetyIssue, StoryRequest

SPOOKY = SafetyIssue(category="scary", severity="medium", term="zombie", span=(2, 8))
GUN = SafetyIssue(category="weapons", severity="high", term="gun", span=(0, 3))


def _request(age: int, mild_peril: bool, blocked: list[str] | None = None) -> StoryRequest:
    return cast(
        StoryRequest,
        {"child_age": age, "allow_mild_peril": mild_peril, "blocked_topics": blocked or []},
    )


@pytest.mark.parametrize(
    ("age", "mild_peril", "severity"),
    [(6, True, "medium"), (7, False, "medium"), (7, True, "low"), (12, True, "low")],
)
def test_mild_peril_is_allowed_for_older_readers_whose_parent_allows_it(
    age: int, mild_peril: bool, severity: str
) -> None:
    [issue] = apply_policy([SPOOKY], _request(age, mild_peril))
    assert issue["severity"] == severity
    assert report([issue])["approved"] is (severity == "low")


def test_policy_never_softens_other_categories() -> None:
    assert apply_policy([GUN], _request(12, True)) == [GUN]
    assert report([GUN]) == {"approved": False, "score": 0.5, "issues": [GUN]}


async def test_the_sentence_check_includes_the_parents_blocked_topics() -> None:
    check = sentence_check(
        load_rule_check(), load_semantic_check(), _request(6, False, ["spiders"])
    )
    assert [issue["category"] for issue in await check("Two spiders danced.")] == ["blocked_topic"]
    assert await check("Two ladybirds danced.") == []


async def test_the_sentence_check_adds_the_classifier_to_the_rules() -> None:
    check = sentence_check(load_rule_check(), load_semantic_check(), _request(6, False))
    # No word of it is on a list; its meaning is what is wrong.
    [issue] = await check("Then the man told Lily to take off all her clothes and keep it secret.")
    assert issue["term"] == SEMANTIC_TERM
    assert issue["severity"] == "high"
    assert issue["category"] in {"sexual", "manipulation"}
    assert (
        load_rule_check().find_issues(
            "Then the man told Lily to take off all her clothes and keep it secret."
        )
        == []
    )


async def test_the_rules_alone_when_no_classifier_is_given() -> None:
    check = sentence_check(load_rule_check(), None, _request(6, False))
    assert (
        await check("Then the man told Lily to take off all her clothes and keep it secret.") == []
    )
