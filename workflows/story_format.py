"""Separates the story body a child reads from the question and choices the model writes after it.

The model is asked to end with `QUESTION:` and `CHOICE n:` lines. Those must reach the client as
structured fields, never as streamed text, so the streaming splitter holds back any line that may
still turn into such a marker, and trailing whitespace, until it knows. `parse_story_output` runs
the same splitter over the whole text, so the stored body always equals the streamed pieces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARKERS = ("question:", "choices:", "choice 1:", "choice one:")
# Characters a model may put around a marker line ("**QUESTION:**", "## Choices:", "- ").
_DECORATION = " \t\r\n*#_>-"
_NUMBERED_CHOICE = re.compile(r"^(?:choice\s*)?(?:\d|[a-c]|one|two|three)\s*[:.)\-]\s*(.+)$", re.I)
MAX_CHOICES = 3
MIN_CHOICES = 2


def _normalise(line: str) -> str:
    return line.lstrip(_DECORATION).lower()


def _could_become_marker(line: str) -> bool:
    text = _normalise(line)
    return any(marker.startswith(text) for marker in MARKERS)


def _is_marker(line: str) -> bool:
    text = _normalise(line)
    return any(text.startswith(marker) for marker in MARKERS)


@dataclass
class StoryBodySplitter:
    """Feed model tokens; get back the pieces of story body that are safe to show, one per token."""

    _token_index: int = 0
    _started: bool = False
    _in_candidate_line: bool = False
    _line: str = ""
    _held: list[tuple[int, str]] = field(default_factory=list)
    _ended: bool = False
    _tail: list[str] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        """True once the marker that starts the question and choices has been seen."""
        return self._ended

    @property
    def tail(self) -> str:
        """Everything from the marker line on (the question and choices), as written."""
        return "".join(self._tail)

    def feed(self, token: str) -> list[str]:
        self._token_index += 1
        if self._ended:
            self._tail.append(token)
            return []
        released: list[tuple[int, str]] = []
        for position, char in enumerate(token):
            if self._ended:
                self._tail.append(token[position:])
                break
            self._take(char, released)
        return _group_by_token(released)

    def finish(self) -> list[str]:
        """Release what was held at the end of the stream, except trailing whitespace."""
        if self._ended or not self._held:
            return []
        held, self._held = self._held, []
        text = "".join(piece for _, piece in held)
        keep = len(text.rstrip())
        released: list[tuple[int, str]] = []
        for index, piece in held:
            if keep <= 0:
                break
            released.append((index, piece[:keep]))
            keep -= len(piece)
        return _group_by_token(released)

    def _take(self, char: str, released: list[tuple[int, str]]) -> None:
        if not self._started:
            if char.isspace():
                return
            self._started = True
            self._in_candidate_line = True
            self._line = ""
        if self._in_candidate_line:
            self._hold(char)
            self._line = "" if char == "\n" else self._line + char
            if _is_marker(self._line):
                self._ended = True
                self._tail.append(self._line)
                self._held = []
            elif not _could_become_marker(self._line):
                self._in_candidate_line = False
                released.extend(self._held)
                self._held = []
            return
        if char.isspace():
            self._hold(char)
            if char == "\n":
                self._in_candidate_line = True
                self._line = ""
            return
        released.extend(self._held)
        self._held = []
        released.append((self._token_index, char))

    def _hold(self, char: str) -> None:
        if self._held and self._held[-1][0] == self._token_index:
            self._held[-1] = (self._token_index, self._held[-1][1] + char)
        else:
            self._held.append((self._token_index, char))


def _group_by_token(fragments: list[tuple[int, str]]) -> list[str]:
    pieces: list[str] = []
    last_index = -1
    for index, text in fragments:
        if index == last_index:
            pieces[-1] += text
        else:
            pieces.append(text)
            last_index = index
    return pieces


@dataclass(frozen=True)
class ParsedStory:
    body: str
    question: str | None
    choices: tuple[str, ...]

    @property
    def has_valid_choices(self) -> bool:
        return self.question is not None and MIN_CHOICES <= len(self.choices) <= MAX_CHOICES


def parse_story_output(text: str) -> ParsedStory:
    """Split a whole model answer into the body (exactly as streamed), question and choices."""
    splitter = StoryBodySplitter()
    body = "".join(splitter.feed(text)) + "".join(splitter.finish())
    question, choices = _parse_tail(splitter.tail)
    return ParsedStory(body=body, question=question, choices=choices)


def _clean(value: str) -> str:
    return value.strip().strip("*_\"'").strip()


def _parse_tail(tail: str) -> tuple[str | None, tuple[str, ...]]:
    question: str | None = None
    choices: list[str] = []
    for raw_line in tail.splitlines():
        line = raw_line.strip().lstrip("*#_>- \t")
        if not line:
            continue
        lowered = line.lower()
        if lowered.startswith("question:"):
            question = _clean(line.split(":", 1)[1]) or None
            continue
        if lowered.startswith("choices:"):
            rest = _clean(line.split(":", 1)[1])
            if rest:
                choices.append(rest)
            continue
        match = _NUMBERED_CHOICE.match(line)
        if match:
            choice = _clean(match.group(1))
            if choice:
                choices.append(choice)
    return question, tuple(choices[:MAX_CHOICES])
