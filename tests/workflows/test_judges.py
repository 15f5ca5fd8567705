"""The whole-chapter LLM judges: Llama Guard 3 through Ollama's API, and the rubric prompt."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx
from langchain_ollama import ChatOllama

from backend.runs.failures import classify_backend_error
from tests.support import STORY_TEXT, ndjson, ollama_chat_lines, story_request
from workflows.context import StoryContext
from workflows.graph import graph, initial_state
from workflows.judges import (
    JudgeAnswerError,
    LlamaGuardJudge,
    RubricJudge,
    parse_llama_guard,
    parse_rubric,
)
from workflows.prompts import load_prompt_library
from workflows.providers.scripted import ScriptedChatModel

OLLAMA = "http://ollama.test:11434"
REQUEST = story_request(story_length="short", title="Moon")


@pytest.fixture
def ollama() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=OLLAMA, assert_all_called=False) as router:
        yield router


def test_llama_guard_verdicts_are_parsed_into_categories() -> None:
    assert parse_llama_guard("safe", "text") == []
    issues = parse_llama_guard("unsafe\nS1,S10", "text")
    assert [(issue["category"], issue["term"]) for issue in issues] == [
        ("violence", "llama-guard S1"),
        ("hate", "llama-guard S10"),
    ]
    with pytest.raises(JudgeAnswerError):
        parse_llama_guard("I think it is fine", "text")


def test_rubric_verdicts_are_parsed() -> None:
    assert parse_rubric("SAFE", "text") == []
    assert parse_rubric("UNSAFE: a scary fight", "text")[0]["term"] == "a scary fight"
    with pytest.raises(JudgeAnswerError):
        parse_rubric("maybe", "text")


async def test_llama_guard_is_asked_through_ollama(ollama: respx.MockRouter) -> None:
    route = ollama.post("/api/chat").respond(
        200, content=ndjson(ollama_chat_lines(["unsafe", "\n", "S9"], model="llama-guard3:1b"))
    )
    judge = LlamaGuardJudge(model=ChatOllama(model="llama-guard3:1b", base_url=OLLAMA))
    issues = await judge.judge("The knight built a cannon.", REQUEST)
    assert [issue["category"] for issue in issues] == ["weapons"]
    sent = route.calls.last.request.content.decode()
    assert '"model": "llama-guard3:1b"' in sent or '"model":"llama-guard3:1b"' in sent
    assert "The knight built a cannon." in sent


async def test_an_unreachable_judge_fails_the_check_loudly(ollama: respx.MockRouter) -> None:
    ollama.post("/api/chat").mock(side_effect=httpx.ConnectError("refused"))
    judge = LlamaGuardJudge(model=ChatOllama(model="llama-guard3:1b", base_url=OLLAMA))
    with pytest.raises(httpx.ConnectError) as raised:
        await judge.judge("A story.", REQUEST)
    # The run ends with LLM_UNAVAILABLE instead of passing an unjudged chapter.
    assert classify_backend_error(raised.value).code == "LLM_UNAVAILABLE"


async def test_the_judge_rejects_what_the_rules_let_through_and_is_never_streamed() -> None:
    judge = RubricJudge(
        model=ScriptedChatModel(text="UNSAFE: too spooky for bedtime"),
        prompts=load_prompt_library(),
    )
    context = StoryContext(model=ScriptedChatModel(text=STORY_TEXT), judge=judge)
    shown: list[str] = []
    final = None
    async for event in graph.astream_events(
        initial_state(REQUEST, 1), context=context, version="v2"
    ):
        if event["event"] == "on_custom_event" and event["name"] == "storystream.token":
            shown.extend(event["data"]["pieces"])  # type: ignore[typeddict-item]
        if event["event"] == "on_chain_end" and not event.get("parent_ids"):
            final = event["data"]["output"]
    assert final is not None
    assert final["safety"]["approved"] is False
    assert [issue["term"] for issue in final["safety"]["issues"]] == ["too spooky for bedtime"]
    assert "spooky" not in "".join(shown)
