"""A parent's blocked topics ("spiders", "the dark") as phrases, singular and plural alike."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from workflows.safety.matcher import PhraseMatcher
from workflows.safety.terms import Label, Phrase, Words

BLOCKED_TOPIC = Label("blocked_topic", "high")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_VOWELS = frozenset("aeiou")


@lru_cache(maxsize=256)
def blocked_topic_matcher(topics: tuple[str, ...]) -> PhraseMatcher:
    """One matcher per distinct list of topics; a run checks every sentence with the same list."""
    phrases = []
    for topic in topics:
        folded = "".join(
            char
            for char in unicodedata.normalize("NFKD", topic.lower())
            if not unicodedata.combining(char)
        )
        words = _WORD.findall(folded)
        if words:
            slots = tuple(Words(tuple((form,) for form in word_forms(word))) for word in words)
            phrases.append(Phrase(slots=slots, label=BLOCKED_TOPIC))
    return PhraseMatcher(phrases)


def word_forms(word: str) -> tuple[str, ...]:
    """The word, its plural and its singular, by the regular English rules only."""
    forms = [word]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    elif word.endswith(("ches", "shes", "sses", "xes", "zes")):
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.append(word[:-1])
    else:
        forms.append(word + ("es" if word.endswith(("ch", "sh", "s", "x", "z")) else "s"))
        if word.endswith("y") and len(word) > 2 and word[-2] not in _VOWELS:
            forms.append(word[:-1] + "ies")
    return tuple(dict.fromkeys(forms))
