"""What a child's screen must not show, as rules shared by the product and `make quality`:
commentary addressed to a reader, parent or author; sentences cut off on a word that cannot end
one; and chapter endings that are not real choices.

- **Commentary** (`COMMENTARY`: `ABOUT_THE_TEXT`, `TO_AN_ADULT` or `ABOUT_THE_WRITING`): the
  text talks about itself or to an adult instead of telling the story: "In this scene, you can
  use Sam as an example", "your child", "This book would", "the end of the book", "the first
  page", "the last sentence", "a 540-word short", "you could add", "some great tips", "the
  answer is", "the main character", "dear reader", "Title:"; or about its own writing: "The
  first line says", "just like you wrote them", "I will keep this one as new", "use
  alliteration".
- **Cut-off sentence** (`is_cut_off`): a sentence ending in "." or "!" whose last word is a
  closed-class word no finished sentence ends on (`CUT_OFF_WORDS`: articles, prepositions that
  cannot be a particle, conjunctions, modals, possessive determiners, degree words), or a
  determiner and an attributive adjective ("a big.", "the little."), or a modal and a bare "do",
  "be" or "have" ("could do."), or "made" and an object pronoun ("it made him."). Questions are
  not judged: "Where are you from?" is English.
- **A real ending** (`question_problems`, `choice_problems`, `summary_problems`): each field
  starts with a letter or a quotation mark, holds no JSON or mark-up characters and no
  commentary (a summary may talk about "this chapter", not to an adult), and is one sentence (the
  summary may have several); the question asks what happens next or what someone should do; a
  choice has two words or more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Words to a reader, a parent or an author: wrong anywhere a child or a parent reads.
TO_AN_ADULT = re.compile(
    r"\b(?:dear )?readers?\b"
    r"|\bwe can choose\b"
    r"|\bas an ai\b"
    r"|\breading (?:grade|level)\b"
    # "The rest of the book would be about your child's own adventures."
    r"|\byour (?:child|children|kids?|little ones?|son|daughter)\b"
    r"|\bthe child(?:'s| has| is| will| can| should| next)\b"
    # Tips for whoever reads it aloud: "you can use Sam as an example", "you could add".
    r"|\byou (?:can|could|might|may) (?:use|add|share|show|change|try|read|have it)\b"
    r"|\b(?:great|good|some|these|more|helpful|useful|few) tips\b|\btips (?:for|on)\b"
    r"|\bthe (?:answer|question) is\b"
    r"|\bthe main character\b"
    r"|\bthe (?:author|writer|narrator)\b",
    re.I | re.M,
)
# The text talking about itself: wrong in a chapter or an ending, natural in a summary ("In this
# chapter, Mia finds a key").
ABOUT_THE_TEXT = re.compile(
    r"\[|\]"
    r"|\b(?:this|the) (?:story|chapter|tale) (?:ends|is about|will|leaves|stops|has)\b"
    r"|\b(?:this|the) ending\b"
    r"|\bhere(?: is|'s) (?:a|the|your) (?:story|chapter|tale)\b"
    r"|\bchapter \d+\b"
    r"|^\s*(?:title|the end|moral|word count|note)\s*:"
    r"|\bword count\b"
    # The text as a book: "In this scene", "This book would", "This is a short version".
    r"|\bthis (?:book|story|chapter|scene|page|version|tale|passage|text|sentence)\b"
    r"|\b(?:short|sweet|final|other|new) version\b"
    r"|\bthe (?:end|rest) of (?:the|this) (?:book|story|chapter|page|scene|tale|sentence)\b"
    r"|\bthe (?:first|last|final|next) (?:sentence|paragraph|scene|chapter|page)\b"
    r"|\bthis is the end\b"
    r"|\b\d+[- ]words?\b",
    re.I | re.M,
)
# The model talking about its own writing, as the embedded model did (bench.quality, run 5):
# "The first line says", "just like you wrote them", "I will keep this one as new", "You can't
# add more writing", "you can use alliteration", "this short three-line passage", "This ends at
# Mina's house"; run 6: "This is a great start, but it can be even better", "This is the end of
# the first part - "Zeos" has been written by a child!", "How many words does this word list
# contain?"; later: "This is the next section of the first", "Zeki, the hero of today's book".
ABOUT_THE_WRITING = re.compile(
    r"\bthe (?:first|last|final|next)(?: (?:two|three|four|few))? lines?\b"
    r"|\b(?:like|as) you wrote\b"
    r"|\bI(?:'ll| will) write this\b|\bI will keep (?:it|this(?: one)?) as (?:a )?new\b"
    r"|\bthe (?:next|first|last) part of (?:the|this) (?:page|book|story|chapter)\b"
    r"|\bthe rest of the (?:first|last|next) (?:page|chapter|book)\b"
    r"|\byour writing\b|\bin your words\b"
    r"|\b(?:add|use) more (?:words|writing|details)\b"
    r"|\balliteration\b"
    r"|\bthis ends (?:at|with)\b"
    r"|\bthis is a (?:great|good|nice|wonderful) (?:start|beginning)\b|\bit can be even better\b"
    r"|\bhas been written by\b|\bhow many words\b|\bthe answer will be\b"
    r"|\bthe (?:end|start) (?:of|to) the (?:first|second|next|last) part\b"
    # Run 7: "The last two words are", "The next word, "but", was added", "the rest of the
    # text", "the whole piece", "A lot of other words could have been used instead".
    r"|\bthe (?:first|last|final|next) (?:two|three|four|few) (?:words|letters)\b"
    r"|\bthe next word\b|\bthe (?:end|rest) of (?:the|this) text\b|\bthe whole piece\b"
    r"|\bwords could have been\b"
    r"|\bthe (?:first|last|final|next) section of the (?:first|last|next)\b"
    r"|\bthe hero of (?:this|today's) (?:\w+ )?(?:book|story|tale|adventure)\b"
    r"|\b(?:one|two|three|four|five|ten|hundred|single)-(?:line|word|page|sentence)\b",
    re.I | re.M,
)
COMMENTARY = re.compile(
    f"{TO_AN_ADULT.pattern}|{ABOUT_THE_TEXT.pattern}|{ABOUT_THE_WRITING.pattern}", re.I | re.M
)

# Closed-class words no finished sentence ends on, by class (documented in the README).
ARTICLES = ("a", "an", "the", "every")
# Not "in", "on", "up", "out", "down", "off", "over", "by", "about", "around": they end
# sentences as particles ("She got up.").
PREPOSITIONS = (
    "of", "to", "into", "onto", "upon", "with", "from", "at", "for", "than", "between",
    "among", "towards", "toward", "during", "without", "unlike", "despite", "except",
)  # fmt: skip
CONJUNCTIONS = ("and", "but", "or", "nor", "because", "if", "unless", "whether", "although")
MODALS = ("can", "could", "will", "would", "shall", "should", "may", "might", "must")
# Not "his" or "her": "It is his." and "He saw her." are finished.
POSSESSIVES = ("my", "your", "its", "our", "their")
DEGREE_WORDS = ("very", "just", "quite", "rather")
CUT_OFF_WORDS = frozenset(
    ARTICLES + PREPOSITIONS + CONJUNCTIONS + MODALS + POSSESSIVES + DEGREE_WORDS
)
# Adjectives that only end a sentence as a noun phrase's head after a determiner: "it made a
# big." (but "The dog was big." is finished).
ATTRIBUTIVE_ADJECTIVES = frozenset((
    "big", "little", "small", "tiny", "huge", "large", "great", "long", "tall", "old", "new",
    "young", "good", "nice", "special", "happy", "real", "whole", "bright", "dark",
))  # fmt: skip
DETERMINERS = frozenset((*ARTICLES, *POSSESSIVES, "his", "her", "this", "that", "some"))
_BARE_VERBS = frozenset(("do", "be", "have"))
_OBJECT_PRONOUNS = frozenset(("him", "her", "them", "me", "us"))

_WORD = re.compile(r"(?:[^\W_]|')+")
# A sentence: up to ".", "!" or "?" and any closing quotation marks.
_SENTENCE = re.compile(r"[^.!?]*[.!?]+[\"'\u201d\u2019]*")
_LEADING = re.compile(r"""^["'\u201c\u2018]?[^\W\d_]""")
# JSON and mark-up a child's screen never shows: braces, brackets, angle brackets, asterisks,
# hashes, bars, backslashes, underscores, back-ticks, and JSON's quote-colon and empty quotes.
_MARKUP = re.compile(r'[{}\[\]<>*#|\\_`~]|":|""')
# A sentence end inside the text followed by more: "befriend other people. I love my home."
_SECOND_SENTENCE = re.compile(r"[.!?][\"'\u201d\u2019]*\s+\S")
_ASKS = re.compile(r"\b(?:what|where|which|how|who|whom|should|will|shall|could|would|can)\b", re.I)
_NEXT = re.compile(
    r"\b(?:next|now|should|shall|will|would|could|can|want|wants|going|happen|happens|choose|"
    r"pick|try)\b",
    re.I,
)
# Stray JSON punctuation a grammar-bound model leaves around a field: "]Ben was...", ", they".
_STRAY_LEADING = re.compile(r"""^[\s{}\[\],.;:*#|\\`~-]+""")
_STRAY_TRAILING = re.compile(r"""[\s{}\[\],;:*#|\\`~-]+$""")


