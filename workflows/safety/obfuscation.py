"""Reads `obfuscation.txt`: which characters stand in for letters in disguised spellings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from workflows.safety.terms import WordListError

_SECTIONS = ("inside words", "lookalikes", "wildcards")


@dataclass(frozen=True)
class Obfuscation:
    # "1" -> ("i", "l"): read inside a word only, so "4 cats" and "dial 911" stay numbers.
    stand_ins: Mapping[str, tuple[str, ...]]
    # Cyrillic "\u0430" -> "a": folded everywhere before matching.
    lookalikes: Mapping[str, str]
    # "*", "#": each hides one letter.
    wildcards: frozenset[str]


def parse_obfuscation(text: str) -> Obfuscation:
    section = ""
    stand_ins: defaultdict[str, list[str]] = defaultdict(list)
    lookalikes: dict[str, str] = {}
    wildcards: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            if section not in _SECTIONS:
                raise WordListError(f"obfuscation.txt:{number}: unknown section [{section}]")
            continue
        if section == "wildcards":
            wildcards.update(stripped.split())
            continue
        target, colon, rest = stripped.partition(":")
        if not colon or len(target) != 1 or not rest.split():
            raise WordListError(f"obfuscation.txt:{number}: expected '<letter>: <stand-ins>'")
        for stand_in in rest.split():
            if section == "inside words":
                stand_ins[stand_in].append(target)
            elif section == "lookalikes":
                lookalikes[stand_in] = target
            else:
                raise WordListError(f"obfuscation.txt:{number}: a line outside any section")
    return Obfuscation(
        stand_ins={stand_in: tuple(targets) for stand_in, targets in stand_ins.items()},
        lookalikes=lookalikes,
        wildcards=frozenset(wildcards),
    )
