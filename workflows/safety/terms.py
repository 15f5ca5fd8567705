"""Parses the word lists into phrases the matcher walks over tokens.

One term a line, words separated by spaces; words match whole and case-insensitively.

    word      that word
    a|b|c     any one of these words
    (a b|c)   any one of these, where an alternative may be several words ("(no one|nobody)")
    @name     any entry of the set `name` in word_sets.txt (an entry may be several words)
    *         a gap of zero to three words (never across a word of the set `gap_stop`)
    *'s       one to three words, the last one ending in 's ("Snow White's")

Hyphens count as spaces ("self-harm" is "self harm"). A `# severity: low|medium|high` line sets the
severity of the terms below it; other `#` lines are comments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from workflows.state import Severity

WordSets = Mapping[str, tuple[tuple[str, ...], ...]]

_SEVERITY_HEADER = re.compile(r"#\s*severity:\s*(low|medium|high)\s*", re.IGNORECASE)
_SET_LINE = re.compile(r"@(\w+)\s*=\s*(.+)")
_WORD = re.compile(r"[a-z0-9']+")
_PART = re.compile(r"\([^)]*\)|[^\s(]+")


class WordListError(ValueError):
    """A word list, set or table file that cannot be read; the message names file and line."""


@dataclass(frozen=True)
class Label:
    category: str
    severity: Severity


@dataclass(frozen=True)
class Words:
    alternatives: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Gap:
    possessive: bool


Slot = Words | Gap


@dataclass(frozen=True, eq=False)
class Phrase:
    slots: tuple[Slot, ...]
    label: Label

    @property
    def single_words(self) -> frozenset[str]:
        """The words this phrase matches when it is one word long, else nothing."""
        if len(self.slots) != 1:
            return frozenset()
        first = cast(Words, self.slots[0])
        return frozenset(words[0] for words in first.alternatives if len(words) == 1)


def parse_word_sets(
    text: str, source: str = "word_sets.txt"
) -> dict[str, tuple[tuple[str, ...], ...]]:
    sets: dict[str, tuple[tuple[str, ...], ...]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source}:{number}"
        definition = _SET_LINE.fullmatch(stripped)
        if definition is None:
            raise WordListError(f"{where}: expected '@name = word | two words'")
        entries = _alternatives(definition.group(2).split("|"), sets, where)
        sets[definition.group(1)] = entries
    return sets


def parse_terms(source: str, text: str, category: str, sets: WordSets) -> list[Phrase]:
    severity: Severity = "high"
    phrases = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = _SEVERITY_HEADER.fullmatch(stripped)
        if header:
            severity = cast(Severity, header.group(1).lower())
        elif stripped and not stripped.startswith("#"):
            slots = _slots(stripped, sets, f"{source}:{number}")
            phrases.append(Phrase(slots=slots, label=Label(category, severity)))
    if not phrases:
        raise WordListError(f"safety word list {source!r} has no terms")
    return phrases


def _slots(term: str, sets: WordSets, where: str) -> tuple[Slot, ...]:
    slots: list[Slot] = []
    for part in _PART.findall(term.replace("-", " ")):
        if part in ("*", "*'s"):
            slots.append(Gap(possessive=part == "*'s"))
        else:
            slots.append(Words(_alternatives(part.strip("()").split("|"), sets, where)))
    if isinstance(slots[0], Gap) or isinstance(slots[-1], Gap):
        raise WordListError(f"{where}: a term must start and end with a word")
    return tuple(slots)


def _alternatives(entries: list[str], sets: WordSets, where: str) -> tuple[tuple[str, ...], ...]:
    alternatives: list[tuple[str, ...]] = []
    for entry in entries:
        entry = entry.strip()
        if entry.startswith("@"):
            if entry[1:] not in sets:
                raise WordListError(f"{where}: unknown set {entry}")
            alternatives.extend(sets[entry[1:]])
            continue
        words = tuple(entry.lower().replace("-", " ").split())
        if not words or not all(_WORD.fullmatch(word) for word in words):
            raise WordListError(f"{where}: {entry!r} is not a word")
        alternatives.append(words)
    return tuple(dict.fromkeys(alternatives))