def has_commentary(text: str) -> bool:
    return COMMENTARY.search(text) is not None


def sentences(text: str) -> list[str]:
    """The text's finished sentences (a trailing fragment without an end mark is left out)."""
    return [match.group().strip() for match in _SENTENCE.finditer(text) if match.group().strip()]


def is_cut_off(sentence: str) -> bool:
    """The sentence ends in "." or "!" on a word that leaves it unfinished (module docstring)."""
    if not sentence.rstrip("\"'\u201d\u2019 ").endswith((".", "!")):
        return False
    words = [word.lower() for word in _WORD.findall(sentence)]
    if not words:
        return False
    last = words[-1]
    before = words[-2] if len(words) > 1 else ""
    return (
        last in CUT_OFF_WORDS
        or (last in ATTRIBUTIVE_ADJECTIVES and before in DETERMINERS)
        or (last in _BARE_VERBS and before in MODALS)
        or (last in _OBJECT_PRONOUNS and before in ("made", "make", "makes"))
    )


def cut_off_sentences(text: str) -> list[str]:
    return [sentence for sentence in sentences(text) if is_cut_off(sentence)]


def trim_stray_punctuation(text: str) -> str:
    """The field without the JSON punctuation a small model leaves at its edges."""
    return _STRAY_TRAILING.sub("", _STRAY_LEADING.sub("", " ".join(text.split())))


