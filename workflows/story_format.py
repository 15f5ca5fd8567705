"""Keeps the ending a model writes for the reader out of the story body a child reads.

The body prompt asks for the story only, but models end chapters their own way: a question to the
reader and a numbered or lettered list, an inline "Should Pip swim home, or sleep? You decide!",
or the old `QUESTION:` / `CHOICE n:` markers. None of it may reach the client as `content`: the
question and choices come from a structured-output call after the body (`workflows.ending`).

The splitter works sentence by sentence. Each complete sentence (or line) is classified:

    ending     a list item after some story, a marker line, or words addressed to the reader
               ("you decide") -> it and everything after it are dropped
    candidate  a question outside dialogue, or a line that ends in a colon
               -> held until the next sentence: dropped if an ending or the end of the text
                  follows, released if the story goes on
    story      -> released, with any candidates held before it

A sentence is released only once it is complete, one piece per token exactly as the tokens
arrived, so a cue at the end of a sentence ("..., and you can help her choose!") cannot leak
half-way. Trailing whitespace is never released. `story_body` runs the same splitter over a whole
text, so the stored body always equals the streamed pieces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["story", "candidate", "ending", "list item"]

# Stop sequences for backends that support them: the model stops where a reader-addressed
# ending would begin. The splitter still drops whatever gets through.
STOP_SEQUENCES = ("QUESTION:", "CHOICE 1:", "Choices:", "\n1.", "\n1)", "\nA)", "\na)")

# Characters a model may put around a line ("**Choices:**", "## What next?", "> ").
_DECORATION = " \t\r\n*#_>`~=|"
# A sentence ends at ., ! or ? (with closing quotes or brackets) once whitespace follows.
_TERMINATED = re.compile(r"""[.!?\u2026]+["')\]\u2019\u201d]*$""")
_OPENING_QUOTES = ('"', "'", "\u201c", "\u2018", "\u00ab")
_CLOSING_QUOTES = "\"')]\u2019\u201d"
_MARKER = re.compile(
    r"^(?:questions?|choices?|options?)\s*(?:\d+|one|two|three|[a-c])?\s*[:.)\-]"
    r"|^(?:option|choice)\s+(?:\d|[a-c])\b",
    re.I,
)
# "A) ..." or "(2) ..." is a list wherever it starts; "1. ..." and bullets only at a line start,
# so that a countdown in the middle of a paragraph ("3... 2... 1...") stays story.
_PAREN_ITEM = re.compile(r"^\(?(?:[1-9]|[a-cA-C])\)\s")
_LINE_ITEM = re.compile(r"^(?:(?:[1-9]|[a-cA-C])[.:](?:\s|$)|[-*+\u2022\u2013\u2014]\s)")
# Words addressed to the reader, or about the story itself, that only an ending would use.
_READER_CUES = re.compile(
    r"\byou (?:decide|choose|pick|get to (?:choose|decide|pick))\b"
    r"|\bup to you\b"
    r"|\b(?:what|which) (?:do|would|will|should) you\b"
    r"|\byou can (?:help|choose|decide|pick)\b"
    r"|\bhelp (?:\w+ ){0,2}(?:choose|decide)\b"
    r"|\b(?:your|the reader'?s?) (?:choice|turn|decision)\b"
    r"|\bdear reader\b"
    r"|\bwhat (?:happens|will happen|should happen) next\b"
    r"|\bwhat should (?:\w+ ){1,3}do next\b"
    r"|\bchoose (?:wisely|one|an option|what happens|the next)\b"
    r"|\b(?:this|the) (?:story|chapter) (?:ends|stops|leaves)\b"
    r"|\b(?:this|the) ending\b",
    re.I,
)


def classify(sentence: str, *, at_line_start: bool = True) -> Kind:
    """What one complete sentence or line of a model's answer is to the reader."""
    raw = sentence.strip()
    if not raw:
        return "story"
    if not raw.strip(_DECORATION + "-"):
        # Decoration only ("---", "***"): a break before an ending, or a scene break.
        return "candidate"
    if _PAREN_ITEM.match(raw) or (at_line_start and _LINE_ITEM.match(raw)):
        return "list item"
    text = raw.lstrip(_DECORATION).rstrip(_DECORATION)
    if _MARKER.match(text):
        return "ending"
    if text.startswith(_OPENING_QUOTES):
        return "story"  # a character speaking, even when asking or saying "you"
    if _READER_CUES.search(text):
        return "ending"
    closed = text.rstrip(_CLOSING_QUOTES)
    if closed.endswith(("?", ":")):
        return "candidate"
    return "story"


