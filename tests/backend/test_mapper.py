"""Table-driven: recorded `astream_events` v2 sequences in, wire-contract events out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from backend.runs.events import WireEvent, event_json
from backend.runs.mapper import EventMapper
from tests.support import STORY_BODY, STORY_TEXT
from workflows.nodes.generate import PROGRESS_EVENT, VISIBLE_TOKEN_EVENT
from workflows.providers.scripted import tokenize

RECORDINGS = Path(__file__).parents[1] / "data" / "stream_events"


def _load(name: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads((RECORDINGS / f"{name}.json").read_text())
    for event in events:
        chunk = event.get("data", {}).get("chunk")
        if event.get("event") == "on_chat_model_stream" and chunk is not None:
            event["data"]["chunk"] = AIMessageChunk(content=chunk["content"])
    return events


def _map(name: str) -> tuple[EventMapper, list[WireEvent]]:
    mapper = EventMapper("run-1")
    out: list[WireEvent] = []
    for event in _load(name):
        if "raised" in event:
            break
        out.extend(mapper.map(event))  # type: ignore[arg-type]
    return mapper, out


def _outline(events: list[WireEvent]) -> list[str]:
    """Node boundaries spelled out, runs of content collapsed to one `content` entry."""
    outline: list[str] = []
    for event in events:
        if event.type == "node":
            outline.append(f"node:{event.node}:{event.status}:{event.progress}")
        elif event.type == "content":
            if not outline or outline[-1] != "content":
                outline.append("content")
        elif event.type == "safety":
            outline.append(f"safety:{event.status}")
        else:
            outline.append(event.type)
    return outline


APPROVED_OUTLINE = [
    "node:workflow:started:0",
    "node:generate:started:5",
    "content",
    "node:generate:completed:70",
    "node:ending:started:71",
    "node:ending:completed:74",
    "node:safety_check:started:75",
    "safety:approved",
    "node:safety_check:completed:85",
    "node:metrics:started:90",
    "metadata",
    "node:metrics:completed:95",
    "node:workflow:completed:100",
]
# The gate holds the unsafe first sentence back, so nothing is shown; the scripted model writes
# it again on each of the three repairs, the draft is rewritten once (two attempts, the budget
# spent), then the run reports the rejection.
REJECTED_OUTLINE = [
    "node:workflow:started:0",
    "node:generate:started:5",
    *["node:generate:repairing:5"] * 3,
    "node:generate:completed:70",
    "node:ending:started:71",
    "node:ending:completed:74",
    "node:safety_check:started:75",
    "safety:rejected",
    "node:safety_check:completed:85",
    "node:generate:retrying:5",
    "reset",
    "node:generate:completed:70",
    "node:ending:started:71",
    "node:ending:completed:74",
    "node:safety_check:started:75",
    "safety:rejected",
    "node:safety_check:completed:85",
    "node:workflow:completed:100",
]
# The model fails before its first sentence ends: nothing was released.
FAILED_OUTLINE = ["node:workflow:started:0", "node:generate:started:5"]

TABLE = [
    ("approved_story", APPROVED_OUTLINE, STORY_BODY, "finished"),
    ("rejected_story", REJECTED_OUTLINE, "", "finished"),
    ("story_without_choices", APPROVED_OUTLINE, "Mia slept.\n\nThe end.", "finished"),
    ("model_fails_at_token_4", FAILED_OUTLINE, "", "generating"),
]


@pytest.mark.parametrize(("recording", "outline", "text", "phase"), TABLE)
def test_recorded_sequence_maps_to_contract_events(
    recording: str, outline: list[str], text: str, phase: str
) -> None:
    mapper, events = _map(recording)
    assert _outline(events) == outline
    assert "".join(event.chunk for event in events if event.type == "content") == text
    assert mapper.phase == phase


def test_first_event_carries_the_run_id_and_only_the_first() -> None:
    _, events = _map("approved_story")
    with_run_id = [event for event in events if event.type == "node" and event.run_id]
    assert with_run_id == [events[0]]
    assert json.loads(event_json(events[0]))["run_id"] == "run-1"


def test_a_start_the_run_announced_is_not_mapped_again() -> None:
    """The run publishes its first event itself, before LangGraph sets up the stream; the
    graph's own start then adds nothing, and the rest maps as before."""
    mapper = EventMapper("run-1")
    first = mapper.workflow_started()
    events: list[WireEvent] = []
    for raw in _load("approved_story"):
        events.extend(mapper.map(raw))  # type: ignore[arg-type]
    assert _outline([first, *events]) == APPROVED_OUTLINE
    assert json.loads(event_json(first))["run_id"] == "run-1"
    assert not any(event.type == "node" and event.run_id for event in events)


