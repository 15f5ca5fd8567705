"""The one place LangGraph's `astream_events(version="v2")` stream becomes wire-contract events.

Pure: no I/O, no clock. One `EventMapper` per run; feed it every event in order. The model
calls' own events (`on_chat_model_*`) are not in the stream (`workflows.event_stream`): the
nodes report what a client sees.

    on_chain_start  (graph)            -> node workflow started (with run_id), unless the run
                                          announced its start itself (`workflow_started`)
    on_chain_start  (node)             -> node <name> started
    on_chain_start  (generate, again)  -> node generate retrying, then reset
    on_custom_event (queued)           -> node generate (or ending) queued, with the place
    on_custom_event (visible tokens)   -> content, one per token the sentence gate released
    on_custom_event (repair)           -> node generate repairing (a held-back sentence)
    on_custom_event (model progress)   -> nothing shown; model tokens counted for the timeouts
    on_chain_end    (safety_check)     -> safety, node safety_check completed
    on_chain_end    (metrics)          -> metadata, node metrics completed
    on_chain_end    (other node)       -> node <name> completed
    on_chain_end    (graph)            -> node workflow completed; final state kept for the run
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
    NodeStatus,
    ResetEvent,
    SafetyEvent,
    SafetyIssueOut,
    WireEvent,
)
from workflows.graph import GRAPH_NAME, NODE_NAMES
from workflows.nodes.generate import PROGRESS_EVENT, REPAIR_EVENT, VISIBLE_TOKEN_EVENT
from workflows.providers.local import DEQUEUED_EVENT, QUEUED_EVENT
from workflows.state import StoryState

# Progress (0-100) reported at each node boundary.
PROGRESS: Mapping[tuple[str, str], int] = {
    ("workflow", "started"): 0,
    ("generate", "queued"): 2,
    ("generate", "started"): 5,
    ("generate", "retrying"): 5,
    ("generate", "repairing"): 5,
    ("generate", "completed"): 70,
    ("ending", "queued"): 71,
    ("ending", "started"): 71,
    ("ending", "completed"): 74,
    ("safety_check", "started"): 75,
    ("safety_check", "completed"): 85,
    ("metrics", "started"): 90,
    ("metrics", "completed"): 95,
    ("workflow", "completed"): 100,
}

Phase = Literal["queued", "waiting_for_first_token", "generating", "checking", "finished"]
DEFAULT_REJECTION = "the draft did not pass the safety check"


class EventMapper:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.attempt = 0
        self.tokens_seen = 0
        self.phase: Phase = "waiting_for_first_token"
        self.final_state: StoryState | None = None
        self._last_rejection = DEFAULT_REJECTION
        self._start_announced = False

    def workflow_started(self) -> WireEvent:
        """The run's first event, for the run to publish as it starts the graph: the client sees
        its run begin without waiting for LangGraph to set up the stream. The graph's own start
        then maps to nothing."""
        self._start_announced = True
        return _node("workflow", "started", run_id=self.run_id)

    def map(self, event: StreamEvent) -> list[WireEvent]:
        kind = event["event"]
        name = event.get("name", "")
        if not event.get("parent_ids") and name == GRAPH_NAME:
            return self._graph_event(kind, event)
        if kind == "on_custom_event":
            return self._custom(name, event["data"], _node_of(event))
        node = _node_of(event)
        if node is None:
            return []
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
            return [] if self._start_announced else [self.workflow_started()]
        if kind == "on_chain_end":
            output = event["data"].get("output")
            if isinstance(output, dict):
                self.final_state = StoryState(**output)  # type: ignore[typeddict-item]
            self.phase = "finished"
            return [_node("workflow", "completed")]
        return []

    def _node_started(self, node: NodeName) -> list[WireEvent]:
        if node != "generate":
            self.phase = "checking"
            return [_node(node, "started")]
        self.attempt += 1
        self.phase = "waiting_for_first_token"
        if self.attempt == 1:
            return [_node(node, "started")]
        # The client clears what it showed of the rejected draft before the new one arrives.
        return [
            _node(node, "retrying"),
            ResetEvent(reason=self._last_rejection, attempt=self.attempt),
        ]

    def _custom(self, name: str, data: Any, node: NodeName | None) -> list[WireEvent]:
        if name == VISIBLE_TOKEN_EVENT:
            return [ContentEvent(chunk=piece, attempt=self.attempt) for piece in data["pieces"]]
        if name == PROGRESS_EVENT:
            # Raw model tokens are not shown (the gate decides); they prove the model is alive.
            self.tokens_seen += data["tokens"]
            self.phase = "generating"
            return []
        if name == REPAIR_EVENT:
            # The child sees a pause while the model writes the held-back sentence again.
            self.phase = "waiting_for_first_token"
            return [_node("generate", "repairing")]
        if name == QUEUED_EVENT:
            # The embedded model is lent per call: the ending call may wait for it too.
            waiting: NodeName = "ending" if node == "ending" else "generate"
            if waiting == "generate":
                self.phase = "queued"
            return [_node(waiting, "queued", position=data["position"])]
        if name == DEQUEUED_EVENT and node != "ending":
            self.phase = "waiting_for_first_token"
        return []

    def _node_completed(self, node: NodeName, output: Any) -> list[WireEvent]:
        events: list[WireEvent] = []
        if node == "generate":
            self.phase = "checking"
        elif node == "safety_check" and isinstance(output, dict) and "safety" in output:
            report = output["safety"]
            if not report["approved"]:
                categories = sorted({issue["category"] for issue in report["issues"]})
                self._last_rejection = f"{DEFAULT_REJECTION} ({', '.join(categories)})"
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


def _node(node: NodeName, status: NodeStatus, **extra: Any) -> NodeEvent:
    return NodeEvent(node=node, status=status, progress=PROGRESS[(node, status)], **extra)
