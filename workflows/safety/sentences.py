"""Where the sentences of a text are, as the streaming gate cuts them."""

from __future__ import annotations

import re

# Up to ., ! or ? (with closing quotes or brackets), a line break, or the end of the text.
_SENTENCE = re.compile(r"""[^.!?\n]*(?:[.!?]+["')\]\u2019\u201d]*|\n|$)""")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, surrounding whitespace left out."""
    spans = []
    for match in _SENTENCE.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans
