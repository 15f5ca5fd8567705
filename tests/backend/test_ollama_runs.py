"""Runs against Ollama's real `/api/chat` NDJSON API, mocked with respx, driven in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import respx

from backend.app import create_app
from backend.settings import Settings
from tests.support import (
    STORY_BODY,
    STORY_ENDING,
    STORY_TEXT,
    OllamaChat,
    collect,
    create_child,
    event_types,
    json_chunks,
    make_settings,
    ndjson,
    ollama_chat_lines,
    running,
    sign_up,
    streamed_text,
    wait_for_run,
)
from workflows.ending import ChapterEnding
from workflows.providers.scripted import tokenize
from workflows.story_format import STOP_SEQUENCES
from workflows.summary import summarize_chapter
from workflows.themes import load_theme_catalogue

OLLAMA = "http://ollama.test:11434"


def _settings(tmp_path: Path, idle_timeout_seconds: float) -> Settings:
    return make_settings(
        tmp_path,
        llm_provider="ollama",
        ollama_base_url=OLLAMA,
        ollama_model="llama3.2:3b",
        idle_timeout_seconds=idle_timeout_seconds,
        first_token_timeout_seconds=5,
    )


@pytest.fixture
def ollama_settings(tmp_path: Path) -> Settings:
    # A generous idle limit: on a busy machine the pause between the body's last token and the
    # ending's first can be long; only the stall test below wants a short one.
    return _settings(tmp_path, idle_timeout_seconds=30)


@pytest.fixture
def ollama() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=OLLAMA, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client(ollama_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(ollama_settings)) as client:
        await sign_up(client)
        yield client


async def _stream_story(client: httpx.AsyncClient, **params: object) -> list:  # type: ignore[type-arg]
    child_id = await create_child(client, name="Mia", age=6)
    return await collect(
        client,
        "/api/v1/stories/generate/stream",
        params={"child_id": child_id, "theme": "space", **params},
    )


async def test_story_streams_from_ollama_and_is_stored(
    client: httpx.AsyncClient, ollama: respx.MockRouter
) -> None:
    chat = OllamaChat([tokenize(STORY_TEXT)])
    ollama.post("/api/chat").mock(side_effect=chat)
    frames = await _stream_story(client, title="The Silver Key")

    types = event_types(frames)
    assert types[:2] == ["node", "node"]
    assert types[-4:] == ["metadata", "node", "node", "complete"]
    assert [frame.id for frame in frames] == list(range(1, len(frames) + 1))
    assert streamed_text(frames) == STORY_BODY
    nodes = [(f.data["node"], f.data["status"]) for f in frames if f.event == "node"]
    ending_at = nodes.index(("ending", "started"))
    assert nodes[ending_at - 1 : ending_at + 2] == [
        ("generate", "completed"),
        ("ending", "started"),
        ("ending", "completed"),
    ]

    story = frames[-1].data["story"]
    assert story["content"] == STORY_BODY
    assert story["choices"] == STORY_ENDING["choices"]
    assert story["choice_question"] == "What should Mia do next?"
    assert story["choices_source"] == "model"
    # Two calls, each with Ollama's prompt_eval_count (321) and eval_count (its tokens).
    tokens = len(tokenize(STORY_TEXT)) + len(json_chunks(STORY_ENDING))
    assert story["usage"] == {
        "input_tokens": 2 * 321,
        "output_tokens": tokens,
        "total_tokens": 2 * 321 + tokens,
    }
    stored = (await client.get(f"/api/v1/stories/{story['id']}")).json()
    assert stored["content"] == STORY_BODY
    assert stored["title"] == "The Silver Key"
    assert (stored["summary"], stored["summary_source"]) == (STORY_ENDING["summary"], "model")

    body, ending = chat.requests
    assert body["model"] == "llama3.2:3b"
    assert body["stream"] is True
    assert "format" not in body
    # The body stops where an ending to the reader would begin (the splitter drops the rest).
    assert body["options"]["stop"] == list(STOP_SEQUENCES)
    assert [message["role"] for message in body["messages"]] == ["system", "user"]
    assert '"Mia"' in body["messages"][1]["content"]
    # The ending is Ollama structured output: `format` is the schema of workflows.ending.
    assert ending["format"] == ChapterEnding.model_json_schema()
    assert ending["format"]["properties"]["choices"]["minItems"] == 2
    assert ending["format"]["properties"]["choices"]["maxItems"] == 3
    assert f"########\n{STORY_BODY}\n########" in ending["messages"][1]["content"]

    run = await wait_for_run(client, story["run_id"], {"completed"})
    assert (run["input_tokens"], run["output_tokens"], run["story_id"]) == (
        2 * 321,
        tokens,
        story["id"],
    )
    assert (run["provider"], run["model"]) == ("ollama", "llama3.2:3b")


@pytest.mark.parametrize(
    ("mock", "code", "retryable"),
    [
        (httpx.ConnectError("connection refused"), "LLM_UNAVAILABLE", True),
        (
            httpx.Response(404, json={"error": "model 'llama3.2:3b' not found"}),
            "LLM_UNAVAILABLE",
            False,
        ),
        (httpx.Response(500, json={"error": "out of memory"}), "LLM_ERROR", True),
        (
            httpx.Response(
                200,
                content=ndjson(ollama_chat_lines(["Once", " upon"])[:2])
                + b'{"error":"model runner has unexpectedly stopped"}\n',
            ),
            "LLM_ERROR",
            True,
        ),
        (
            httpx.Response(
                200, content=b'{"message": {"content": "Once"}, "done": false}\n{not json\n'
            ),
            "LLM_ERROR",
            True,
        ),
    ],
    ids=["refused", "model-missing", "server-error", "error-mid-stream", "malformed-ndjson"],
)
async def test_backend_failures_end_the_stream_with_one_error_and_store_nothing(
    client: httpx.AsyncClient,
    ollama: respx.MockRouter,
    mock: Exception | httpx.Response,
    code: str,
    retryable: bool,
) -> None:
    route = ollama.post("/api/chat")
    if isinstance(mock, Exception):
        route.mock(side_effect=mock)
    else:
        route.mock(return_value=mock)
    frames = await _stream_story(client)

    assert frames[-1].event == "error"
    assert event_types(frames).count("error") == 1
    assert "complete" not in event_types(frames)
    assert frames[-1].data["error_code"] == code
    assert frames[-1].data["retryable"] is retryable
    run_id = frames[0].data["run_id"]
    run = await wait_for_run(client, run_id, {"failed"})
    assert run["error_code"] == code
    assert run["story_id"] is None


class _StallingStream(httpx.AsyncByteStream):
    """Sends two tokens, then keeps the connection open without another byte."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield ndjson(ollama_chat_lines(["Once", " upon"])[:2])  # no sentence end yet
        await asyncio.Event().wait()


