"""The story workflow, generate -> ending -> safety_check -> metrics: the only place nodes are
wired."""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from workflows.context import StoryContext
from workflows.nodes.ending import ending
from workflows.nodes.generate import generate
from workflows.nodes.metrics import metrics
from workflows.nodes.safety_check import safety_check
from workflows.state import StoryRequest, StoryState

GRAPH_NAME = "storystream"
NODE_NAMES = ("generate", "ending", "safety_check", "metrics")

StoryGraph = CompiledStateGraph[StoryState, StoryContext, StoryState, StoryState]


DEFAULT_MAX_ATTEMPTS = 2


def route_after_safety(state: StoryState) -> Literal["metrics", "generate", "__end__"]:
    """An approved chapter is measured; a rejected one is written again while attempts remain,
    then the run reports the rejection."""
    if state["safety"]["approved"]:
        return "metrics"
    if state["attempt"] < state.get("max_attempts", DEFAULT_MAX_ATTEMPTS):
        return "generate"
    return "__end__"


def build_graph() -> StoryGraph:
    builder = StateGraph(StoryState, context_schema=StoryContext)
    builder.add_node("generate", generate)
    # The question, choices and summary: a structured-output call after the streamed body.
    builder.add_node("ending", ending)
    builder.add_node("safety_check", safety_check)
    builder.add_node("metrics", metrics)
    builder.add_edge(START, "generate")
    builder.add_edge("generate", "ending")
    builder.add_edge("ending", "safety_check")
    builder.add_conditional_edges("safety_check", route_after_safety)
    builder.add_edge("metrics", END)
    return builder.compile(name=GRAPH_NAME)


def initial_state(request: StoryRequest, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> StoryState:
    return StoryState(request=request, attempt=0, max_attempts=max_attempts)


graph = build_graph()
