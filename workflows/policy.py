"""How strict the checks are for one reader: the same findings weigh differently by age and by
what the parent allows. The checks themselves are the rules (word lists and patterns) and the
semantic classifier; a sentence is blocked when either finds a problem above `low`."""

from __future__ import annotations

from workflows.safety import RuleCheck, build_report
from workflows.safety.classifier import SemanticCheck, SemanticVerdict
from workflows.safety.sentences import sentence_spans
from workflows.sentence_gate import SentenceCheck
from workflows.state import SafetyIssue, SafetyReport, StoryRequest

# Mild suspense ("scary" words) is fine for older readers whose parent allows it.
MILD_PERIL_MIN_AGE = 7
MILD_PERIL_CATEGORIES = frozenset({"scary"})
# The term of an issue the classifier found: it judges meaning, not a word.
SEMANTIC_TERM = "semantic classifier"


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


def blocks(issues: list[SafetyIssue]) -> bool:
    return any(issue["severity"] != "low" for issue in issues)


def semantic_issue(verdict: SemanticVerdict, span: tuple[int, int]) -> SafetyIssue:
    # Horror the classifier finds is the kind too intense for any age, so no policy lowers it.
    return SafetyIssue(category=verdict.category, severity="high", term=SEMANTIC_TERM, span=span)


def sentence_check(
    rules: RuleCheck, classifier: SemanticCheck | None, request: StoryRequest
) -> SentenceCheck:
    """The check the streaming gate runs on each sentence for this reader: the rules first (a
    sentence they block needs no encoder), then the classifier (None: the rules alone, which
    the evaluations use for comparison)."""
    topics = request["blocked_topics"]

    async def check(sentence: str) -> list[SafetyIssue]:
        issues = apply_policy(rules.find_issues(sentence, blocked_topics=topics), request)
        if blocks(issues) or classifier is None:
            return issues
        (verdict,) = await classifier.judge([sentence])
        if verdict.blocked:
            issues = [*issues, semantic_issue(verdict, (0, len(sentence)))]
        return issues

    return check


async def text_issues(
    rules: RuleCheck, classifier: SemanticCheck, text: str, request: StoryRequest
) -> list[SafetyIssue]:
    """Every issue in a whole text: the rules over all of it, the classifier sentence by
    sentence (spans in the text)."""
    issues = apply_policy(
        rules.find_issues(text, blocked_topics=request["blocked_topics"]), request
    )
    spans = sentence_spans(text)
    verdicts = await classifier.judge([text[start:end] for start, end in spans])
    issues.extend(
        semantic_issue(verdict, span)
        for span, verdict in zip(spans, verdicts, strict=True)
        if verdict.blocked
    )
    return issues


def report(issues: list[SafetyIssue]) -> SafetyReport:
    """The verdict on issues after the policy: the rules' own scoring, one formula for all."""
    return build_report(issues)
