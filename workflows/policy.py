"""How strict the checks are for one reader, and how the two checks combine.

The same findings weigh differently by age and by what the parent allows. The checks are the
rules (word lists and patterns) and the semantic classifier; a sentence is blocked when either
finds a problem above `low`, with one exception: a listed word spelled plainly ("murder" in "a
murder of crows", "Dick" in "Dick Whittington") in a sentence the classifier reads as clearly
safe is an everyday use the allow-list did not foresee, and is kept as a `low` finding instead.
Disguised spellings, personal data and the parent's blocked topics are never excused.
"""

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
# A plainly spelled listed word is excused where the encoder reads its sentence under the
# model's own `excuse_below` (SemanticVerdict.excuses), except in these categories.
_NEVER_EXCUSED = frozenset({"personal_data", "blocked_topic"})


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


def excusable(issue: SafetyIssue, rules: RuleCheck) -> bool:
    """A word-list hit written as the list writes it, which the classifier may excuse."""
    if issue["category"] in _NEVER_EXCUSED or issue["severity"] == "low":
        return False
    words = issue["term"].lower().replace("-", " ").split()
    return bool(words) and all(word in rules.rules.vocabulary for word in words)


def combine(
    rules: RuleCheck, issues: list[SafetyIssue], verdict: SemanticVerdict, span: tuple[int, int]
) -> list[SafetyIssue]:
    """One sentence's rule findings (after the policy) with the classifier's verdict on it."""
    if verdict.blocked:
        return [*issues, semantic_issue(verdict, span)]
    if not verdict.excuses:
        return issues  # only the encoder's own reading, under the model's excuse_below, excuses
    return [
        SafetyIssue(**{**issue, "severity": "low"}) if excusable(issue, rules) else issue
        for issue in issues
    ]


def semantic_issue(verdict: SemanticVerdict, span: tuple[int, int]) -> SafetyIssue:
    # Horror the classifier finds is the kind too intense for any age, so no policy lowers it.
    return SafetyIssue(category=verdict.category, severity="high", term=SEMANTIC_TERM, span=span)


def sentence_check(
    rules: RuleCheck, classifier: SemanticCheck | None, request: StoryRequest
) -> SentenceCheck:
    """The check the streaming gate runs on each sentence for this reader: the rules first (a
    sentence they block for good needs no encoder), then the classifier (None: the rules alone,
    which the evaluations use for comparison)."""
    topics = request["blocked_topics"]

    async def check(sentence: str) -> list[SafetyIssue]:
        issues = apply_policy(rules.find_issues(sentence, blocked_topics=topics), request)
        hard = [i for i in issues if i["severity"] != "low" and not excusable(i, rules)]
        if hard or classifier is None:
            return issues
        # A sentence with a listed word goes to the encoder itself: only its reading may excuse.
        (verdict,) = await classifier.judge([sentence], screen=not blocks(issues))
        return combine(rules, issues, verdict, (0, len(sentence)))

    return check


async def text_issues(
    rules: RuleCheck, classifier: SemanticCheck, text: str, request: StoryRequest
) -> list[SafetyIssue]:
    """Every issue in a whole text: the rules over all of it, the classifier sentence by
    sentence (spans in the text), combined per sentence as the gate combines them."""
    found = apply_policy(rules.find_issues(text, blocked_topics=request["blocked_topics"]), request)
    spans = sentence_spans(text)
    verdicts = await classifier.judge([text[start:end] for start, end in spans])
    issues: list[SafetyIssue] = []
    for span, verdict in zip(spans, verdicts, strict=True):
        inside = [issue for issue in found if span[0] <= issue["span"][0] < span[1]]
        if verdict.stage != "encoder" and blocks(inside):
            (verdict,) = await classifier.judge([text[span[0] : span[1]]], screen=False)
        issues.extend(combine(rules, inside, verdict, span))
    # A finding that starts outside every sentence (there is none today) stands as found.
    issues.extend(issue for issue in found if not any(s <= issue["span"][0] < e for s, e in spans))
    return issues


def report(issues: list[SafetyIssue]) -> SafetyReport:
    """The verdict on issues after the policy: the rules' own scoring, one formula for all."""
    return build_report(issues)
