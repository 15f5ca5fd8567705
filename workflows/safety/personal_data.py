"""Personal data a story must never carry, whatever the model invents: patterns on the original
text, each checked further where a plain regex would also catch dates, years or counting."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_AT = r"(?:\s*(?:@|\[at\]|\(at\)|\{at\})\s*|\s+at\s+)"
_DOT = r"(?:\s*(?:\.|\[dot\]|\(dot\)|\{dot\})\s*|\s+dot\s+)"
_NAME = r"[a-z0-9_+-]+"
# Top-level domains only: "at home. Us too" must not read as an address.
_DOMAIN_END = r"(?:com|org|net|edu|gov|info|io|uk)\b"
_STREET_KINDS = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Close|Crescent|"
    "Place|Pl|Terrace|Way"
)


@dataclass(frozen=True)
class PersonalData:
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class _Pattern:
    label: str
    regex: re.Pattern[str]
    # A cheap test that text without it cannot match; most sentences skip the regex.
    needs: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] = lambda match: True


_DIGIT = re.compile(r"\d")
_AT_SIGN = re.compile(r"@")
_ANY_AT = re.compile(r"@|\bat\b", re.I)


def _is_year(digits: str) -> bool:
    return len(digits) == 4 and 1000 <= int(digits) < 2100


def _is_phone_number(match: re.Match[str]) -> bool:
    digits = sum(char.isdigit() for char in match.group())
    if not 7 <= digits <= 15:
        return False
    prefixed = match.group("lead") is not None or match.group("first").startswith("(")
    if not prefixed and len(match.group("first")) < 3:
        return False  # "12.05.2019" is a date
    groups = re.findall(r"\d+", match.group())
    if all(_is_year(group) for group in groups):
        return False  # "1999 2000" are years
    if _is_year(groups[0]) and all(len(group) <= 2 for group in groups[1:]):
        return False  # "2026-11-22" is a date
    separated = prefixed or any(not char.isdigit() for char in match.group())
    return separated or digits >= 10  # "1000000" is a number


PATTERNS = (
    _Pattern("email address", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), _AT_SIGN),
    _Pattern(
        "email address",
        re.compile(
            rf"\b{_NAME}(?:{_DOT}{_NAME})*{_AT}{_NAME}(?:{_DOT}{_NAME})*{_DOT}{_DOMAIN_END}", re.I
        ),
        _ANY_AT,
    ),
    _Pattern(
        "phone number",
        re.compile(
            r"(?<![\w+])(?P<lead>\+\d{1,3}[\s.-]?|1[\s.-])?(?P<first>\(\d{2,5}\)|\d{2,5})"
            r"(?:[\s.-]?\d{2,6}){1,4}(?!\w)"
        ),
        _DIGIT,
        _is_phone_number,
    ),
    _Pattern("card number", re.compile(r"\b(?:\d{4}[\s-]?){3}\d{4}\b"), _DIGIT),
    _Pattern(
        "street address",
        re.compile(
            rf"\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][\w'\u2019-]*\s+){{1,3}}(?:{_STREET_KINDS})\b"
        ),
        _DIGIT,
    ),
    # UK postcodes ("LS6 2AB"); capitals only, so ordinary words never match.
    _Pattern("postcode", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"), _DIGIT),
)


def find_personal_data(text: str) -> Iterator[PersonalData]:
    # dict.fromkeys: "mia@example.com" matches both email patterns, and is reported once.
    found = list(
        dict.fromkeys(
            PersonalData(pattern.label, match.start(), match.end())
            for pattern in PATTERNS
            if pattern.needs.search(text)
            for match in pattern.regex.finditer(text)
            if pattern.accept(match)
        )
    )
    for item in found:
        if not any(
            other.start <= item.start
            and item.end <= other.end
            and other.end - other.start > item.end - item.start
            for other in found
        ):
            yield item
