"""The one place LangGraph's `astream_events(version="v2")` stream becomes wire-contract events.

Pure: no I/O, no clock. One `EventMapper` per run; feed it every event in order.

    on_chain_start  (graph)          -> node workflow started (with run_id)
    on_chain_start  (node)           -> node <name> started
    on_custom_event (queued)         -> node generate queued, with the place in the queue
    on_chat_model_stream (generate)  -> content, one per token, story body only
    on_chain_end    (generate)       -> held body text released, node generate completed
    on_chain_end    (safety_check)   -> safety, node safety_check completed
    on_chain_end    (metrics)        -> metadata, node metrics completed
    on_chain_end    (graph)          -> node workflow completed; final state kept for the run
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.runnables.schema import StreamEvent

from backend.runs.events import (
    ContentEvent,
    MetadataEvent,
    NodeEvent,
    NodeName,
    SafetyEvent,
    SafetyIssueOut,
    WireEvent,
)
from workflows.graph import GRAPH_NAME, NODE_NAMES
from workflows.providers.local import DEQUEUED_EVENT, QUEUED_EVENT
from workflows.state import StoryState
from workflows.story_format import StoryBodySplitter

# Progress (0-100) reported at each node boundary.
PROGRESS: Mapping[tuple[str, str], int] = {
    ("workflow", "started"): 0,
    ("generate", "queued"): 2,
    ("generate", "started"): 5,
    ("generate", "completed"): 70,
    ("safety_check", "started"): 75,
    ("safety_check", "completed"): 85,
    ("metrics", "started"): 90,
    ("metrics", "completed"): 95,
    ("workflow", "completed"): 100,
}

Phase = Literal["queued", "waiting_for_first_token", "generating", "checking", "finished"]


class EventMapper:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.attempt = 0
        self.tokens_seen = 0
        self.phase: Phase = "waiting_for_first_token"
        self.final_state: StoryState | None = None
        self._splitter = StoryBodySplitter()

    def map(self, event: StreamEvent) -> list[WireEvent]:
        kind = event["event"]
        name = event.get("name", "")
        if not event.get("parent_ids") and name == GRAPH_NAME:
            return self._graph_event(kind, event)
        node = _node_of(event)
        if node is None:
            return []
        if kind == "on_chat_model_stream" and node == "generate":
            return self._token(event)
        if kind == "on_custom_event":
            return self._custom(name, event["data"])
        if name != node:
            # Runnables inside a node (the chat model, a router) have their own start/end.
            return []
        if kind == "on_chain_start":
            return self._node_started(node)
        if kind == "on_chain_end":
            return self._node_completed(node, event["data"].get("output"))
        return []

    def _graph_event(self, kind: str, event: StreamEvent) -> list[WireEvent]:
        if kind == "on_chain_start":
            return [_node("workflow", "started", run_id=self.run_id)]
        if kind == "on_chain_end":
            output = event["data"].get("output")
            if isinstance(output, dict):
                self.final_state = StoryState(**output)  # type: ignore[typeddict-item]
            self.phase = "finished"
            return [_node("workflow", "completed")]
        return []

    def _node_started(self, node: NodeName) -> list[WireEvent]:
        if node == "generate":
            self.attempt += 1
            self._splitter = StoryBodySplitter()
            self.phase = "waiting_for_first_token" if self.tokens_seen == 0 else "generating"
        else:
            self.phase = "checking"
        return [_node(node, "started")]

    def _custom(self, name: str, data: Any) -> list[WireEvent]:
        if name == QUEUED_EVENT:
            self.phase = "queued"
            return [_node("generate", "queued", position=data["position"])]
        if name == DEQUEUED_EVENT:
            self.phase = "waiting_for_first_token"
        return []

    def _token(self, event: StreamEvent) -> list[WireEvent]:
        chunk = event["data"].get("chunk")
        text = getattr(chunk, "content", "")
        if not isinstance(text, str) or not text:
            return []
        self.tokens_seen += 1
        self.phase = "generating"
        return [
            ContentEvent(chunk=piece, attempt=self.attempt) for piece in self._splitter.feed(text)
        ]

    def _node_completed(self, node: NodeName, output: Any) -> list[WireEvent]:
        events: list[WireEvent] = []
        if node == "generate":
            events.extend(
                ContentEvent(chunk=piece, attempt=self.attempt) for piece in self._splitter.finish()
            )
            self.phase = "checking"
        elif node == "safety_check" and isinstance(output, dict) and "safety" in output:
            report = output["safety"]
            events.append(
                SafetyEvent(
                    approved=report["approved"],
                    score=report["score"],
                    issues=[SafetyIssueOut(**issue) for issue in report["issues"]],
                    status="approved" if report["approved"] else "rejected",
                )
            )
        elif node == "metrics" and isinstance(output, dict) and "metrics" in output:
            events.append(MetadataEvent(**output["metrics"]))
        events.append(_node(node, "completed"))
        return events


def _node_of(event: StreamEvent) -> NodeName | None:
    node = event.get("metadata", {}).get("langgraph_node")
    if node in NODE_NAMES:
        return node  # type: ignore[no-any-return]
    return None


def _node(
    node: NodeName, status: Literal["queued", "started", "completed"], **extra: Any
) -> NodeEvent:
    return NodeEvent(node=node, status=status, progress=PROGRESS[(node, status)], **extra)
