"""How strict the checks are for one reader: the same findings weigh differently by age and by
what the parent allows."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from workflows.safety import RuleCheck, build_report
from workflows.state import SafetyIssue, SafetyReport, StoryRequest

# Mild suspense ("scary" words) is fine for older readers whose parent allows it.
MILD_PERIL_MIN_AGE = 7
MILD_PERIL_CATEGORIES = frozenset({"scary"})


def apply_policy(issues: list[SafetyIssue], request: StoryRequest) -> list[SafetyIssue]:
    allow_peril = request["allow_mild_peril"] and request["child_age"] >= MILD_PERIL_MIN_AGE
    if not allow_peril:
        return issues
    return [
        SafetyIssue(**{**issue, "severity": "low"})
        if issue["category"] in MILD_PERIL_CATEGORIES and issue["severity"] == "medium"
        else issue
        for issue in issues
    ]


def sentence_check(rules: RuleCheck, request: StoryRequest) -> Callable[[str], list[SafetyIssue]]:
    """The fast check the streaming gate runs on each sentence for this reader."""
    find = partial(rules.find_issues, blocked_topics=request["blocked_topics"])
    return lambda sentence: apply_policy(find(sentence), request)


def report(issues: list[SafetyIssue]) -> SafetyReport:
    """The verdict on issues after the policy: the rules' own scoring, one formula for all."""
    return build_report(issues)