async def test_stalled_backend_is_caught_by_the_idle_timeout(
    tmp_path: Path, ollama: respx.MockRouter
) -> None:
    ollama.post("/api/chat").respond(200, stream=_StallingStream())
    async with running(create_app(_settings(tmp_path, idle_timeout_seconds=0.5))) as client:
        await sign_up(client)
        frames = await _stream_story(client)
        run = await wait_for_run(client, frames[0].data["run_id"], {"failed"})
    # The gate was still waiting for the end of the first sentence: nothing was shown.
    assert streamed_text(frames) == ""
    assert frames[-1].data["error_code"] == "TIMEOUT"
    assert "went silent for 0.5 s" in frames[-1].data["message"]
    assert run["error_code"] == "TIMEOUT"


async def test_next_chapter_prompt_carries_a_summary_of_the_previous_one(
    client: httpx.AsyncClient, ollama: respx.MockRouter
) -> None:
    chat = OllamaChat([tokenize(STORY_TEXT)])
    ollama.post("/api/chat").mock(side_effect=chat)
    first = await _stream_story(client)
    child_id = first[-1].data["story"]["child_id"]
    second = await collect(
        client,
        "/api/v1/stories/generate/stream",
        params={"child_id": child_id, "theme": "space", "chapter_number": 2},
    )
    story = second[-1].data["story"]
    assert (story["chapter_number"], story["title"]) == (2, "Mia's Space Adventure")
    prompt = chat.story_requests[-1]["messages"][1]["content"]
    assert "Write chapter 2" in prompt
    assert f'The story so far: "Chapter 1: {STORY_ENDING["summary"]}"' in prompt


async def test_readyz_reports_the_llm_backend(
    client: httpx.AsyncClient, ollama: respx.MockRouter
) -> None:
    tags = ollama.get("/api/tags")
    tags.respond(200, json={"models": [{"name": "llama3.2:3b"}]})
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["llm"]["ok"] is True

    tags.respond(200, json={"models": [{"name": "mistral:latest"}]})
    missing = await client.get("/readyz")
    assert missing.status_code == 503
    # Which dependency is down, not the backend's words (those are logged: issue 13).
    assert missing.json()["llm"]["detail"] == "story model (ollama) not ready"

    tags.mock(side_effect=httpx.ConnectError("refused"))
    down = await client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["database"]["ok"] is True
    assert down.json()["llm"]["ok"] is False


async def test_readyz_names_the_safety_checks_and_the_judge_auto_chose(
    ollama_settings: Settings, ollama: respx.MockRouter
) -> None:
    ollama.get("/api/tags").respond(
        200, json={"models": [{"name": "llama3.2:3b"}, {"name": "llama-guard3:1b"}]}
    )
    settings = ollama_settings.model_copy(update={"safety_judge": "auto"})
    async with running(create_app(settings)) as client:
        ready = (await client.get("/readyz")).json()
    assert ready["safety"] == {
        "checks": ["rules", "semantic classifier", "LLM judge (llama_guard)"],
        "judge": "llama_guard",
        "judge_chosen_because": f"auto: Ollama at {OLLAMA} serves llama-guard3:1b",
    }


async def test_readyz_says_the_embedded_path_relies_on_rules_and_classifier(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, safety_judge="auto")
    async with running(create_app(settings)) as client:
        ready = (await client.get("/readyz")).json()
    assert ready["safety"]["checks"] == ["rules", "semantic classifier"]
    assert ready["safety"]["judge"] == "none"


