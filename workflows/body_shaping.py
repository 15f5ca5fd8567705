"""Shapes how the embedded model writes a chapter's body, token by token (a llama.cpp logits
processor): SmolLM2-135M reads the prompt's "short sentences, easy words, about N words" and
then writes what it likes, so the decoding itself asks for it.

- **Length**: the end of the answer is held off until the chapter has `min_words`, and once it
  has `target_words` the model stops at the end of its sentence, not at `max_tokens`.
- **Sentence length**: past `sentence_words` words in a sentence, a full stop becomes more
  likely with every further word (Flesch-Kincaid grows with words per sentence).
- **Common words**: a word the model starts that is rare, or has several syllables, is made less
  likely (Flesch-Kincaid grows with syllables per word); names and capitalised words are left
  alone.
- **No echo, no loops**: a token that would repeat a run of `ECHO_TOKENS` tokens of the prompt
  (the example opening included) or of the chapter itself is never chosen.
- **No mark-up**: brackets, hashes, asterisks and colons are never chosen: a story for a child
  has none, and a model that writes them is writing notes, lists or headings.
- **No cut-off sentences**: a full stop or an exclamation mark is never chosen where it would end
  the sentence on a word no finished sentence ends on ("it made a big.": the rule of
  `workflows.story_rules.is_cut_off`); the push towards a full stop made the model cut sentences
  mid-phrase.
- **No words to a parent or about the book**: after "your", "this" or "the", the words that only
  address an adult or talk about the text ("your child", "this book", "this scene") are never
  chosen.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import textstat
from wordfreq import zipf_frequency

from workflows.story_rules import is_cut_off

if TYPE_CHECKING:
    from llama_cpp import Llama

# A run this many tokens long may not be copied from the prompt or repeated from the chapter: a
# six-word run is at least six tokens, so no six words of the prompt are ever copied.
ECHO_TOKENS = 5
# Words rarer than this (Zipf scale: about ten per million words) count as uncommon.
COMMON_ZIPF = 4.0
_FORBIDDEN = re.compile(
    r"[\[\]{}<>#*|_`~:;\\]|\.\.|\u2026"
    # Words a chapter only uses to talk about itself ("The story ends...", "dear reader").
    r"|^\s?(?:[Ss]tor(?:y|ies)|[Tt]ales?|[Cc]hapters?|[Rr]eaders?|[Ee]nding|[Ss]entences?"
    r"|[Pp]aragraphs?)$"
)
# Any token that ends a sentence: ".", "!", " .", '."', ".”", '!"', "'." and the like.
_ENDS_SENTENCE = re.compile(r"""^\s?["'\u201d\u2019)]*[.!]""")
# Words never chosen right after another: they address a parent or talk about the book ("The
# rest of the book would be about your child's own adventures", "In this scene").
_BANNED_AFTER: dict[str, tuple[str, ...]] = {
    "your": ("child", "kid", "son", "daughter", "little one"),
    "this": ("book", "scene", "page", "version", "sentence", "passage", "text"),
    "the": ("child", "author", "narrator"),
}
_LAST_WORD = re.compile(r"([A-Za-z']+)$")
_SENTENCE_END = re.compile(r"[.!]")
# A full stop or comma with a closing quotation mark: only inside an open quotation.
_CLOSING = re.compile(r"""[.!?,]["\u201d]""")
_WORD = re.compile(r"[A-Za-z0-9']+")
_LOWER_WORD_START = re.compile(r" ([a-z]+)")
_NEVER = -1e9


@dataclass(frozen=True)
class ChapterShape:
    """How one chapter's body should come out (from the reader's age and level)."""

    target_words: int
    min_words: int
    sentence_words: int  # past this many words a sentence is pushed towards its full stop
    full_stop_push: float = 1.5  # added to a full stop's logit per word past `sentence_words`
    two_syllable_penalty: float = 0.0
    long_word_penalty: float = 0.0  # three syllables or more
    rare_word_penalty: float = 0.0


@dataclass(frozen=True)
class Vocabulary:
    eos: int
    sentence_ends: npt.NDArray[np.intp]
    closing_quotes: npt.NDArray[np.intp]
    forbidden: npt.NDArray[np.intp]
    two_syllables: npt.NDArray[np.intp]
    long_words: npt.NDArray[np.intp]
    rare_words: npt.NDArray[np.intp]
    texts: tuple[str, ...]
    # Every token that would end a sentence (forbidden after a word that cannot end one).
    stops: npt.NDArray[np.intp]
    # By the previous word (lower case): the tokens that may not follow it.
    banned_after: dict[str, npt.NDArray[np.intp]]


_vocabulary_lock = threading.Lock()
_vocabularies: dict[str, Vocabulary] = {}


