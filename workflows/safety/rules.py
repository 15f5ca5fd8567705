"""Word-list and pattern rules: fast, offline and explainable (a hit names its category and span).

Word lists live in `wordlists/<category>.txt` (syntax in `terms.py`), with shared word sets in
`word_sets.txt`, everyday phrases that excuse a listed word in `allowed_phrases.txt` and the
characters of disguised spellings in `obfuscation.txt`. A check folds the text once, splits it
into words, reads each word every way it may be disguised, and reports spans of the original
text. Personal data (emails, phone numbers, street addresses) are patterns in `personal_data.py`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from workflows.safety.folding import Folder
from workflows.safety.matcher import Hit, PhraseMatcher
from workflows.safety.obfuscation import parse_obfuscation
from workflows.safety.personal_data import find_personal_data
from workflows.safety.terms import Phrase, parse_terms, parse_word_sets
from workflows.safety.tokens import Tokenizer
from workflows.safety.topics import blocked_topic_matcher
from workflows.state import SafetyIssue, SafetyReport, Severity

SEVERITY_PENALTY: Mapping[Severity, float] = {"low": 0.05, "medium": 0.2, "high": 0.5}
_SEVERITY_RANK: Mapping[Severity, int] = {"low": 0, "medium": 1, "high": 2}
PERSONAL_DATA = "personal_data"


@dataclass(frozen=True, eq=False)
class RuleCheck:
    """Checks text against every word list and personal-data pattern."""

    folder: Folder
    tokenizer: Tokenizer
    rules: PhraseMatcher
    allowed: PhraseMatcher

    def find_issues(self, text: str, blocked_topics: Iterable[str] = ()) -> list[SafetyIssue]:
        topics = tuple(dict.fromkeys(topic.strip() for topic in blocked_topics if topic.strip()))
        topic_matcher = blocked_topic_matcher(topics) if topics else None
        folded = self.folder.fold(text)
        tokens = self.tokenizer.tokenize(folded.text)
        spelled = self.tokenizer.spelled_out(
            folded.text, tokens, also=topic_matcher.vocabulary if topic_matcher else frozenset()
        )
        excuses = self.allowed.find(tokens, spelled)
        hits = _strongest(
            hit for hit in self.rules.find(tokens, spelled) if not _inside_any(hit, excuses)
        )
        if topic_matcher is not None:
            # A parent's blocked topics weigh as much as the strongest built-in category, and no
            # everyday phrase excuses them.
            hits.extend(_strongest(topic_matcher.find(tokens, spelled)))
        issues = []
        for hit in hits:
            start, end = folded.original_span(hit.start, hit.end)
            issues.append(
                SafetyIssue(
                    category=hit.label.category,
                    severity=hit.label.severity,
                    term=text[start:end],
                    span=(start, end),
                )
            )
        issues.extend(
            SafetyIssue(
                category=PERSONAL_DATA,
                severity="high",
                term=found.label,
                span=(found.start, found.end),
            )
            for found in find_personal_data(text)
        )
        issues.sort(key=lambda issue: (issue["span"], issue["category"]))
        return issues

    def assess(self, text: str, blocked_topics: Iterable[str] = ()) -> SafetyReport:
        return build_report(self.find_issues(text, blocked_topics))


def build_report(issues: list[SafetyIssue]) -> SafetyReport:
    """Approved when no issue is above `low`; the score falls with every issue."""
    # Each issue takes its share of what is left: the score falls with every issue, stays
    # above zero, and a low-severity word alone never weighs like a high one.
    score = math.prod(1.0 - SEVERITY_PENALTY[issue["severity"]] for issue in issues)
    # Low-severity hits lower the score; anything stronger keeps the chapter from a child.
    approved = all(issue["severity"] == "low" for issue in issues)
    return SafetyReport(approved=approved, score=round(float(score), 3), issues=issues)


def _inside_any(hit: Hit, excuses: Sequence[Hit]) -> bool:
    return any(excuse.start <= hit.start and hit.end <= excuse.end for excuse in excuses)


def _strongest(hits: Iterable[Hit]) -> list[Hit]:
    """Hits without duplicates or those inside a longer hit at least as severe ("machine gun"
    rather than "gun" as well; "kill himself" as self-harm rather than also as violence)."""
    unique = list(dict.fromkeys(hits))
    return [
        hit
        for hit in unique
        if not any(
            other.start <= hit.start
            and hit.end <= other.end
            and other.end - other.start > hit.end - hit.start
            and _SEVERITY_RANK[other.label.severity] >= _SEVERITY_RANK[hit.label.severity]
            for other in unique
        )
    ]


def _read(name: str) -> str:
    return resources.files("workflows.safety").joinpath(name).read_text("utf-8")


@cache
def load_rule_check() -> RuleCheck:
    obfuscation = parse_obfuscation(_read("obfuscation.txt"))
    sets = parse_word_sets(_read("word_sets.txt"))
    gap_stops = frozenset(word for words in sets.get("gap_stop", ()) for word in words)
    folder = resources.files("workflows.safety").joinpath("wordlists")
    phrases: list[Phrase] = []
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.name.endswith(".txt"):
            category = entry.name.removesuffix(".txt")
            phrases.extend(parse_terms(entry.name, entry.read_text("utf-8"), category, sets))
    rules = PhraseMatcher(phrases, gap_stops)
    allowed = PhraseMatcher(
        parse_terms("allowed_phrases.txt", _read("allowed_phrases.txt"), "allowed", sets),
        gap_stops,
    )
    return RuleCheck(
        folder=Folder(obfuscation.lookalikes),
        tokenizer=Tokenizer(obfuscation, rules.vocabulary | allowed.vocabulary),
        rules=rules,
        allowed=allowed,
    )