async def test_ollama_repairs_a_held_back_sentence_by_continuing_the_chat(
    client: httpx.AsyncClient, ollama: respx.MockRouter
) -> None:
    shown = "Mia found a tiny silver key under the garden gate."
    # Round 12's encoder excuses "a pirate pulled out a gun and pointed it at her" (unsafe 0.80,
    # under its excuse_below 0.81): a known limit (known_limits.jsonl), not this test's subject.
    unsafe = " Then the pirate pressed the barrel of his gun against her head."
    rest = " Then a robin landed on the gate and sang to her." + STORY_TEXT[len(STORY_BODY) :]
    chat = OllamaChat([tokenize(shown + unsafe + rest), tokenize(rest.lstrip())])
    ollama.post("/api/chat").mock(side_effect=chat)
    frames = await _stream_story(client)
    assert "reset" not in event_types(frames)
    assert [f.data["status"] for f in frames if f.event == "node"].count("repairing") == 1
    text = streamed_text(frames)
    assert text == shown + rest.split("\n\nQUESTION")[0]
    assert frames[-1].data["story"]["content"] == text
    repair = chat.story_requests[-1]["messages"]
    assert [message["role"] for message in repair] == ["system", "user", "assistant", "user"]
    assert repair[2]["content"] == shown
    assert "touched on" in repair[3]["content"]
    assert "weapons" in repair[3]["content"]
    assert "gun" not in repair[3]["content"]


# How models end a chapter when left to themselves (issue 12), after the same story body.
CHAPTER_ENDINGS = {
    "numbered list": "\n\nWhat should Mia do next?\n1. Open the little blue door\n2. Ask the robin",
    "lettered list": "\n\nWhere should Mia go now?\nA) Open the little blue door\nB) Ask the robin",
    "inline question": " Should Mia open the door, or ask the robin? You decide!",
    "no ending": "",
}


@pytest.mark.parametrize("style", sorted(CHAPTER_ENDINGS))
async def test_whatever_ending_the_model_writes_the_choices_come_from_structured_output(
    client: httpx.AsyncClient, ollama: respx.MockRouter, style: str
) -> None:
    chat = OllamaChat([tokenize(STORY_BODY + CHAPTER_ENDINGS[style])])
    ollama.post("/api/chat").mock(side_effect=chat)
    frames = await _stream_story(client)

    assert streamed_text(frames) == STORY_BODY
    story = frames[-1].data["story"]
    assert (story["choice_question"], story["choices"], story["choices_source"]) == (
        STORY_ENDING["question"],
        STORY_ENDING["choices"],
        "model",
    )
    stored = (await client.get(f"/api/v1/stories/{story['id']}")).json()
    assert (stored["content"], stored["choices"], stored["choice_question"]) == (
        STORY_BODY,
        STORY_ENDING["choices"],
        STORY_ENDING["question"],
    )
    assert len(chat.ending_requests) == 1


async def test_an_invalid_structured_answer_is_asked_for_once_more(
    client: httpx.AsyncClient, ollama: respx.MockRouter
) -> None:
    one_choice = {**STORY_ENDING, "choices": ["Open the little blue door"]}
    chat = OllamaChat([tokenize(STORY_BODY)], endings=[one_choice, STORY_ENDING])
    ollama.post("/api/chat").mock(side_effect=chat)
    story = (await _stream_story(client))[-1].data["story"]
    assert (story["choices"], story["choices_source"]) == (STORY_ENDING["choices"], "model")
    assert len(chat.ending_requests) == 2


async def test_the_theme_choices_stand_in_only_after_the_retry_fails_too(
    client: httpx.AsyncClient, ollama: respx.MockRouter
) -> None:
    chat = OllamaChat([tokenize(STORY_BODY)], endings=['{"question": "What now', "not json"])
    ollama.post("/api/chat").mock(side_effect=chat)
    story = (await _stream_story(client))[-1].data["story"]
    theme = load_theme_catalogue()["space"].spec()
    assert (story["choice_question"], story["choices"], story["choices_source"]) == (
        theme["fallback_question"],
        theme["fallback_choices"],
        "theme",
    )
    assert len(chat.ending_requests) == 2
    stored = (await client.get(f"/api/v1/stories/{story['id']}")).json()
    assert (stored["summary"], stored["summary_source"]) == (
        summarize_chapter(STORY_BODY),
        "extract",
    )


async def test_an_unsafe_structured_ending_is_never_shown(
    client: httpx.AsyncClient, ollama: respx.MockRouter
) -> None:
    unsafe = {**STORY_ENDING, "choices": ["Grab the gun and shoot the robin", "Run away"]}
    chat = OllamaChat([tokenize(STORY_BODY)], endings=[unsafe, unsafe])
    ollama.post("/api/chat").mock(side_effect=chat)
    story = (await _stream_story(client))[-1].data["story"]
    assert story["choices_source"] == "theme"
    assert "gun" not in " ".join(story["choices"])
    assert len(chat.ending_requests) == 2
