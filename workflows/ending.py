"""The structured end of a chapter: the question to the reader, 2-3 choices, and a summary for
the next chapter. One pydantic schema, sent as a JSON schema to every backend: Ollama's `format`,
llama.cpp's grammar-constrained decoding, and the scripted test model."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MIN_CHOICES = 2
MAX_CHOICES = 3

Choice = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=80)]


class ChapterEnding(BaseModel):
    """What the reader is asked at the end of a chapter, what they may pick, and what the next
    chapter needs to know."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=8,
        max_length=120,
        description="One short question asking the reader what should happen next.",
    )
    choices: list[Choice] = Field(
        min_length=MIN_CHOICES,
        max_length=MAX_CHOICES,
        description="Two or three different things that could happen next, a few words each.",
    )
    summary: str = Field(
        min_length=20,
        max_length=400,
        description="Two or three sentences: what happened in this chapter, for the next one.",
    )

    @field_validator("question")
    @classmethod
    def _a_question(cls, value: str) -> str:
        value = " ".join(value.split())
        return value if value.endswith("?") else value.rstrip(".!") + "?"

    @field_validator("summary")
    @classmethod
    def _one_paragraph(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("choices")
    @classmethod
    def _different(cls, values: list[str]) -> list[str]:
        folded = {" ".join(value.lower().strip(" .!").split()) for value in values}
        if len(folded) != len(values):
            raise ValueError("the choices must differ from each other")
        return values


def ending_json_schema() -> dict[str, object]:
    """The JSON schema every backend constrains its answer to."""
    return ChapterEnding.model_json_schema()