Fragment = tuple[int, str]  # (index of the token it came from, text)


@dataclass
class StoryBodySplitter:
    """Feed model tokens; get back the pieces of story body that are safe to show, one per token."""

    _token_index: int = 0
    _started: bool = False
    _ended: bool = False
    _first: bool = True  # no sentence completed yet: the next one starts a line
    _released_any: bool = False
    _story_is_list: bool = False
    # The sentence being written (with the whitespace before it), and complete sentences held
    # back as candidates for an ending.
    _sentence: list[Fragment] = field(default_factory=list)
    _candidates: list[Fragment] = field(default_factory=list)
    _tail: list[str] = field(default_factory=list)

    @property
    def tail(self) -> str:
        """What was dropped as the ending, from its first sentence on, as written."""
        return "".join(self._tail)

    def feed(self, token: str) -> list[str]:
        self._token_index += 1
        if self._ended:
            self._tail.append(token)
            return []
        released: list[Fragment] = []
        for position, char in enumerate(token):
            if self._ended:
                self._tail.append(token[position:])
                break
            self._take(char, released)
        return _group_by_token(released)

    def finish(self, *, drop_unfinished: bool = False) -> list[str]:
        """The end of the text: the last sentence, unless it or what was held is an ending.
        `drop_unfinished`: the model was stopped by its token budget, so a last sentence without
        its full stop is cut off mid-way and is dropped too."""
        if self._ended:
            return []
        released: list[Fragment] = []
        last = _text(self._sentence).strip()
        if last and drop_unfinished and not _TERMINATED.search(last):
            self._end_with([*self._candidates, *self._sentence])
            self._sentence = []
            return []
        if last:
            self._complete(released)
        self._sentence = []
        if self._candidates:
            # A question or a colon line with nothing after it is the chapter's ending.
            self._end_with(self._candidates)
        return _group_by_token(released)

    def _take(self, char: str, released: list[Fragment]) -> None:
        if not self._started:
            if char.isspace():
                return
            self._started = True
        if char.isspace():
            written = _text(self._sentence)
            body = written.strip()
            if body and (
                char == "\n" or (written == written.rstrip() and _TERMINATED.search(body))
            ):
                self._complete(released)
        self._append(char)

    def _complete(self, released: list[Fragment]) -> None:
        sentence, self._sentence = self._sentence, []
        written = _text(sentence)
        at_line_start = self._first or "\n" in written[: len(written) - len(written.lstrip())]
        self._first = False
        kind = classify(written, at_line_start=at_line_start)
        if kind == "list item":
            # Options after the story are its ending; a model that writes the whole story as a
            # list (small models do) has written no story before it, and that list is the story.
            if not self._released_any and not self._candidates:
                self._story_is_list = True
            kind = "story" if self._story_is_list else "ending"
        if kind == "ending":
            self._end_with([*self._candidates, *sentence])
        elif kind == "candidate":
            self._candidates.extend(sentence)
        else:
            released.extend(self._candidates)
            released.extend(sentence)
            self._candidates = []
            self._released_any = True

    def _end_with(self, dropped: list[Fragment]) -> None:
        self._ended = True
        self._tail.append(_text(dropped))
        self._candidates = []

    def _append(self, char: str) -> None:
        if self._sentence and self._sentence[-1][0] == self._token_index:
            self._sentence[-1] = (self._token_index, self._sentence[-1][1] + char)
        else:
            self._sentence.append((self._token_index, char))


def _text(fragments: list[Fragment]) -> str:
    return "".join(text for _, text in fragments)


def _group_by_token(fragments: list[Fragment]) -> list[str]:
    pieces: list[str] = []
    last_index = -1
    for index, text in fragments:
        if index == last_index:
            pieces[-1] += text
        else:
            pieces.append(text)
            last_index = index
    return pieces


def story_body(text: str) -> str:
    """The body of a whole model answer, exactly as the splitter streams it."""
    splitter = StoryBodySplitter()
    return "".join(splitter.feed(text)) + "".join(splitter.finish())
