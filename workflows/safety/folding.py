"""Folds text to the lowercase form the word lists are written in, and maps positions back.

Folding lowercases, strips accents, turns compatibility forms (fullwidth "kill") and lookalike
letters of other scripts into plain letters and drops invisible characters (zero-width spaces,
soft hyphens) that would split a word. Issues must point into the text the caller gave, so every
folded character remembers the index of the character it came from.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FoldedText:
    text: str
    # Index in the original text of each folded character; None when they are the same.
    origins: Sequence[int] | None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if self.origins is None:
            return start, end
        return self.origins[start], self.origins[end - 1] + 1


class Folder:
    def __init__(self, lookalikes: Mapping[str, str]) -> None:
        self._lookalikes = dict(lookalikes)
        # Plain ASCII text, the common case, folds in one C-level pass with positions unchanged.
        self._ascii_table = str.maketrans(
            {char: target for char, target in lookalikes.items() if char.isascii()}
        )

    def fold(self, text: str) -> FoldedText:
        if text.isascii():
            return FoldedText(text.lower().translate(self._ascii_table), None)
        characters: list[str] = []
        origins: list[int] = []
        for index, char in enumerate(text):
            for folded in self._fold_char(char):
                characters.append(folded)
                origins.append(index)
        return FoldedText("".join(characters), origins)

    def _fold_char(self, char: str) -> str:
        lower = char.lower()
        if lower in self._lookalikes:
            return self._lookalikes[lower]
        if char.isascii():
            return lower
        if unicodedata.category(char) == "Cf":
            return ""
        decomposed = unicodedata.normalize("NFKD", lower).lower()
        return "".join(
            self._lookalikes.get(part, part)
            for part in decomposed
            if not unicodedata.combining(part)
        )