def _field_problems(text: str) -> list[str]:
    problems = []
    if not _LEADING.match(text):
        problems.append("does not start with a letter or a quotation mark")
    if _MARKUP.search(text):
        problems.append("has JSON or mark-up characters")
    if has_commentary(text):
        problems.append("has commentary")
    return problems


def question_problems(question: str) -> list[str]:
    """Why this is not a question a child can answer by choosing what happens next."""
    problems = _field_problems(question)
    if _SECOND_SENTENCE.search(question):
        problems.append("is more than one sentence")
    if not (_ASKS.search(question) and _NEXT.search(question)):
        problems.append("does not ask what happens next or what someone should do")
    return problems


def choice_problems(choices: Sequence[str]) -> list[str]:
    """Why these are not two or more real, different things that could happen next."""
    problems = []
    for choice in choices:
        problems += [f"choice {choice!r} {problem}" for problem in _field_problems(choice)]
        if _SECOND_SENTENCE.search(choice):
            problems.append(f"choice {choice!r} is more than one sentence")
        if len(_WORD.findall(choice)) < 2:
            problems.append(f"choice {choice!r} has fewer than two words")
    folded = {" ".join(_WORD.findall(choice.lower())) for choice in choices}
    if len(folded) != len(choices):
        problems.append("the choices are not all different")
    if len(choices) < 2:
        problems.append("fewer than two choices")
    return problems


def summary_problems(summary: str) -> list[str]:
    """Why this summary cannot be stored and shown: a summary may say "In this chapter"."""
    problems = [problem for problem in _field_problems(summary) if problem != "has commentary"]
    if TO_AN_ADULT.search(summary):
        problems.append("has words to a reader or parent")
    return problems