def test_choices_never_reach_content_events() -> None:
    _, events = _map("approved_story")
    chunks = [event.chunk for event in events if event.type == "content"]
    assert not any("QUESTION" in chunk or "CHOICE" in chunk for chunk in chunks)
    assert all(event.attempt == 1 for event in events if event.type == "content")


def test_one_content_event_per_released_model_token() -> None:
    released = [
        piece
        for event in _load("approved_story")
        if event.get("event") == "on_custom_event" and event["name"] == VISIBLE_TOKEN_EVENT
        for piece in event["data"]["pieces"]
    ]
    _, events = _map("approved_story")
    contents = [event.chunk for event in events if event.type == "content"]
    assert contents == released
    assert contents == tokenize(STORY_TEXT)[: len(contents)]


def test_model_progress_counts_tokens_and_shows_nothing() -> None:
    mapper = EventMapper("run-1")
    progress = {
        "event": "on_custom_event",
        "name": PROGRESS_EVENT,
        "metadata": {"langgraph_node": "generate"},
        "parent_ids": ["parent"],
        "data": {"tokens": 3},
    }
    assert mapper.map(progress) == []  # type: ignore[arg-type]
    assert mapper.map(progress) == []  # type: ignore[arg-type]
    assert (mapper.tokens_seen, mapper.phase) == (6, "generating")


def test_safety_and_metadata_carry_the_node_outputs() -> None:
    mapper, events = _map("rejected_story")
    safety = next(event for event in events if event.type == "safety")
    assert safety.approved is False
    # The rules and the classifier each name the sentence, in the body and in the ending's
    # summary of it.
    assert [(issue.category, issue.term) for issue in safety.issues] == [
        ("weapons", "gun"),
        ("weapons", "semantic classifier"),
    ] * 2
    assert mapper.final_state is not None
    assert mapper.final_state["safety"]["approved"] is False

    _, approved = _map("approved_story")
    metadata = next(event for event in approved if event.type == "metadata")
    assert metadata.word_count == 45
    assert metadata.vocabulary_level == "beginner"


def test_events_outside_the_graph_nodes_are_ignored() -> None:
    mapper = EventMapper("run-1")
    stray = {
        "event": "on_chain_start",
        "name": "other",
        "parent_ids": ["x"],
        "metadata": {},
        "data": {},
    }
    assert mapper.map(stray) == []  # type: ignore[arg-type]


def test_queue_position_becomes_a_queued_node_event_and_pauses_the_first_token_clock() -> None:
    mapper = EventMapper("run-1")
    queued = {
        "event": "on_custom_event",
        "name": "storystream.queued",
        "parent_ids": ["a", "b"],
        "metadata": {"langgraph_node": "generate"},
        "data": {"position": 2},
    }
    events = mapper.map(queued)  # type: ignore[arg-type]
    assert [json.loads(event_json(event)) for event in events] == [
        {"type": "node", "node": "generate", "status": "queued", "progress": 2, "position": 2}
    ]
    assert str(mapper.phase) == "queued"
    dequeued = {**queued, "name": "storystream.dequeued", "data": {"position": 0}}
    assert mapper.map(dequeued) == []  # type: ignore[arg-type]
    assert mapper.phase == "waiting_for_first_token"


def test_the_ending_call_waiting_for_the_embedded_model_is_an_ending_queued_event() -> None:
    mapper = EventMapper("run-1")
    mapper.phase = "checking"
    queued = {
        "event": "on_custom_event",
        "name": "storystream.queued",
        "parent_ids": ["a", "b"],
        "metadata": {"langgraph_node": "ending"},
        "data": {"position": 1},
    }
    events = mapper.map(queued)  # type: ignore[arg-type]
    assert [json.loads(event_json(event)) for event in events] == [
        {"type": "node", "node": "ending", "status": "queued", "progress": 71, "position": 1}
    ]
    # No story token is awaited: the first-token clock stays off.
    assert mapper.phase == "checking"
    assert mapper.map({**queued, "name": "storystream.dequeued"}) == []  # type: ignore[arg-type]
    assert mapper.phase == "checking"


def test_a_repair_becomes_a_repairing_node_event_and_restarts_the_first_token_clock() -> None:
    mapper = EventMapper("run-1")
    mapper.phase = "generating"
    repair = {
        "event": "on_custom_event",
        "name": "storystream.repair",
        "parent_ids": ["a", "b"],
        "metadata": {"langgraph_node": "generate"},
        "data": {"repair": 1, "categories": ["weapons"]},
    }
    events = mapper.map(repair)  # type: ignore[arg-type]
    assert [json.loads(event_json(event)) for event in events] == [
        {"type": "node", "node": "generate", "status": "repairing", "progress": 5}
    ]
    assert str(mapper.phase) == "waiting_for_first_token"
