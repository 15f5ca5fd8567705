"""The structured end of a chapter: the question to the reader, 2-3 choices, and a summary for
the next chapter. One pydantic schema, sent as a JSON schema to every backend: Ollama's `format`,
llama.cpp's grammar-constrained decoding, and the scripted test model.

A JSON grammar keeps the answer well-formed, not readable: a small model fills the fields with
"} The main character is Sam.", "]Ben was not happy" or "the answer is no.". So each field is
also held to what a child's screen needs (`workflows.story_rules`): stray JSON punctuation at
its edges is trimmed, and a field that is still not a what-next question, not a real choice, or
not a clean summary fails validation, and the ending node asks once more."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from workflows.story_rules import (
    choice_problems,
    question_problems,
    summary_problems,
    trim_stray_punctuation,
)

MIN_CHOICES = 2
MAX_CHOICES = 3

# The shape of each field, as regular expressions in the JSON schema: llama.cpp and Ollama turn
# them into the grammar the answer is decoded under, so a small model cannot start a choice with
# "]" or fill the question with notes; pydantic checks them again for any backend.
QUESTION_PATTERN = (
    # "What should...", "Which way will..." (a question word, "Which" with one of a few nouns),
    # or a yes/no "Should Pip...". Anything freer, and SmolLM2 writes "What is the shall of...".
    r"^((What|Where|How|Who) |Which ((way|path|road|door|friend|one) )?)?"
    r"(should|will|could|can|would|Should|Will|Could|Can|Would)"
    r" [A-Za-zÀ-ɏ' ,-]{3,90}[?]$"
)
CHOICE_VERBS_FILE = Path(__file__).with_name("data") / "choice_verbs.txt"


def choice_verbs() -> tuple[str, ...]:
    """The verbs a choice may start with, from `workflows/data/choice_verbs.txt`."""
    lines = CHOICE_VERBS_FILE.read_text("utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


# A choice is something to do: an imperative verb, then 1-11 more words. Letters include the
# accented ones of names like "Zoë" or "José"; a capital only starts a word, and a comma only
# ends one, so a small model cannot run words together ("he'sGoing,buthelsmall-hats").
_LETTER = "A-Za-zÀ-ɏ"
_LOWER = "a-zß-ɏ'"
_WORD = rf"([{_LETTER}][{_LOWER}]*(-[{_LOWER}]+)?,?|[0-9]+)"
# The word after the verb (and an optional "a") has two letters or more: "Ask A" / "Bake B" are
# no choices.
_FIRST_WORD = rf"([{_LETTER}][{_LOWER}]+(-[{_LOWER}]+)?,?|[0-9]+)"
# The last word has three letters or more, or is one of a few short words a choice ends on
# ("Wake up", "Go in"): not "Make her home to".
_LAST_WORD = rf"([{_LETTER}][{_LOWER}]{{2,}}(-[{_LOWER}]+)?|[0-9]+|up|in|on|go|do|me|us)"
_LONG_LAST_WORD = rf"([{_LETTER}][{_LOWER}]{{2,}}(-[{_LOWER}]+)?|[0-9]+)"
# Verbs not done with a short word: "Make a cake", not "Make up", "Make it".
NEEDS_AN_OBJECT = ("Help", "Make", "Bake", "Build", "Bring", "Give", "Find")
# Verbs whose object is someone: a name or a word like "the", "his", "everyone", never "to" or
# any lower-case word ("Invite to the sea", "Invite to go home").
TO_SOMEONE = ("Invite", "Greet", "Thank", "Hug")
_NAME = "[A-ZÀ-Þ][a-zß-ɏ]+('s)?"
_SOMEONE = rf"(him|them|her|us|me|everyone|everybody|mom|dad|{_NAME})"
# Not "a": "Invite a big meal", "Invite a sail" (bench.quality run 7).
_SOMEONE_FIRST = rf"(the|his|her|their|my|our|him|them|us|me|everyone|everybody|mom|dad|{_NAME})"


def _choice_pattern(verbs: tuple[str, ...]) -> str:
    # "Listen the sky" is no English: the verb is "Listen to".
    verbs = tuple("Listen to" if verb == "Listen" else verb for verb in verbs)

    def among(group: tuple[str, ...], inside: bool = True) -> str:
        return "|".join(verb for verb in verbs if (verb in group) == inside)

    def rest(first: str, alone: str = _LAST_WORD, a: str = "( a)?") -> str:
        return rf"{a}(( {alone})|( {first})( {_WORD}){{0,8}}( {_LAST_WORD}))"

    return (
        rf"^(({among(NEEDS_AN_OBJECT + TO_SOMEONE, inside=False)}){rest(_FIRST_WORD)}"
        rf"|({among(NEEDS_AN_OBJECT)}){rest(_FIRST_WORD, _LONG_LAST_WORD)}"
        rf"|({among(TO_SOMEONE)}){rest(_SOMEONE_FIRST, _SOMEONE, a='')})[.!]?$"
    )


CHOICE_PATTERN = _choice_pattern(choice_verbs())
# Characters a summary may not hold (quotes, markup), as a regular-expression class body.
SUMMARY_FORBIDDEN = r'{}\[\]<>*#|\\_`~"\n'
SUMMARY_PATTERN = rf"^[A-Z][^{SUMMARY_FORBIDDEN}]{{19,399}}$"


def _trimmed(value: object) -> object:
    return trim_stray_punctuation(value) if isinstance(value, str) else value


def _as_question(value: object) -> object:
    if not isinstance(value, str):
        return value
    value = trim_stray_punctuation(value)
    return value if value.endswith("?") else value.rstrip(".!") + "?"


# The trimming runs before the constraints (a `BeforeValidator` listed first would also drop
# the pattern from the JSON schema).
Choice = Annotated[
    str,
    StringConstraints(min_length=3, max_length=80, pattern=CHOICE_PATTERN),
    BeforeValidator(_trimmed),
]
# A choice a child can read has a word in it: the grammar lets a small model answer "]\n,".
_A_WORD = re.compile(r"[^\W\d_]{2,}")


class ChapterEnding(BaseModel):
    """What the reader is asked at the end of a chapter, what they may pick, and what the next
    chapter needs to know."""

    model_config = ConfigDict(extra="forbid")

    question: Annotated[str, BeforeValidator(_as_question)] = Field(
        min_length=8,
        max_length=120,
        pattern=QUESTION_PATTERN,
        description="One short question asking the reader what should happen next.",
    )
    choices: list[Choice] = Field(
        min_length=MIN_CHOICES,
        max_length=MAX_CHOICES,
        description="Two or three different things that could happen next, a few words each.",
    )
    summary: Annotated[str, BeforeValidator(_trimmed)] = Field(
        min_length=20,
        max_length=400,
        pattern=SUMMARY_PATTERN,
        description="Two or three sentences: what happened in this chapter, for the next one.",
    )

    @field_validator("question")
    @classmethod
    def _a_question(cls, value: str) -> str:
        _refuse(question_problems(value))
        return value

    @field_validator("summary")
    @classmethod
    def _a_clean_summary(cls, value: str) -> str:
        _refuse(summary_problems(value))
        return value

    @field_validator("choices")
    @classmethod
    def _different(cls, values: list[str]) -> list[str]:
        if not all(_A_WORD.search(value) for value in values):
            raise ValueError("every choice must have a word in it")
        folded = {" ".join(value.lower().strip(" .!").split()) for value in values}
        if len(folded) != len(values):
            raise ValueError("the choices must differ from each other")
        _refuse(choice_problems(values))
        return values


def _refuse(problems: list[str]) -> None:
    if problems:
        raise ValueError("; ".join(problems))


def ending_json_schema() -> dict[str, object]:
    """The JSON schema every backend constrains its answer to."""
    return ChapterEnding.model_json_schema()
