"""A LangChain callback handler for every run: the node in each log line, the story model's
first token, the sentences the gate held back, and (with tracing on) a span per graph node and
per model call, children of the run's span.

The first token comes from the generate node's progress report, not from the model's own token
callbacks: with tracing off the handler ignores model calls altogether, so a model call runs
with no handler to call per token (`workflows.event_stream` leaves such a handler out).

It is not wired into the graph: LangChain adds it to every callback manager configured while
`ACTIVE_OBSERVER` holds it (`register_configure_hook`), and the event log sets it when a run is
created, so exactly the run's own LangChain work sees it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langchain_core.tracers.context import register_configure_hook
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from backend.observability.context import bind_node, bound
from backend.observability.run_watch import RUN_ID_ATTRIBUTE, RunWatcher
from workflows.graph import NODE_NAMES
from workflows.nodes.generate import PROGRESS_EVENT, REPAIR_EVENT


@dataclass
class _Root:
    """One execution of the graph, i.e. one run."""

    started: float
    run_id: str | None
    first_token: bool = False
    members: set[UUID] = field(default_factory=set)


class RunObserver(BaseCallbackHandler):
    """Called inline (no thread hop, same context) for every LangChain event of a run."""

    run_inline = True

    def __init__(
        self,
        watcher: RunWatcher,
        tracer: Tracer | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.watcher = watcher
        self.metrics = watcher.metrics
        self.tracer = tracer
        self._clock = clock
        self._roots: dict[UUID, _Root] = {}
        self._root_of: dict[UUID, UUID] = {}
        self._parent: dict[UUID, UUID] = {}
        self._spans: dict[UUID, Span] = {}

    @property
    def ignore_llm(self) -> bool:
        # Model calls only make spans here; with no tracer there is nothing to do per token.
        return self.tracer is None

    @property
    def ignore_chat_model(self) -> bool:
        return self.tracer is None

    # -- bookkeeping -----------------------------------------------------------------------

    def _join(self, run_id: UUID, parent_run_id: UUID | None) -> _Root | None:
        if parent_run_id is None:
            return None
        root_id = self._root_of.get(parent_run_id, parent_run_id)
        root = self._roots.get(root_id)
        if root is None:
            return None
        self._root_of[run_id] = root_id
        self._parent[run_id] = parent_run_id
        root.members.add(run_id)
        return root

    def _parent_span(self, run_id: UUID, root: _Root) -> Span | None:
        parent = self._parent.get(run_id)
        while parent is not None:
            span = self._spans.get(parent)
            if span is not None:
                return span
            parent = self._parent.get(parent)
        return self.watcher.run_span(root.run_id)

    def _start_span(self, run_id: UUID, root: _Root, name: str, **attributes: Any) -> None:
        if self.tracer is None:
            return
        parent = self._parent_span(run_id, root)
        context = trace.set_span_in_context(parent) if parent is not None else None
        if root.run_id is not None:
            attributes[RUN_ID_ATTRIBUTE] = root.run_id
        self._spans[run_id] = self.tracer.start_span(name, context=context, attributes=attributes)

    def _end_span(self, run_id: UUID, error: BaseException | None = None) -> None:
        span = self._spans.pop(run_id, None)
        if span is None:
            return
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()

    def _forget(self, run_id: UUID) -> None:
        root = self._roots.pop(run_id, None)
        if root is None:
            self._root_of.pop(run_id, None)
            self._parent.pop(run_id, None)
            return
        for member in root.members:
            self._root_of.pop(member, None)
            self._parent.pop(member, None)
            self._end_span(member)

    # -- chains (the graph and its nodes) --------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if parent_run_id is None:
            self._roots[run_id] = _Root(started=self._clock(), run_id=bound().get("run_id"))
            return
        root = self._join(run_id, parent_run_id)
        node = (metadata or {}).get("langgraph_node")
        if root is None or node not in NODE_NAMES or kwargs.get("name") != node:
            return
        bind_node(node)
        self._start_span(run_id, root, f"node {node}", **{"langgraph.node": node})

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_span(run_id)
        self._forget(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_span(run_id, error)
        self._forget(run_id)

    # -- model calls -----------------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._model_started(run_id, parent_run_id, metadata)

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._model_started(run_id, parent_run_id, metadata)

    def _model_started(
        self, run_id: UUID, parent_run_id: UUID | None, metadata: dict[str, Any] | None
    ) -> None:
        root = self._join(run_id, parent_run_id)
        if root is None:
            return
        node = (metadata or {}).get("langgraph_node")
        self._start_span(run_id, root, "model call", **({"langgraph.node": node} if node else {}))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._spans.get(run_id)
        if span is not None:
            usage = _usage(response)
            for name, value in usage.items():
                span.set_attribute(f"gen_ai.usage.{name}", value)
        self._end_span(run_id)
        self._forget(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_span(run_id, error)
        self._forget(run_id)

    # -- the generate node's reports -------------------------------------------------------

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        # run_id is the node's: a custom event belongs to the run that dispatched it.
        if name == PROGRESS_EVENT:
            self._first_story_token(run_id)
        elif name == REPAIR_EVENT and isinstance(data, dict):
            self._held_back(run_id, data)

    def _first_story_token(self, run_id: UUID) -> None:
        # Only the story's node (generate) reports progress.
        root = self._roots.get(self._root_of.get(run_id, run_id))
        if root is None or root.first_token:
            return
        root.first_token = True
        self.watcher.model_token(root.run_id, self._clock())

    def _held_back(self, run_id: UUID, data: dict[str, Any]) -> None:
        categories = data.get("categories") or [""]
        for category in categories:
            self.metrics.safety_verdicts.labels("repair", str(category)).inc()
        span = self._spans.get(run_id) or self._nearest_span(run_id)
        if span is not None:
            span.add_event("sentence held back", {"categories": [str(c) for c in categories]})

    def _nearest_span(self, run_id: UUID) -> Span | None:
        current: UUID | None = run_id
        while current is not None:
            span = self._spans.get(current)
            if span is not None:
                return span
            current = self._parent.get(current)
        return None


def _usage(response: LLMResult) -> dict[str, int]:
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            usage = getattr(message, "usage_metadata", None)
            if usage:
                return {
                    "input_tokens": int(usage.get("input_tokens", 0)),
                    "output_tokens": int(usage.get("output_tokens", 0)),
                }
    return {}


# The observer of the app whose request started the run; LangChain reads it when it configures
# callbacks, so the handler is added to the run's calls and to nothing else.
ACTIVE_OBSERVER: ContextVar[RunObserver | None] = ContextVar(
    "storystream_run_observer", default=None
)
register_configure_hook(ACTIVE_OBSERVER, inheritable=True)


def observe_this_run(observer: RunObserver) -> None:
    ACTIVE_OBSERVER.set(observer)
