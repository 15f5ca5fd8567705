"""Model calls kept off the run's event stream.

Under `astream_events` every callback manager carries the stream's tracer, and the tracer turns
each model token into an `on_chat_model_stream` event: a dict with the run's parent ids, a send
into a memory stream and a wake-up of the run's reader, per token, for events the run then
throws away. StoryStream never shows a raw model token (the sentence gate releases text with its
own event, one per sentence; the ending and the judge are read whole), so its model calls leave
the tracer out, and any handler that ignores model calls anyway (LangChain's `ignore_llm` and
`ignore_chat_model`: the run observer with tracing off), and keep every other handler: the
observer's spans when tracing is on, a LangSmith tracer when one is configured. The nodes' own
events (start, end, released sentences, repairs, queue places) still come through
`astream_events`, which stays the run's one source.
"""

from __future__ import annotations

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config

# The marker LangChain's own streaming tracers (astream_events, astream_log) carry, and the one
# LangGraph checks for the same purpose; a private name, so it is looked up by name in the MRO.
_STREAMING_TRACER = "_StreamingCallbackHandler"


def is_streaming_tracer(handler: object) -> bool:
    """Whether `handler` is one of LangChain's stream tracers (`astream_events`, `astream_log`)."""
    return any(cls.__name__ == _STREAMING_TRACER for cls in type(handler).__mro__)


def ignores_model_calls(handler: object) -> bool:
    """Whether `handler` would skip every callback of a model call."""
    return bool(
        getattr(handler, "ignore_llm", False) and getattr(handler, "ignore_chat_model", False)
    )


def _left_out(handler: object) -> bool:
    return is_streaming_tracer(handler) or ignores_model_calls(handler)


def off_event_stream(config: RunnableConfig | None = None) -> RunnableConfig:
    """The config a node's model call runs with: the node's own (`ensure_config` reads it from
    the context LangGraph runs the node in, and copies its callback manager), merged with
    `config`, minus the stream tracers and the handlers with nothing to do in a model call."""
    merged = ensure_config(config)
    callbacks = merged.get("callbacks")
    if isinstance(callbacks, BaseCallbackManager):
        left_out = {
            id(h): h for h in [*callbacks.handlers, *callbacks.inheritable_handlers] if _left_out(h)
        }
        for handler in left_out.values():
            callbacks.remove_handler(handler)
    elif isinstance(callbacks, list):
        kept: list[BaseCallbackHandler] = [h for h in callbacks if not _left_out(h)]
        merged["callbacks"] = kept
    return merged
