"""LLM judges for the whole-chapter safety check: Llama Guard 3 through Ollama, or a rubric
prompt to the story model. Their answers are never streamed to a client."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from workflows.event_stream import off_event_stream
from workflows.prompts import PromptLibrary
from workflows.state import SafetyIssue, StoryRequest

JUDGE_TAG = "storystream:judge"

# Llama Guard 3's hazard categories, named the way our other checks name theirs.
LLAMA_GUARD_CATEGORIES: Mapping[str, str] = {
    "S1": "violence",
    "S2": "crime",
    "S3": "sexual",
    "S4": "sexual",
    "S5": "defamation",
    "S6": "specialised_advice",
    "S7": "personal_data",
    "S8": "intellectual_property",
    "S9": "weapons",
    "S10": "hate",
    "S11": "self_harm",
    "S12": "sexual",
    "S13": "elections",
    "S14": "code_abuse",
}
_CODES = re.compile(r"\bS(\d{1,2})\b")


class JudgeAnswerError(ValueError):
    """The judge answered something that is neither a safe nor an unsafe verdict."""


class SafetyJudge(Protocol):
    async def judge(self, text: str, request: StoryRequest) -> list[SafetyIssue]:
        """Issues the judge found in the whole chapter; empty when it judged it safe."""
        ...


def _issue(category: str, term: str, text: str) -> SafetyIssue:
    return SafetyIssue(category=category, severity="high", term=term, span=(0, len(text)))


def parse_llama_guard(answer: str, text: str) -> list[SafetyIssue]:
    """Llama Guard answers `safe`, or `unsafe` and a line of category codes (S1-S14)."""
    lines = [line.strip() for line in answer.strip().splitlines() if line.strip()]
    if not lines:
        raise JudgeAnswerError("the safety judge gave an empty answer")
    verdict = lines[0].lower()
    if verdict == "safe":
        return []
    if verdict != "unsafe":
        raise JudgeAnswerError(f"the safety judge answered {lines[0][:60]!r}")
    codes = [f"S{number}" for number in _CODES.findall(" ".join(lines[1:]))] or ["unspecified"]
    return [
        _issue(LLAMA_GUARD_CATEGORIES.get(code, "unsafe"), f"llama-guard {code}", text)
        for code in codes
    ]


def parse_rubric(answer: str, text: str) -> list[SafetyIssue]:
    first = answer.strip().splitlines()[0].strip() if answer.strip() else ""
    if first.upper().startswith("UNSAFE"):
        reason = first.split(":", 1)[1].strip() if ":" in first else "judged unsafe"
        return [_issue("judge", reason[:200], text)]
    if first.upper().startswith("SAFE"):
        return []
    raise JudgeAnswerError(f"the safety judge answered {first[:60]!r}")


def rubric_prompt(prompts: PromptLibrary, request: StoryRequest, text: str) -> str:
    return prompts.render("safety_rubric", child_age=request["child_age"], story=text)


@dataclass(frozen=True)
class LlamaGuardJudge:
    """Llama Guard 3 (`llama-guard3:1b` on Ollama) classifies the chapter as a user turn."""

    model: BaseChatModel

    async def judge(self, text: str, request: StoryRequest) -> list[SafetyIssue]:
        answer = await self.model.ainvoke(
            [HumanMessage(content=text)], config=off_event_stream({"tags": [JUDGE_TAG]})
        )
        return parse_llama_guard(answer.text, text)


@dataclass(frozen=True)
class RubricJudge:
    """The story model itself, asked with a rubric from `prompts/safety_rubric.txt`."""

    model: BaseChatModel
    prompts: PromptLibrary

    async def judge(self, text: str, request: StoryRequest) -> list[SafetyIssue]:
        prompt = rubric_prompt(self.prompts, request, text)
        answer = await self.model.ainvoke(
            [HumanMessage(content=prompt)], config=off_event_stream({"tags": [JUDGE_TAG]})
        )
        return parse_rubric(answer.text, text)
