"""Executes one run: streams the workflow into the run's event log, then persists the chapter.

The run does not depend on any HTTP connection. It ends with exactly one `complete` or `error`
event; the database row says the same thing as that event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Literal

from langchain_core.runnables.schema import StreamEvent
from sqlalchemy import update

from backend.db.engine import SessionFactory
from backend.db.models import Run, Story, utcnow
from backend.runs.events import (
    CompletedStory,
    CompleteEvent,
    ErrorEvent,
    NodeEvent,
    Timings,
    Usage,
    WireEvent,
)
from backend.runs.failures import (
    PersistFailed,
    RunFailure,
    RunTimeout,
    SafetyRejected,
    classify_backend_error,
)
from backend.runs.log import RunEventLog
from backend.runs.mapper import EventMapper
from backend.runs.persistence import (
    TRANSIENT_ERRORS,
    ChapterNotStored,
    RetryPolicy,
    store_chapter,
)
from workflows.context import StoryContext
from workflows.fair_queue import FairQueue
from workflows.graph import DEFAULT_MAX_ATTEMPTS, StoryGraph, initial_state
from workflows.state import StoryRequest, StoryState
from workflows.summary import summarize_chapter

logger = logging.getLogger(__name__)

StopReason = Literal["cancelled", "interrupted"]
UNLIMITED_RUNS = 1_000_000


@dataclass(frozen=True)
class RunTimeouts:
    first_token_seconds: float
    idle_seconds: float
    total_seconds: float


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    child_id: int
    # None: chapter 1 of a new series, created when the chapter is stored.
    series_id: int | None
    request: StoryRequest


@dataclass
class RunControl:
    """Shared between a running task and whoever may stop it."""

    stop_reason: StopReason | None = None


@dataclass(frozen=True)
class RunEnvironment:
    event_log: RunEventLog
    sessions: SessionFactory
    graph: StoryGraph
    context: StoryContext
    timeouts: RunTimeouts
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    persist_retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Recording how a run ended may outlast a longer outage: about a minute by default.
    record_retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(attempts=9, first_delay_seconds=0.25)
    )
    # Run slots of the story model host: how many stories are written at once.
    slots: FairQueue[object] = field(default_factory=lambda: run_slots(UNLIMITED_RUNS))
    clock: Callable[[], float] = field(default=time.monotonic)


@dataclass
class _Progress:
    started: float
    # When the wait for the first token began: the run's start, or the end of its queueing.
    waiting_since: float
    first_token_at: float | None = None
    last_token_at: float | None = None
    streamed: list[str] = field(default_factory=list)


async def _new_slot() -> object:
    return object()


def run_slots(capacity: int) -> FairQueue[object]:
    """`capacity` stories written at once; later runs wait in order, told their place."""
    return FairQueue(capacity, _new_slot)


async def execute_run(spec: RunSpec, env: RunEnvironment, control: RunControl) -> None:
    now = env.clock()
    progress = _Progress(started=now, waiting_since=now)

    async def report_queued(position: int) -> None:
        if position:
            await env.event_log.append(
                spec.run_id,
                NodeEvent(
                    node="workflow",
                    status="queued",
                    progress=0,
                    position=position,
                    run_id=spec.run_id,
                ),
            )

    try:
        # A bounded number of stories are written at once; the others wait their turn here.
        async with env.slots.lend(report_queued):
            now = env.clock()
            progress.started = progress.waiting_since = now
            await _set_run(env, spec.run_id, status="running", started_at=utcnow())
            final_state = await _stream_workflow(spec, env, progress)
        await _finish(spec, env, progress, final_state)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        await end_stopped_run(env, spec.run_id, control.stop_reason or "interrupted")
    except Exception as exc:
        classified = classify_backend_error(exc)
        if not isinstance(exc, RunFailure):
            # The backend's own words stay here: clients get the fixed message of the code.
            logger.warning("run %s failed (%s): %r", spec.run_id, classified.code, exc)
        await _end_failed(env, spec.run_id, classified.to_event(), progress)


async def _stream_workflow(spec: RunSpec, env: RunEnvironment, progress: _Progress) -> StoryState:
    mapper = EventMapper(spec.run_id)
    events: AsyncIterator[StreamEvent] = env.graph.astream_events(
        initial_state(spec.request, env.max_attempts), context=env.context, version="v2"
    )
    async with aclosing(events) as stream:  # type: ignore[type-var]
        while True:
            deadline, reason = _next_deadline(env, mapper, progress)
            try:
                async with asyncio.timeout(deadline - env.clock()):
                    event = await anext(stream)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise RunTimeout(reason) from None
            tokens_before, phase_before = mapper.tokens_seen, mapper.phase
            for wire_event in mapper.map(event):
                await _publish(env, spec.run_id, wire_event, progress)
            if mapper.tokens_seen != tokens_before:
                progress.last_token_at = env.clock()
            if mapper.phase == "waiting_for_first_token" and phase_before != mapper.phase:
                # Out of the queue, or a fresh draft: the first-token clock starts again.
                progress.waiting_since = env.clock()
    if mapper.final_state is None:
        raise RunFailure("the story workflow ended without a result")
    return mapper.final_state


def _next_deadline(
    env: RunEnvironment, mapper: EventMapper, progress: _Progress
) -> tuple[float, str]:
    limits = env.timeouts
    candidates = [
        (
            progress.started + limits.total_seconds,
            f"the story was not finished within {limits.total_seconds:g} s",
        )
    ]
    if mapper.phase == "waiting_for_first_token":
        candidates.append(
            (
                progress.waiting_since + limits.first_token_seconds,
                f"the story model sent no first word within {limits.first_token_seconds:g} s",
            )
        )
    elif mapper.phase == "generating" and progress.last_token_at is not None:
        candidates.append(
            (
                progress.last_token_at + limits.idle_seconds,
                f"the story model went silent for {limits.idle_seconds:g} s mid-story",
            )
        )
    return min(candidates)


async def _publish(env: RunEnvironment, run_id: str, event: WireEvent, progress: _Progress) -> None:
    if event.type == "content":
        if progress.first_token_at is None:
            progress.first_token_at = env.clock()
        progress.streamed.append(event.chunk)
    elif event.type == "reset":
        progress.streamed.clear()
    await env.event_log.append(run_id, event)


def _elapsed_ms(start: float, end: float | None) -> int | None:
    return None if end is None else round((end - start) * 1000)


async def _finish(
    spec: RunSpec, env: RunEnvironment, progress: _Progress, state: StoryState
) -> None:
    safety = state["safety"]
    metrics = state.get("metrics")
    usage = state.get("usage")
    timings = Timings(
        time_to_first_token_ms=_elapsed_ms(progress.started, progress.first_token_at),
        total_ms=_elapsed_ms(progress.started, env.clock()) or 0,
    )
    rejected = not safety["approved"]
    # What the child saw is what is kept, token for token; a rejected draft is kept whole, for
    # the parent.
    content = state["story_text"] if rejected else "".join(progress.streamed)

    def make_story() -> Story:
        return Story(
            run_id=spec.run_id,
            child_id=spec.child_id,
            theme=spec.request["theme"]["id"],
            chapter_number=spec.request["chapter_number"],
            title=spec.request["title"],
            content=content,
            summary=state.get("summary") or summarize_chapter(content),
            summary_source=state.get("summary_source", "extract"),
            choice_question=state["choice_question"],
            choices=list(state["choices"]),
            choices_source=state["choices_source"],
            content_approved=safety["approved"],
            safety_score=safety["score"],
            safety_issues=[dict(issue) for issue in safety["issues"]],
            repairs=[dict(repair) for repair in state.get("repairs", [])],
            word_count=metrics["word_count"] if metrics else None,
            readability_grade=metrics["readability_grade"] if metrics else None,
            vocabulary_level=metrics["vocabulary_level"] if metrics else None,
            estimated_reading_time=metrics["estimated_reading_time"] if metrics else None,
            educational_elements=list(metrics["educational_elements"]) if metrics else None,
        )

    run_values = {
        "status": "failed" if rejected else "completed",
        "error_code": "SAFETY_REJECTED" if rejected else None,
        "error_message": "the chapter did not pass the safety check" if rejected else None,
        "finished_at": utcnow(),
        "time_to_first_token_ms": timings.time_to_first_token_ms,
        "total_ms": timings.total_ms,
        "input_tokens": usage["input_tokens"] if usage else None,
        "output_tokens": usage["output_tokens"] if usage else None,
    }
    try:
        story = await store_chapter(
            env.sessions,
            make_story,
            series_id=spec.series_id,
            run_values=run_values,
            retry=env.persist_retry,
        )
    except ChapterNotStored as exc:
        logger.error("run %s: the finished chapter could not be stored: %s", spec.run_id, exc)
        raise PersistFailed(
            "the finished chapter could not be stored; its text stays in this run's events "
            "for a while, and writing it again may succeed"
        ) from exc
    if rejected:
        raise SafetyRejected("the chapter did not pass the safety check and was not shown")
    await env.event_log.append(
        spec.run_id,
        CompleteEvent(story=completed_story(story, timings, Usage(**usage) if usage else None)),
    )


def completed_story(story: Story, timings: Timings, usage: Usage | None) -> CompletedStory:
    return CompletedStory(
        id=story.id,
        run_id=story.run_id,
        child_id=story.child_id,
        series_id=story.series_id,
        theme=story.theme,
        title=story.title,
        content=story.content,
        choices=list(story.choices),
        choice_question=story.choice_question,
        choices_source="model" if story.choices_source == "model" else "theme",
        chapter_number=story.chapter_number,
        safety_score=story.safety_score,
        content_approved=story.content_approved,
        vocabulary_level=story.vocabulary_level,
        readability_grade=story.readability_grade,
        word_count=story.word_count,
        estimated_reading_time=story.estimated_reading_time,
        educational_elements=list(story.educational_elements or []),
        usage=usage,
        timings=timings,
    )


async def _set_run(env: RunEnvironment, run_id: str, **values: object) -> None:
    async with env.sessions() as session, session.begin():
        await session.execute(update(Run).where(Run.id == run_id).values(**values))


async def _end_failed(
    env: RunEnvironment, run_id: str, event: ErrorEvent, progress: _Progress | None = None
) -> None:
    status = {"CANCELLED": "cancelled", "INTERRUPTED": "interrupted"}.get(
        event.error_code, "failed"
    )
    values: dict[str, object] = {
        "status": status,
        "error_code": event.error_code,
        "error_message": event.message,
        "finished_at": utcnow(),
    }
    if progress is not None:
        values["time_to_first_token_ms"] = _elapsed_ms(progress.started, progress.first_token_at)
        values["total_ms"] = _elapsed_ms(progress.started, env.clock())
    # Record first, so a client that sees the error event and asks finds the same status...
    recorded = await _record_failure(env, run_id, values, RetryPolicy(attempts=1))
    try:
        if not await env.event_log.is_closed(run_id):
            await env.event_log.append(run_id, event)
    except Exception:
        logger.exception("run %s: publishing the %s event failed", run_id, event.error_code)
    if not recorded:
        # ...but with the database away, tell the clients at once and keep trying to record
        # it, so the run is not left "running".
        await _record_failure(env, run_id, values, env.record_retry)


async def _record_failure(
    env: RunEnvironment, run_id: str, values: dict[str, object], retry: RetryPolicy
) -> bool:
    delays = retry.delays()
    for attempt in range(retry.attempts):
        try:
            await _set_run(env, run_id, **values)
            return True
        except TRANSIENT_ERRORS as exc:
            logger.warning("run %s: recording how it ended failed (%s)", run_id, exc)
            if attempt < len(delays):
                await asyncio.sleep(delays[attempt])
        except Exception:
            logger.exception("run %s: recording how it ended failed", run_id)
            return False
    return False


INTERRUPTED_MESSAGE = "the service stopped before the story was finished"


def interrupted_event() -> ErrorEvent:
    """How a run ends when its process stops (shutdown, or a replica that died): retryable."""
    return ErrorEvent(message=INTERRUPTED_MESSAGE, error_code="INTERRUPTED", retryable=True)


async def end_stopped_run(env: RunEnvironment, run_id: str, reason: StopReason) -> None:
    """End a run that was cancelled by a client or interrupted by shutdown."""
    if reason == "cancelled":
        event = ErrorEvent(message="the run was cancelled", error_code="CANCELLED", retryable=False)
    else:
        event = interrupted_event()
    await _end_failed(env, run_id, event)
