"""User-written text (names, interests, custom themes) passes the safety rules before it is kept."""

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
