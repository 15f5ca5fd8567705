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
  (the example opening included) or of the chapter itself is never chosen; nor a word that
  would make `ECHO_WORDS` words in a row of the prompt, compared as `make quality` does (lower
  case, punctuation left out: "The wind was big. Up up goes the kite" copies "Up, up goes the
  kite!" without copying its tokens).
- **No mark-up**: brackets, hashes, asterisks and colons are never chosen: a story for a child
  has none, and a model that writes them is writing notes, lists or headings.
- **No cut-off sentences**: a full stop or an exclamation mark is never chosen where it would end
  the sentence on a word no finished sentence ends on ("it made a big.": the rule of
  `workflows.story_rules.is_cut_off`); the push towards a full stop made the model cut sentences
  mid-phrase.
- **No words to a parent or about the book**: after "your", "this", "the", an ordinal ("first",
  "last", "next") or a hyphen, the words that only address an adult or talk about the text
  ("your child", "this book", "the first line", "three-line") are never chosen, nor "page",
  "scene", "version", "blog" or "tips" anywhere.
- **No narrator who talks**: outside a quotation, "I", "me", "my", "we", "us", "our", "you" and
  "your" are never chosen. A third-person story has no narrator saying "I'll write this next
  one", "The rest is just like you wrote" or "you can use alliteration"; a character still says
  "I" and "you" in quotation marks. (A prompt that spells a name with the token "I", as "Ida",
  keeps "I": the name must stay writable.)
- **No digits**: a story for a young child spells its numbers; a model that writes digits is
  counting its words ("this short 401-word passage"). Nor a second space after a space token
  (SmolLM2 writes " " before a number's digits).
- **No judging the draft**: after "is a good" or "is a great", "start" and "beginning" are never
  chosen ("This is a great start, but it can be even better"), and outside a quotation no
  sentence starts "This is" ("This is the next section of the first").
"""

from __future__ import annotations

import itertools
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
# As bench.story_checks counts prompt echo: six words in a row, lower case, without punctuation.
ECHO_WORDS = 6
_ECHO_WORD = re.compile(r"[a-z0-9']+")
# Words rarer than this (Zipf scale: about ten per million words) count as uncommon.
COMMON_ZIPF = 4.0
_FORBIDDEN = re.compile(
    r"[\[\]{}<>#*|_`~:;\\]|\.\.|\u2026|[0-9]"
    # Words a chapter only uses to talk about itself ("The story ends...", "dear reader", "the
    # first page", "the next scene in the short, happy version") or to give advice.
    r"|^\s?(?:[Ss]tor(?:y|ies)|[Tt]ales?|[Cc]hapters?|[Rr]eaders?|[Ee]nding|[Ss]entences?"
    r"|[Pp]aragraphs?|[Pp]ages?|[Ss]cenes?|[Vv]ersions?"
    # Words of a post about writing, not of a story: "Lots of happy words on this blog post!
    # Here are some tips that can help make it even better." (bench.quality run 7)
    r"|[Bb]logs?|[Tt]ips"
    # "In this short summary of Ava's first day" (bench.quality run 10, chapters 17-32).
    r"|[Ss]ummar(?:y|ies))$"
    # "-word", "-words": "a 540-word short".
    r"|^-words?$"
)
# A narrator's "I", "we" or "you" (outside a quotation): the model talking about its writing or
# to whoever reads it ("I will keep this one as new", "you can use alliteration").
_NARRATOR = re.compile(
    r"^(\s?)(?:i|me|my|myself|we|us|our|ours|ourselves|you|your|yours|yourself|yourselves)$",
    re.I,
)
# A name the prompt spells with the token "I" then lower-case letters ("Ida": " I", "da").
_NAME_AFTER_I = re.compile(r"^[a-z]")
# Any token that ends a sentence: ".", "!", " .", '."', ".”", '!"', "'." and the like.
_ENDS_SENTENCE = re.compile(r"""^\s?["'\u201d\u2019)]*[.!]""")
# Words never chosen right after another: they address a parent or talk about the book ("The
# rest of the book would be about your child's own adventures", "In this scene").
_BANNED_AFTER: dict[str, tuple[str, ...]] = {
    "your": ("child", "kid", "son", "daughter", "little one"),
    "this": ("book", "scene", "page", "version", "sentence", "passage", "text"),
    "today's": ("book", "story", "tale", "chapter"),
    # "Zoe, the hero of this small adventure is a rabbit", "the hero of today's book".
    "hero of": ("this", "today", "our"),
    "the": ("child", "author", "narrator"),
    # "the main character is shown in an unadorned way" (run 10, chapters 17-32).
    "main": ("character",),
    "word": ("count", "list"),
    "short": ("passage", "version", "text"),
    "how many": ("words", "letters", "lines"),
    "written": ("by",),
    # "The first line says", "The last two lines of this short passage", "the end of the first
    # part" ("page" and "paragraph" are never written at all).
    **dict.fromkeys(
        ("first", "second", "last", "final", "next", "two", "three", "four", "few", "these"),
        ("line", "passage", "part", "section"),
    ),
    # "This is the end of the first part", "This is not the end of Leo's life!"
    **dict.fromkeys(
        ("this is the", "this is not the", "this is an", "this is a"),
        ("end", "start", "beginning", "rest"),
    ),
    # A model judging its draft: "This is a great start, but it can be even better."
    **dict.fromkeys(
        ("is a good", "is a great", "is a nice", "is a wonderful"), ("start", "beginning")
    ),
}
# The longest run of words a key of `_BANNED_AFTER` has.
_LONGEST_KEY = max(len(key.split()) for key in _BANNED_AFTER)
# A sentence that starts "This is" outside a quotation: in SmolLM2's chapters it is nearly always
# the model talking about its text ("This is the next section of the first", "This is a great
# way to end a day", "This is not about his special gift"; bench.quality runs 1-8), as are
# "This adds an exciting theme for the main character" and "This ends with Sam and Alex saying"
# (run 10, chapters 17-32).
_THIS = re.compile(r"\s*this", re.I)
_AFTER_OPENING_THIS = frozenset((" is", "'s", " Is", " adds", " ends", " shows"))
# Words never written right after a hyphen: "a three-line passage", "the 401-word short".
_AFTER_HYPHEN = re.compile(r"^(?:words?|lines?|pages?)$")
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
    after_hyphen: npt.NDArray[np.intp]
    # A narrator's "I", "we", "you": with a leading space, and without (after a line break).
    narrator: npt.NDArray[np.intp]
    narrator_word_start: npt.NDArray[np.intp]
    # The tokens "I" and " I" (also the start of names like "Ida").
    capital_i: npt.NDArray[np.intp]
    # Every token that starts with a space.
    spaced: npt.NDArray[np.intp]
    # " is", "'s", " adds", " ends", " shows": never after a sentence's first word "This"
    # outside a quotation.
    is_after_this: npt.NDArray[np.intp]
    # By their letters in lower case: the tokens that start a word, after a space ("kite":
    # " kite", " Kite") and after a line break ("Kite").
    word_starts: dict[str, npt.NDArray[np.intp]]
    line_starts: dict[str, npt.NDArray[np.intp]]


_vocabulary_lock = threading.Lock()
_vocabularies: dict[str, Vocabulary] = {}


def sorted_vocabulary(texts: tuple[str, ...], eos: int) -> Vocabulary:
    """Each token's text (`texts[token]`) sorted into the classes the shaper biases."""
    ends, closing, forbidden, two, long, rare, stops = [], [], [], [], [], [], []
    after_hyphen: list[int] = []
    narrator: list[int] = []
    narrator_word_start: list[int] = []
    capital_i: list[int] = []
    spaced: list[int] = []
    word_starts: dict[str, list[int]] = {}
    line_starts: dict[str, list[int]] = {}
    banned: dict[str, list[int]] = {word: [] for word in _BANNED_AFTER}
    for token, text in enumerate(texts):
        if token == eos:
            continue  # the end of the answer is only ever held off or chosen, never biased
        if _ENDS_SENTENCE.match(text):
            stops.append(token)
        letters = text.lstrip(" ").lower()
        if letters.isalpha():
            starts = word_starts if text.startswith(" ") else line_starts
            starts.setdefault(letters, []).append(token)
        if text.startswith(" "):
            spaced.append(token)
            follower = text[1:].lower()
            for before, words in _BANNED_AFTER.items():
                if any(_starts_with_word(follower, word) for word in words):
                    banned[before].append(token)
        if _AFTER_HYPHEN.match(text):
            after_hyphen.append(token)
        narrated = _NARRATOR.match(text)
        if narrated is not None:
            (narrator if narrated.group(1) else narrator_word_start).append(token)
            if text.strip() == "I":
                capital_i.append(token)
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
        after_hyphen=np.array(after_hyphen, dtype=np.intp),
        narrator=np.array(narrator, dtype=np.intp),
        narrator_word_start=np.array(narrator_word_start, dtype=np.intp),
        capital_i=np.array(capital_i, dtype=np.intp),
        spaced=np.array(spaced, dtype=np.intp),
        is_after_this=np.array(
            [token for token, text in enumerate(texts) if text in _AFTER_OPENING_THIS],
            dtype=np.intp,
        ),
        word_starts={word: np.array(ids, dtype=np.intp) for word, ids in word_starts.items()},
        line_starts={word: np.array(ids, dtype=np.intp) for word, ids in line_starts.items()},
    )


def _starts_with_word(text: str, word: str) -> bool:
    """`text` starts with `word` as a whole word or its plural: "lines" and "line's" for
    "line", "children" for "child", but not "linen" or "song" for "son"."""
    if not text.startswith(word):
        return False
    rest = text[len(word) :]
    return not rest or not rest[0].isalpha() or rest in ("s", "ren", "ren's")


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
        # Each run of ECHO_WORDS - 1 words of the prompt: the words that follow it there.
        self._prompt_followers: dict[tuple[str, ...], set[str]] = {}
        self._narrator = vocab.narrator
        self._narrator_word_start = vocab.narrator_word_start
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
            prompt = [int(token) for token in input_ids]
            self._remember(prompt)
            words = _ECHO_WORD.findall("".join(self.vocab.texts[t] for t in prompt).lower())
            for end in range(ECHO_WORDS, len(words) + 1):
                run = tuple(words[end - ECHO_WORDS : end])
                self._prompt_followers.setdefault(run[:-1], set()).add(run[-1])
            self._seen = len(input_ids)
            if _spells_a_name_with_i(prompt, self.vocab):
                self._narrator = np.setdiff1d(self.vocab.narrator, self.vocab.capital_i)
                self._narrator_word_start = np.setdiff1d(
                    self.vocab.narrator_word_start, self.vocab.capital_i
                )
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
        self._forbid_prompt_words(shaped)
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
        quoting = _in_quotation(self._text)
        if not quoting:
            shaped[self.vocab.closing_quotes] = _NEVER
            shaped[self._narrator] = _NEVER
            if not self._text or self._text[-1].isspace():
                shaped[self._narrator_word_start] = _NEVER
            if _THIS.fullmatch(sentence):
                shaped[self.vocab.is_after_this] = _NEVER
        if self._text.endswith("-"):
            shaped[self.vocab.after_hyphen] = _NEVER
        past = sentence_words - self.shape.sentence_words
        if words >= self.shape.target_words:
            past = max(past, 1) + 2  # finish the sentence under way
        if past > 0:
            ends = self.vocab.closing_quotes if quoting else self.vocab.sentence_ends
            shaped[ends] += self.shape.full_stop_push * past
        if self._text.endswith(" "):
            # A space token, then one that brings its own: no double space ("saw  ten", where the
            # model meant a digit).
            shaped[self.vocab.spaced] = _NEVER
        last_word = _LAST_WORD.search(self._text)
        if last_word is not None:
            if is_cut_off(sentence + "."):
                shaped[self.vocab.stops] = _NEVER
            last_words = _WORD.findall(self._text[-80:].lower())[-_LONGEST_KEY:]
            for length in range(1, len(last_words) + 1):
                banned = self.vocab.banned_after.get(" ".join(last_words[-length:]))
                if banned is not None:
                    shaped[banned] = _NEVER
        return shaped

    def _forbid_prompt_words(self, shaped: npt.NDArray[np.single]) -> None:
        """No new word that would make ECHO_WORDS words in a row of the prompt: none of the
        tokens that could start it (" kite", " k", " ki", " kit" for "kite")."""
        tail = tuple(_ECHO_WORD.findall(self._text[-160:].lower())[-(ECHO_WORDS - 1) :])
        following = self._prompt_followers.get(tail) if len(tail) == ECHO_WORDS - 1 else None
        if not following:
            return
        starts = self.vocab.line_starts if self._text[-1:].isspace() else self.vocab.word_starts
        for word in following:
            for end in range(1, len(word) + 1):
                tokens = starts.get(word[:end])
                if tokens is not None:
                    shaped[tokens] = _NEVER


def _spells_a_name_with_i(prompt: Sequence[int], vocab: Vocabulary) -> bool:
    """The prompt holds "I" followed by lower-case letters: a name such as "Ida"."""
    capital_i = set(vocab.capital_i.tolist())
    return any(
        token in capital_i and _NAME_AFTER_I.match(vocab.texts[following])
        for token, following in itertools.pairwise(prompt)
    )


def _in_quotation(text: str) -> bool:
    """The text ends inside an open quotation. A paragraph closes any quotation left open: a
    model that forgets a closing mark does not make the rest of the chapter a quotation."""
    paragraph = text[text.rfind("\n") + 1 :]
    straight = paragraph.count('"') % 2 == 1
    return straight or paragraph.rfind("\u201c") > paragraph.rfind("\u201d")


def _current_sentence(text: str) -> str:
    # Sentences as Flesch-Kincaid counts them: a line break without a full stop ends none.
    return text[max(text.rfind("."), text.rfind("!"), text.rfind("?")) + 1 :]


def _ends_sentence(text: str) -> bool:
    """The text ends with a full stop or an exclamation mark, outside any quotation."""
    tail = text.rstrip("\"'\u201d\u2019")
    return tail.endswith((".", "!")) and not _in_quotation(text)
