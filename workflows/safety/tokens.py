"""Splits folded text into words and works out which plain words each one may be hiding.

A token's `keys` are the plain spellings it may stand for: itself, its leetspeak readings
("k1ll" -> "kill", "kiil"), stretched letters cut back ("killlll" -> "kill"), and masked letters
filled from the vocabulary of the word lists ("f*ck"). Words spelled out letter by letter
("g u n", "s.e.x") are joined into extra tokens by `spelled_out`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from workflows.safety.obfuscation import Obfuscation

MASK = "*"
# Three or more equal letters; masks ("f***") are hidden letters, not stretched ones.
_STRETCH = re.compile(r"([^*])\1{2,}")
# Tokens are cached by spelling; stories reuse the same few thousand words.
_KEY_CACHE_SIZE = 50_000
# Beyond these, a token is not a disguise worth reading every way.
_MAX_AMBIGUOUS_STAND_INS = 3
_MAX_STRETCHES = 3
_MAX_SPELLED_GAP = 3
_MIN_SPELLED_LETTERS = 3
# Sentence punctuation that is also a stand-in ("sh!t"): it ends no word ("Hello!").
_TRAILING_PUNCTUATION = "!|"


@dataclass(frozen=True, slots=True)
class Token:
    start: int
    end: int
    keys: frozenset[str]
    # Keys without a possessive 's ("gun's" -> "gun"), matched by one-word terms only.
    stems: frozenset[str]
    possessive: bool


class Tokenizer:
    def __init__(self, obfuscation: Obfuscation, vocabulary: Iterable[str]) -> None:
        self._stand_ins = {stand_in: targets for stand_in, targets in obfuscation.stand_ins.items()}
        for wildcard in obfuscation.wildcards:
            self._stand_ins[wildcard] = (MASK,)
        symbols = "".join(re.escape(char) for char in sorted(self._stand_ins) if not char.isalnum())
        unit = rf"(?:[^\W_]|[{symbols}])"
        self._pattern = re.compile(rf"{unit}+(?:'{unit}+)*")
        self._edge_symbols = "".join(char for char in self._stand_ins if not char.isalnum())
        self._plain = {
            stand_in: targets[0]
            for stand_in, targets in self._stand_ins.items()
            if len(targets) == 1
        }
        by_length: defaultdict[int, list[str]] = defaultdict(list)
        for word in sorted(set(vocabulary)):
            by_length[len(word)].append(word)
        self._vocabulary_by_length = dict(by_length)
        self._vocabulary = frozenset(vocabulary)
        # No spelled-out word is longer than the longest listed word.
        self._longest_word = max(by_length, default=0)
        self.keys = lru_cache(maxsize=_KEY_CACHE_SIZE)(self._keys)

    def tokenize(self, text: str) -> list[Token]:
        tokens = []
        for match in self._pattern.finditer(text):
            raw = match.group().rstrip(_TRAILING_PUNCTUATION)
            if raw:
                keys, stems = self.keys(raw)
                start = match.start()
                tokens.append(Token(start, start + len(raw), keys, stems, raw.endswith("'s")))
        return tokens

    def spelled_out(
        self, text: str, tokens: list[Token], also: frozenset[str] = frozenset()
    ) -> list[Token]:
        """Words of the vocabulary, or of `also` (a parent's blocked topics), written one letter at
        a time with the same separator ("g u n", "k-i-l-l")."""
        spelled: list[Token] = []
        for run in _single_letter_runs(text, tokens):
            letters = [text[token.start] for token in run]
            if not any(letter.isalpha() for letter in letters):
                continue  # "1 2 3 4" is counting
            longest = max(self._longest_word, *map(len, also)) if also else self._longest_word
            for first in range(len(run)):
                last_stop = min(len(run), first + longest)
                for stop in range(first + _MIN_SPELLED_LETTERS, last_stop + 1):
                    keys, stems = self.keys("".join(letters[first:stop]))
                    if (keys | stems) & self._vocabulary or (keys | stems) & also:
                        spelled.append(
                            Token(run[first].start, run[stop - 1].end, keys, stems, False)
                        )
        return spelled

    def _keys(self, raw: str) -> tuple[frozenset[str], frozenset[str]]:
        if raw.isalpha() and raw.isascii() and not _STRETCH.search(raw):
            return frozenset((raw,)), frozenset()
        spellings = {raw}
        bare = raw.strip(self._edge_symbols)
        if bare:
            spellings.add(bare)
        keys = set(spellings)
        for spelling in spellings:
            for reading in self._readings(spelling):
                for unstretched in _unstretched(reading):
                    keys.add(unstretched)
                    if MASK in unstretched:
                        keys.update(self._unmasked(unstretched))
        stems = {key[:-2] for key in keys if key.endswith("'s") and len(key) > 2}
        return frozenset(keys), frozenset(stems - keys)

    def _readings(self, spelling: str) -> Iterator[str]:
        """Every plain reading of a spelling with digits or symbols in it."""
        if spelling.isdigit() or not any(char in self._stand_ins for char in spelling):
            yield spelling
            return
        ambiguous = sorted({char for char in spelling if len(self._stand_ins.get(char, ())) > 1})[
            :_MAX_AMBIGUOUS_STAND_INS
        ]
        for choice in product(*(self._stand_ins[char] for char in ambiguous)):
            table = str.maketrans({**self._plain, **dict(zip(ambiguous, choice, strict=True))})
            yield spelling.translate(table)

    def _unmasked(self, masked: str) -> list[str]:
        """Vocabulary words a masked spelling may be ("f*ck" -> "fuck"); its first letter shows."""
        if masked[0] == MASK or len(masked) < 3:
            return []
        return [
            word
            for word in self._vocabulary_by_length.get(len(masked), ())
            if all(shown in (MASK, letter) for shown, letter in zip(masked, word, strict=True))
        ]


def _unstretched(word: str) -> list[str]:
    """A word with each run of three or more equal letters cut to one and to two."""
    runs = list(_STRETCH.finditer(word))[:_MAX_STRETCHES]
    if not runs:
        return [word]
    readings = [word]
    for lengths in product((1, 2), repeat=len(runs)):
        pieces, position = [], 0
        for run, length in zip(runs, lengths, strict=True):
            pieces.append(word[position : run.start()] + run.group(1) * length)
            position = run.end()
        pieces.append(word[position:])
        readings.append("".join(pieces))
    return readings


def _single_letter_runs(text: str, tokens: list[Token]) -> Iterator[list[Token]]:
    run: list[Token] = []
    separator: str | None = None
    for token in tokens:
        if token.end - token.start != 1:
            if len(run) >= _MIN_SPELLED_LETTERS:
                yield run
            run, separator = [], None
            continue
        if run:
            between = text[run[-1].end : token.start]
            if (
                len(between) <= _MAX_SPELLED_GAP
                and "\n" not in between
                and separator in (None, between)
            ):
                run.append(token)
                separator = between
                continue
            if len(run) >= _MIN_SPELLED_LETTERS:
                yield run
            if len(between) <= _MAX_SPELLED_GAP and "\n" not in between:
                # "a g.u.n": the separator changed, and a new run starts at the last letter.
                run, separator = [run[-1], token], between
                continue
        run, separator = [token], None
    if len(run) >= _MIN_SPELLED_LETTERS:
        yield run
