"""The benchmark's peer: a server built the way the seed designs describe, to compare against.

A 3-node LangGraph graph (generate, safety_check, metrics) over the same scripted chat model,
streamed with `astream_events(version="v2")`; every `on_chat_model_stream` token becomes one JSON
SSE frame (`content`), node boundaries become `node` frames, and the run ends with `complete`.
No sentence gate, no event log, no database, no authentication: what StoryStream adds is exactly
what this leaves out. Serve it with `uvicorn --factory bench.peer_app:create_app`, with
`BENCH_PEER_TEXT_FILE` naming a file holding the text the model streams, or
`BENCH_PEER_TEXTS_FILE` a JSON Lines file of `{"text": ...}` chapters streamed in turn (as
StoryStream's scripted model streams them in the benchmark), and optionally
`BENCH_PEER_TOKENS_PER_SECOND` the model's speed (0, the default: as fast as it can).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypedDict

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.floor_app import PING_SECONDS, SSE_HEADERS
from workflows.metrics import measure_story
from workflows.providers.scripted import ScriptedChatModel, read_scripts
from workflows.safety.rules import RuleCheck, load_rule_check

TEXT_FILE_ENV = "BENCH_PEER_TEXT_FILE"
TEXTS_FILE_ENV = "BENCH_PEER_TEXTS_FILE"
TOKENS_PER_SECOND_ENV = "BENCH_PEER_TOKENS_PER_SECOND"
STREAM_PATH = "/stream"
NODES = ("generate", "safety_check", "metrics")


class PeerState(TypedDict, total=False):
    theme: str
    age: int
    story: str
    safety: dict[str, Any]
    metrics: dict[str, Any]


def build_graph(model: ScriptedChatModel, rules: RuleCheck) -> CompiledStateGraph[Any]:
    """generate -> safety_check -> metrics, each node as a seed writes it."""

    async def generate(state: PeerState) -> dict[str, Any]:
        # Under astream_events the chat model streams: each token is an on_chat_model_stream.
        answer = await model.ainvoke(
            [
                SystemMessage("You write short, gentle stories for children."),
                HumanMessage(f"Write a {state['theme']} story for a {state['age']}-year-old."),
            ]
        )
        return {"story": answer.text}

    async def safety_check(state: PeerState) -> dict[str, Any]:
        report = rules.assess(state["story"])
        return {"safety": {"approved": report["approved"], "score": report["score"]}}

    async def metrics(state: PeerState) -> dict[str, Any]:
        measured = measure_story(state["story"], state["age"])
        return {"metrics": dict(measured)}

    builder = StateGraph(PeerState)
    builder.add_node("generate", generate)
    builder.add_node("safety_check", safety_check)
    builder.add_node("metrics", metrics)
    builder.add_edge(START, "generate")
    builder.add_edge("generate", "safety_check")
    builder.add_edge("safety_check", "metrics")
    builder.add_edge("metrics", END)
    return builder.compile(name="peer")


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


async def story_frames(
    graph: CompiledStateGraph[Any], theme: str
) -> AsyncIterator[ServerSentEvent]:
    """astream_events v2 -> one JSON SSE frame per token and per node boundary -> complete."""
    seq = 0
    final: dict[str, Any] = {}
    events = graph.astream_events({"theme": theme, "age": 7}, version="v2")
    async for event in events:
        kind, name = event["event"], event.get("name", "")
        node = event.get("metadata", {}).get("langgraph_node")
        if kind == "on_chat_model_stream":
            payload: dict[str, Any] = {"type": "content", "chunk": event["data"]["chunk"].content}
        elif kind in ("on_chain_start", "on_chain_end") and name in NODES and name == node:
            status = "started" if kind == "on_chain_start" else "completed"
            payload = {"type": "node", "node": name, "status": status}
        elif kind == "on_chain_end" and not event.get("parent_ids"):
            final = event["data"].get("output") or {}
            continue
        else:
            continue
        seq += 1
        yield ServerSentEvent(data=_json(payload), event=payload["type"], id=str(seq))
    story = {key: final.get(key) for key in ("story", "safety", "metrics")}
    yield ServerSentEvent(
        data=_json({"type": "complete", "story": story}), event="complete", id=str(seq + 1)
    )


def build_app(model: ScriptedChatModel) -> Starlette:
    """`GET /stream?theme=` streams one story; `GET /healthz` answers 200."""
    graph = build_graph(model, load_rule_check())

    async def stream(request: Request) -> Response:
        theme = request.query_params.get("theme", "space")
        return EventSourceResponse(
            story_frames(graph, theme), ping=PING_SECONDS, headers=SSE_HEADERS
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route(STREAM_PATH, stream), Route("/healthz", healthz)])


def create_app() -> Starlette:
    """The uvicorn factory: the model streams the chapters of `BENCH_PEER_TEXTS_FILE` in turn, or
    the text in the file `BENCH_PEER_TEXT_FILE` names."""
    speed = os.environ.get(TOKENS_PER_SECOND_ENV, "0")
    try:
        tokens_per_second = float(speed)
    except ValueError:
        raise SystemExit(
            f"{TOKENS_PER_SECOND_ENV} must be a number of tokens a second, not {speed!r}"
        ) from None
    chapters = os.environ.get(TEXTS_FILE_ENV)
    if chapters:
        return build_app(
            ScriptedChatModel(
                texts=read_scripts(Path(chapters)), tokens_per_second=tokens_per_second
            )
        )
    location = os.environ.get(TEXT_FILE_ENV)
    if not location:
        raise SystemExit(
            f"the peer app needs {TEXTS_FILE_ENV} or {TEXT_FILE_ENV}: a file with what to stream"
        )
    text = Path(location).read_text("utf-8")
    return build_app(ScriptedChatModel(text=text, tokens_per_second=tokens_per_second))
