"""A run's three timeouts (first token, idle, total) as one watchdog per run (issue 15): each
limit ends the run with its own reason, the deadline moves with the run's phase, and a deadline
never interrupts an event being published."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

from backend.db.engine import SessionFactory
from backend.runs.events import WireEvent
from backend.runs.executor import RunEnvironment, RunExecution, RunSpec, RunTimeouts
from backend.runs.failures import RunTimeout
from backend.runs.log import InMemoryEventLog, LoggedEvent
from tests.support import story_request
from workflows.context import StoryContext
from workflows.graph import GRAPH_NAME, StoryGraph
from workflows.nodes.generate import PROGRESS_EVENT, VISIBLE_TOKEN_EVENT

FOREVER = 3600.0
# The limit under test; the model's pauses are far shorter or far longer than it.
LIMIT = 0.3

Step = dict[str, Any] | float  # an event, or a pause of the model in seconds


def _token() -> dict[str, Any]:
    # The generate node reports the model's tokens as progress (one token here).
    return {
        "event": "on_custom_event",
        "name": PROGRESS_EVENT,
        "parent_ids": ["graph", "generate"],
        "metadata": {"langgraph_node": "generate"},
        "data": {"tokens": 1},
    }


def _shown(text: str) -> dict[str, Any]:
    return {
        "event": "on_custom_event",
        "name": VISIBLE_TOKEN_EVENT,
        "parent_ids": ["graph", "generate"],
        "metadata": {"langgraph_node": "generate"},
        "data": {"pieces": [text]},
    }


FINISHED = {
    "event": "on_chain_end",
    "name": GRAPH_NAME,
    "parent_ids": [],
    "data": {"output": {"story_text": "done"}},
}


class ScriptedEvents:
    """A graph whose `astream_events` yields `steps`, pausing where a step is a number."""

    def __init__(self, steps: list[Step]) -> None:
        self._steps = steps

    async def astream_events(self, *_args: object, **_kwargs: object) -> AsyncIterator[Any]:
        for step in self._steps:
            if isinstance(step, float):
                await asyncio.sleep(step)
            else:
                yield step


class SlowPublishing(InMemoryEventLog):
    """Publishing a content event takes `seconds` (a slow event log)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(retention_seconds=FOREVER)
        self._seconds = seconds
        self.published: list[str] = []

    async def append(self, run_id: str, event: WireEvent) -> LoggedEvent:
        if event.type == "content":
            await asyncio.sleep(self._seconds)
        self.published.append(event.type)
        return await super().append(run_id, event)


def _execution(
    steps: list[Step],
    timeouts: RunTimeouts,
    log: InMemoryEventLog | None = None,
) -> RunExecution:
    env = RunEnvironment(
        event_log=log or InMemoryEventLog(retention_seconds=FOREVER),
        sessions=cast(SessionFactory, None),  # the chapter is not stored here
        graph=cast(StoryGraph, ScriptedEvents(steps)),
        context=cast(StoryContext, None),
        timeouts=timeouts,
    )
    return RunExecution(RunSpec("run1", 1, None, story_request()), env)


async def _written(execution: RunExecution) -> Any:
    await execution.env.event_log.create(execution.run_id)
    return await execution._stream_workflow()


async def test_no_first_token_ends_the_run_with_the_first_token_reason() -> None:
    run = _execution([FOREVER], RunTimeouts(LIMIT, FOREVER, FOREVER))
    with pytest.raises(RunTimeout) as ended:
        await _written(run)
    assert str(ended.value) == "the story model sent no first word within 0.3 s"


async def test_silence_after_the_first_token_ends_the_run_with_the_idle_reason() -> None:
    # The first-token limit is long; once a token came, the shorter idle limit applies.
    steps: list[Step] = [_token(), 0.01, _token(), FOREVER]
    run = _execution(steps, RunTimeouts(FOREVER, LIMIT, FOREVER))
    with pytest.raises(RunTimeout) as ended:
        await _written(run)
    assert str(ended.value) == "the story model went silent for 0.3 s mid-story"


async def test_a_steady_model_still_ends_at_the_total_limit() -> None:
    steps: list[Step] = [step for _ in range(1000) for step in (_token(), 0.01)]
    run = _execution(steps, RunTimeouts(FOREVER, FOREVER, LIMIT))
    with pytest.raises(RunTimeout) as ended:
        await _written(run)
    assert str(ended.value) == "the story was not finished within 0.3 s"


async def test_tokens_in_time_keep_the_run_going_past_the_idle_limit() -> None:
    steps: list[Step] = [
        # 0.6 s of tokens in all, 0.02 s apart.
        *(step for _ in range(30) for step in (_token(), 0.02)),
        FINISHED,
    ]
    run = _execution(steps, RunTimeouts(FOREVER, LIMIT, FOREVER))
    assert await _written(run) == {"story_text": "done"}


async def test_a_deadline_passing_while_publishing_does_not_cut_the_publishing_short() -> None:
    # Publishing the shown sentence outlasts the idle limit: it is finished, and the run times
    # out when it next waits for the model (as a timeout around each wait did).
    steps: list[Step] = [_token(), _shown("Once upon a time. "), FOREVER]
    log = SlowPublishing(seconds=LIMIT * 3)
    run = _execution(steps, RunTimeouts(FOREVER, LIMIT, FOREVER), log)
    with pytest.raises(RunTimeout) as ended:
        await _written(run)
    assert str(ended.value) == "the story model went silent for 0.3 s mid-story"
    # The run's own start (published before the graph's stream), then the whole sentence.
    assert log.published == ["node", "content"]