def sorted_vocabulary(texts: tuple[str, ...], eos: int) -> Vocabulary:
    """Each token's text (`texts[token]`) sorted into the classes the shaper biases."""
    ends, closing, forbidden, two, long, rare, stops = [], [], [], [], [], [], []
    banned: dict[str, list[int]] = {word: [] for word in _BANNED_AFTER}
    for token, text in enumerate(texts):
        if token == eos:
            continue  # the end of the answer is only ever held off or chosen, never biased
        if _ENDS_SENTENCE.match(text):
            stops.append(token)
        if text.startswith(" "):
            follower = text[1:].lower()
            for before, words in _BANNED_AFTER.items():
                if any(follower.startswith(word) for word in words):
                    banned[before].append(token)
        if _CLOSING.fullmatch(text):
            closing.append(token)
        if _SENTENCE_END.fullmatch(text):
            ends.append(token)
        if _FORBIDDEN.search(text):
            forbidden.append(token)
            continue
        match = _LOWER_WORD_START.fullmatch(text)
        if match is None:
            continue
        word = match.group(1)
        if zipf_frequency(word, "en") < COMMON_ZIPF:
            rare.append(token)
            continue
        syllables = textstat.syllable_count(word)
        if syllables >= 3:
            long.append(token)
        elif syllables == 2:
            two.append(token)
    return Vocabulary(
        eos=eos,
        sentence_ends=np.array(ends, dtype=np.intp),
        closing_quotes=np.array(closing, dtype=np.intp),
        forbidden=np.array(forbidden, dtype=np.intp),
        two_syllables=np.array(two, dtype=np.intp),
        long_words=np.array(long, dtype=np.intp),
        rare_words=np.array(rare, dtype=np.intp),
        texts=texts,
        stops=np.array(stops, dtype=np.intp),
        banned_after={word: np.array(tokens, dtype=np.intp) for word, tokens in banned.items()},
    )


def vocabulary(llama: Llama, model_path: str) -> Vocabulary:
    """The model's tokens sorted into the classes the shaper biases, built once per model file
    (about a second, in the worker thread)."""
    with _vocabulary_lock:
        if model_path not in _vocabularies:
            texts = tuple(
                llama.detokenize([token]).decode("utf-8", "replace")
                for token in range(llama.n_vocab())
            )
            _vocabularies[model_path] = sorted_vocabulary(texts, llama.token_eos())
        return _vocabularies[model_path]


class ChapterShaper:
    """A llama.cpp logits processor for one call: `(input_ids, scores) -> scores`."""

    def __init__(self, shape: ChapterShape, vocab: Vocabulary, *, words_before: int = 0) -> None:
        self.shape = shape
        self.vocab = vocab
        self.words_before = words_before
        self._prompt_length: int | None = None
        self._seen = 0
        self._text = ""
        self._followers: dict[tuple[int, ...], set[int]] = {}
        self._static = np.zeros(len(vocab.texts), dtype=np.single)
        self._static[vocab.forbidden] = _NEVER
        self._static[vocab.two_syllables] -= shape.two_syllable_penalty
        self._static[vocab.long_words] -= shape.long_word_penalty
        self._static[vocab.rare_words] -= shape.rare_word_penalty

    @property
    def words(self) -> int:
        """The chapter's words so far, those read before a repair included."""
        return self.words_before + len(_WORD.findall(self._text))

    def _remember(self, tokens: Sequence[int]) -> None:
        for end in range(ECHO_TOKENS, len(tokens) + 1):
            run = tuple(tokens[end - ECHO_TOKENS : end])
            self._followers.setdefault(run[:-1], set()).add(run[-1])

    def _catch_up(self, input_ids: npt.NDArray[np.intc]) -> None:
        """Takes in the tokens written since the last call (the first call sees the prompt)."""
        if self._prompt_length is None:
            self._prompt_length = len(input_ids)
            self._remember([int(token) for token in input_ids])
            self._seen = len(input_ids)
            return
        start = max(self._prompt_length, self._seen - ECHO_TOKENS + 1)
        window = [int(token) for token in input_ids[start:]]
        self._text += "".join(self.vocab.texts[token] for token in input_ids[self._seen :])
        self._remember(window)
        self._seen = len(input_ids)

    def __call__(
        self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
    ) -> npt.NDArray[np.single]:
        self._catch_up(input_ids)
        shaped = scores + self._static
        recent = tuple(int(token) for token in input_ids[len(input_ids) - ECHO_TOKENS + 1 :])
        for token in self._followers.get(recent, ()):
            shaped[token] = _NEVER
        words = self.words
        sentence = _current_sentence(self._text)
        sentence_words = len(_WORD.findall(sentence))
        if words < self.shape.min_words:
            shaped[self.vocab.eos] = _NEVER
        elif words >= self.shape.target_words and _ends_sentence(self._text):
            # The chapter is long enough and a sentence has just ended: stop here.
            shaped[:] = _NEVER
            shaped[self.vocab.eos] = 0.0
            return shaped
        quoting = self._text.count('"') % 2 == 1
        if not quoting:
            shaped[self.vocab.closing_quotes] = _NEVER
        past = sentence_words - self.shape.sentence_words
        if words >= self.shape.target_words:
            past = max(past, 1) + 2  # finish the sentence under way
        if past > 0:
            ends = self.vocab.closing_quotes if quoting else self.vocab.sentence_ends
            shaped[ends] += self.shape.full_stop_push * past
        last_word = _LAST_WORD.search(self._text)
        if last_word is not None:
            if is_cut_off(sentence + "."):
                shaped[self.vocab.stops] = _NEVER
            banned = self.vocab.banned_after.get(last_word.group(1).lower())
            if banned is not None:
                shaped[banned] = _NEVER
        return shaped


def _current_sentence(text: str) -> str:
    # Sentences as Flesch-Kincaid counts them: a line break without a full stop ends none.
    return text[max(text.rfind("."), text.rfind("!"), text.rfind("?")) + 1 :]


def _ends_sentence(text: str) -> bool:
    """The text ends with a full stop or an exclamation mark, outside any quotation."""
    tail = text.rstrip("\"'\u201d\u2019")
    return tail.endswith((".", "!")) and text.count('"') % 2 == 0
