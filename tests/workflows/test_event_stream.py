"""Model calls stay off the run's event stream (issue 15): under `astream_events` a chapter
streams no `on_chat_model_*` event, the generate node reports the model's tokens as progress
instead, and a callback handler the run adds still sees every model token."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackManager, BaseCallbackHandler
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tracers.event_stream import _AstreamEventsCallbackHandler
from langchain_core.tracers.log_stream import LogStreamCallbackHandler

from tests.support import STORY_TEXT, story_request
from workflows.context import StoryContext
from workflows.event_stream import is_streaming_tracer, off_event_stream
from workflows.graph import graph, initial_state
from workflows.nodes.generate import PROGRESS_EVENT
from workflows.providers.scripted import ScriptedChatModel, tokenize


class TokenCounter(BaseCallbackHandler):
    run_inline = True

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        assert isinstance(token, str)
        self.tokens.append(token)


async def _chapter_events(model: ScriptedChatModel, counter: TokenCounter) -> list[Any]:
    config: RunnableConfig = {"callbacks": [counter]}
    stream = graph.astream_events(
        initial_state(story_request(title="Mia and the Key")),
        config,
        context=StoryContext(model=model),
        version="v2",
    )
    return [event async for event in stream]


async def test_a_chapter_streams_no_model_events_and_reports_its_tokens() -> None:
    counter = TokenCounter()
    events = await _chapter_events(ScriptedChatModel(text=STORY_TEXT), counter)
    assert [e["event"] for e in events if e["event"].startswith("on_chat_model")] == []
    progress = [
        e["data"]["tokens"]
        for e in events
        if e["event"] == "on_custom_event" and e["name"] == PROGRESS_EVENT
    ]
    # The first token is reported at once; the rest when the call ends (well within a second).
    story_tokens = len(tokenize(STORY_TEXT))
    assert progress == [1, story_tokens - 1]
    # The run's own handler still sees the story's tokens and the ending's.
    assert counter.tokens[:story_tokens] == tokenize(STORY_TEXT)
    assert len(counter.tokens) > story_tokens


async def test_off_event_stream_keeps_the_other_handlers() -> None:
    counter = TokenCounter()
    seen: list[list[str]] = []

    async def node(_: object) -> str:
        config = off_event_stream({"tags": ["ending"]})
        callbacks = config["callbacks"]
        assert isinstance(callbacks, AsyncCallbackManager)
        seen.append([type(h).__name__ for h in callbacks.handlers])
        assert config["tags"] == ["ending"]
        answer = await ScriptedChatModel(text="Hello there.").ainvoke([HumanMessage("hi")], config)
        return answer.text

    events = [
        event
        async for event in RunnableLambda(node).astream_events(
            None, {"callbacks": [counter]}, version="v2"
        )
    ]
    assert seen == [["TokenCounter"]]
    assert {e["event"] for e in events} == {"on_chain_start", "on_chain_stream", "on_chain_end"}
    assert events[-1]["data"]["output"] == "Hello there."


def test_only_langchains_stream_tracers_are_taken_out() -> None:
    assert is_streaming_tracer(_AstreamEventsCallbackHandler())
    assert is_streaming_tracer(LogStreamCallbackHandler())
    assert not is_streaming_tracer(TokenCounter())
    listed = off_event_stream({"callbacks": [TokenCounter(), LogStreamCallbackHandler()]})
    callbacks = listed["callbacks"]
    assert isinstance(callbacks, list)
    assert [type(h).__name__ for h in callbacks] == ["TokenCounter"]
