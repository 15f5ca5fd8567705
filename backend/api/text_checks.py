"""User-written text (names, interests, blocked topics, custom themes) passes the safety rules
before it is kept."""

from __future__ import annotations

from fastapi import HTTPException, status

from workflows.safety import load_rule_check


def refuse_unsafe_text(field: str, text: str) -> None:
    report = load_rule_check().assess(text)
    if not report["approved"]:
        categories = sorted({issue["category"] for issue in report["issues"]})
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"{field}: not suitable for a children's story ({', '.join(categories)})",
        )


# A topic a parent rules out names what it keeps out ("guns", "blood"): the story rules block
# those anyway, so only what no prompt may carry at all is refused (issue 13).
_NEVER_IN_A_PROMPT = frozenset({"personal_data", "profanity"})


def refuse_unsafe_blocked_topic(text: str) -> None:
    report = load_rule_check().assess(text)
    categories = sorted({issue["category"] for issue in report["issues"]} & _NEVER_IN_A_PROMPT)
    if categories:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"blocked_topics: not suitable for a story prompt ({', '.join(categories)})",
        )
