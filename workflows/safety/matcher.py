"""Finds the phrases of the word lists in a token sequence: an index on each phrase's first word,
then a walk over the rest, so the cost grows with the text, not with the size of the lists."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from workflows.safety.terms import Gap, Label, Phrase, Slot, Words
from workflows.safety.tokens import Token

# How many words a `*` gap may skip.
MAX_GAP = 3


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    label: Label


@dataclass(frozen=True, slots=True, eq=False)
class _Step:
    """One slot of a phrase, ready to match: the words after each possible first word, or a gap."""

    rest_by_first: Mapping[str, tuple[tuple[str, ...], ...]] | None
    possessive: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class _Compiled:
    steps: tuple[_Step, ...]
    label: Label


class PhraseMatcher:
    def __init__(self, phrases: Iterable[Phrase], gap_stops: frozenset[str] = frozenset()) -> None:
        by_first_word: defaultdict[str, dict[int, _Compiled]] = defaultdict(dict)
        single: defaultdict[str, dict[Label, None]] = defaultdict(dict)
        vocabulary: set[str] = set()
        for phrase in phrases:
            compiled = _Compiled(tuple(_step(slot) for slot in phrase.slots), phrase.label)
            first = phrase.slots[0]
            assert isinstance(first, Words)  # terms.parse_terms guarantees it
            for words in first.alternatives:
                by_first_word[words[0]][id(compiled)] = compiled
            for word in phrase.single_words:
                single[word][phrase.label] = None
            for slot in phrase.slots:
                if isinstance(slot, Words):
                    vocabulary.update(word for words in slot.alternatives for word in words)
        self._by_first_word = {word: tuple(found.values()) for word, found in by_first_word.items()}
        self._single = {word: tuple(labels) for word, labels in single.items()}
        self._gap_stops = gap_stops
        self.vocabulary = frozenset(vocabulary)

    def find(self, tokens: Sequence[Token], spelled: Sequence[Token] = ()) -> list[Hit]:
        hits = []
        for position, token in enumerate(tokens):
            candidates = [
                phrase for key in token.keys for phrase in self._by_first_word.get(key, ())
            ]
            for phrase in dict.fromkeys(candidates) if len(token.keys) > 1 else candidates:
                stop = self._match(phrase.steps, 0, tokens, position)
                if stop is not None:
                    hits.append(Hit(token.start, tokens[stop - 1].end, phrase.label))
            if token.stems:
                hits.extend(self._single_word_hits(token, token.stems))
        for token in spelled:
            hits.extend(self._single_word_hits(token, token.keys | token.stems))
        return hits

    def _single_word_hits(self, token: Token, keys: Iterable[str]) -> Iterator[Hit]:
        for key in keys:
            for label in self._single.get(key, ()):
                yield Hit(token.start, token.end, label)

    def _match(
        self, steps: tuple[_Step, ...], index: int, tokens: Sequence[Token], position: int
    ) -> int | None:
        """The token index where `steps[index:]` end if they match from `position`, else None."""
        if index == len(steps):
            return position
        step = steps[index]
        if step.rest_by_first is None:
            return self._match_gap(steps, index, tokens, position)
        if position >= len(tokens):
            return None
        for key in tokens[position].keys:
            for rest in step.rest_by_first.get(key, ()):
                stop = position + 1 + len(rest)
                if stop <= len(tokens) and all(
                    word in tokens[position + 1 + offset].keys for offset, word in enumerate(rest)
                ):
                    end = self._match(steps, index + 1, tokens, stop)
                    if end is not None:
                        return end
        return None

    def _match_gap(
        self, steps: tuple[_Step, ...], index: int, tokens: Sequence[Token], position: int
    ) -> int | None:
        possessive = steps[index].possessive
        for skipped in range(1 if possessive else 0, MAX_GAP + 1):
            stop = position + skipped
            if stop > len(tokens):
                return None
            if skipped and tokens[stop - 1].keys & self._gap_stops:
                return None  # "are not criminals" is not "are criminals"
            if possessive and not tokens[stop - 1].possessive:
                continue
            end = self._match(steps, index + 1, tokens, stop)
            if end is not None:
                return end
        return None


def _step(slot: Slot) -> _Step:
    if isinstance(slot, Gap):
        return _Step(None, slot.possessive)
    rest_by_first: defaultdict[str, list[tuple[str, ...]]] = defaultdict(list)
    for words in slot.alternatives:
        rest_by_first[words[0]].append(words[1:])
    # Longest first: "the little" before "the", so a phrase reports its whole span.
    return _Step(
        {
            first: tuple(sorted(rests, key=len, reverse=True))
            for first, rests in rest_by_first.items()
        }
    )
