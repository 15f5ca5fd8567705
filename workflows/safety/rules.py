"""Word-list and pattern rules: fast, offline and explainable (a hit names its category and span).

Word lists live in `wordlists/<category>.txt`, one term per line, with a `# severity: <level>`
header. Terms match whole words, case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import cast

from workflows.state import SafetyIssue, SafetyReport, Severity

SEVERITY_PENALTY: Mapping[Severity, float] = {"low": 0.05, "medium": 0.2, "high": 0.5}
APPROVAL_THRESHOLD = 0.7
_SEVERITY_HEADER = re.compile(r"#\s*severity:\s*(low|medium|high)", re.I)

# Personal data a story must never carry, whatever the model invents.
PERSONAL_DATA_PATTERNS: Mapping[str, re.Pattern[str]] = {
    "email address": re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b"),
    "phone number": re.compile(r"(?<!\w)(?:\+?\d[\s.-]?){7,14}\d(?!\w)"),
    "street address": re.compile(
        r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Drive)\b"
    ),
}


@dataclass(frozen=True)
class CategoryRule:
    category: str
    severity: Severity
    pattern: re.Pattern[str]


def _compile_terms(terms: Iterable[str]) -> re.Pattern[str]:
    # Longest first so that "machine gun" wins over "gun" for the reported span.
    alternatives = sorted({re.escape(term) for term in terms}, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])", re.IGNORECASE)


def parse_wordlist(category: str, text: str) -> CategoryRule:
    severity: Severity = "high"
    terms = []
    for line in text.splitlines():
        stripped = line.strip()
        header = _SEVERITY_HEADER.match(stripped)
        if header:
            severity = cast(Severity, header.group(1).lower())
        elif stripped and not stripped.startswith("#"):
            terms.append(stripped)
    if not terms:
        raise ValueError(f"safety word list {category!r} has no terms")
    return CategoryRule(category=category, severity=severity, pattern=_compile_terms(terms))


@dataclass(frozen=True)
class RuleCheck:
    """Checks text against every word list and personal-data pattern."""

    rules: tuple[CategoryRule, ...]

    def find_issues(self, text: str, blocked_topics: Iterable[str] = ()) -> list[SafetyIssue]:
        issues: list[SafetyIssue] = []
        topics = [topic.strip() for topic in blocked_topics if topic.strip()]
        if topics:
            # A parent's blocked topics weigh as much as the strongest built-in category.
            for match in _compile_terms(topics).finditer(text):
                issues.append(
                    SafetyIssue(
                        category="blocked_topic",
                        severity="high",
                        term=match.group(0),
                        span=(match.start(), match.end()),
                    )
                )
        for rule in self.rules:
            for match in rule.pattern.finditer(text):
                issues.append(
                    SafetyIssue(
                        category=rule.category,
                        severity=rule.severity,
                        term=match.group(0),
                        span=(match.start(), match.end()),
                    )
                )
        for label, pattern in PERSONAL_DATA_PATTERNS.items():
            for match in pattern.finditer(text):
                issues.append(
                    SafetyIssue(
                        category="personal_data",
                        severity="high",
                        term=label,
                        span=(match.start(), match.end()),
                    )
                )
        issues.sort(key=lambda issue: issue["span"])
        return issues

    def assess(self, text: str, blocked_topics: Iterable[str] = ()) -> SafetyReport:
        issues = self.find_issues(text, blocked_topics)
        score = max(0.0, 1.0 - sum(SEVERITY_PENALTY[issue["severity"]] for issue in issues))
        # Low-severity hits lower the score; anything stronger keeps the chapter from a child.
        approved = score >= APPROVAL_THRESHOLD and all(
            issue["severity"] == "low" for issue in issues
        )
        return SafetyReport(approved=approved, score=round(score, 3), issues=issues)


@cache
def load_rule_check() -> RuleCheck:
    folder = resources.files("workflows.safety").joinpath("wordlists")
    rules = tuple(
        parse_wordlist(entry.name.removesuffix(".txt"), entry.read_text("utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda entry: entry.name)
        if entry.name.endswith(".txt")
    )
    return RuleCheck(rules=rules)
