"""One run, from its place in the queue to its one conclusion.

A `RunExecution` owns what a run needs while its chapter is written: its slot of the story model
host, its timeouts, its event mapper, its publishing, and the one way it ends. The run does not
depend on any HTTP connection. Every path (a stored chapter, a rejected one, each error code, a
cancel, a shutdown, a failed store) ends in `_conclude`, which writes the run's row once and
publishes one terminal event (`complete` or `error`) once; the row says what the event says.

    RunManager._start: take_slot_now() ─> row inserted ("running", or "queued" without a slot)
    start() ─> task: [wait for a slot: "queued" events, then the row becomes "running"]
                     ─> graph.astream_events ─> EventMapper ─> RunEventLog.append
                     ─> _conclude: one transaction (chapter, series and run row), one terminal event

A run that starts at once costs the database one insert and one transaction at its end.
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
from tenacity import AsyncRetrying

from backend.db.engine import SessionFactory
from backend.db.models import RUNS, Story, utcnow
from backend.db.write_turns import NO_TURNS, WriteTurns
from backend.read_models import read_model
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
    cancelled_event,
    classify_backend_error,
    interrupted_event,
)
from backend.runs.log import RunEventLog
from backend.runs.mapper import EventMapper
from backend.runs.persistence import (
    TRANSIENT_ERRORS,
    ChapterNotStored,
    store_chapter,
    transient_retry,
)
from workflows.context import StoryContext
from workflows.fair_queue import FairQueue
from workflows.graph import DEFAULT_MAX_ATTEMPTS, StoryGraph, initial_state
from workflows.state import StoryRequest, StoryState
from workflows.summary import summarize_chapter

logger = logging.getLogger(__name__)

StopReason = Literal["cancelled", "interrupted"]
_Limit = Literal["first_token", "idle", "total"]
UNLIMITED_RUNS = 1_000_000
SAFETY_REJECTED_MESSAGE = "the chapter did not pass the safety check and was not shown"
STATUS_OF_CODE = {"CANCELLED": "cancelled", "INTERRUPTED": "interrupted"}


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


async def _new_slot() -> object:
    return object()


def run_slots(capacity: int) -> FairQueue[object]:
    """`capacity` stories written at once; later runs wait in order, told their place."""
    return FairQueue(capacity, _new_slot)


@dataclass(frozen=True)
class RunEnvironment:
    event_log: RunEventLog
    sessions: SessionFactory
    graph: StoryGraph
    context: StoryContext
    timeouts: RunTimeouts
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    persist_retry: AsyncRetrying = field(default_factory=lambda: transient_retry(4, 0.2))
    # Recording how a run ended may outlast a longer outage: about a minute by default.
    record_retry: AsyncRetrying = field(default_factory=lambda: transient_retry(9, 0.25))
    # Run slots of the story model host: how many stories are written at once.
    slots: FairQueue[object] = field(default_factory=lambda: run_slots(UNLIMITED_RUNS))
    clock: Callable[[], float] = field(default=time.monotonic)
    # SQLite's writers take turns (`backend.db.write_turns`); none by default.
    write_turns: WriteTurns = NO_TURNS


@dataclass(frozen=True)
class _Written:
    """The workflow finished: the chapter is stored, approved or (for parents) rejected."""

    state: StoryState


@dataclass(frozen=True)
class _Failed:
    """The run ends without a stored chapter: an error code, a cancel, a shutdown."""

    event: ErrorEvent


_Ending = _Written | _Failed


def completed_story(story: Story, timings: Timings, usage: Usage | None) -> CompletedStory:
    """A stored chapter with its run's usage and timings."""
    return read_model(
        CompletedStory,
        story,
        usage=usage,
        timings=timings,
        educational_elements=list(story.educational_elements or []),
    )


def _elapsed_ms(start: float, end: float | None) -> int | None:
    return None if end is None else round((end - start) * 1000)


class RunExecution:
    """One run's chapter being written, and its one conclusion."""

    def __init__(self, spec: RunSpec, env: RunEnvironment) -> None:
        self.spec = spec
        self.env = env
        self.mapper = EventMapper(spec.run_id)
        self._slot: object | None = None
        self._task: asyncio.Task[None] | None = None
        self._entered = False
        self._stop_reason: StopReason | None = None
        self._concluding = False
        self._concluded = False
        now = env.clock()
        self._started = now
        # When the wait for the first token began: the start, or the end of a queueing.
        self._waiting_since = now
        self._first_token_at: float | None = None
        self._last_token_at: float | None = None
        self._streamed: list[str] = []

    @property
    def run_id(self) -> str:
        return self.spec.run_id

    async def take_slot_now(self) -> bool:
        """Take a slot of the story model host if one is free: the run starts without queueing
        (and its row can be inserted as running)."""
        self._slot = await self.env.slots.try_take()
        return self._slot is not None

    def release_slot(self) -> None:
        if self._slot is not None:
            slot, self._slot = self._slot, None
            self.env.slots.release(slot)

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self._run(), name=f"run-{self.run_id}")
        return self._task

    def stop(self, reason: StopReason) -> bool:
        """Ask the run to stop; False once it is concluding (it ends the way it was going to)."""
        if self._concluding or self._task is None or self._task.done():
            return False
        if self._stop_reason is None:
            self._stop_reason = reason
            # A task cancelled before its first step would never run its coroutine, and so
            # never conclude: a run not entered yet sees the reason when it starts instead.
            if self._entered:
                self._task.cancel()
        return True

    async def _run(self) -> None:
        self._entered = True
        try:
            ending = await self._write_chapter()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            ending = self._stopped()
        except Exception as exc:
            classified = classify_backend_error(exc)
            if not isinstance(exc, RunFailure):
                # The backend's own words stay here: clients get the fixed message of the code.
                logger.warning("run %s failed (%s): %r", self.run_id, classified.code, exc)
            ending = _Failed(classified.to_event())
        finally:
            self.release_slot()
        # From here on a stop request is refused: the run ends the way it was going to.
        self._concluding = True
        await self._conclude(ending)

    def _stopped(self) -> _Failed:
        reason = self._stop_reason or "interrupted"
        return _Failed(cancelled_event() if reason == "cancelled" else interrupted_event())

    async def _write_chapter(self) -> _Ending:
        if self._stop_reason is not None:
            return self._stopped()
        if self._slot is None:
            # A bounded number of stories are written at once; the others wait their turn here.
            self._slot = await self.env.slots.take(self._report_queued)
            await self._set_row(status="running", started_at=utcnow())
        self._started = self._waiting_since = self.env.clock()
        return _Written(await self._stream_workflow())

    async def _report_queued(self, position: int) -> None:
        if position:
            await self.env.event_log.append(
                self.run_id,
                NodeEvent(
                    node="workflow",
                    status="queued",
                    progress=0,
                    position=position,
                    run_id=self.run_id,
                ),
            )

    async def _stream_workflow(self) -> StoryState:
        await self._publish(self.mapper.workflow_started())
        # Let the stream's reader write that first event before LangGraph sets up its stream
        # (about a millisecond of the event loop before the graph's first event).
        await asyncio.sleep(0)
        events: AsyncIterator[StreamEvent] = self.env.graph.astream_events(
            initial_state(self.spec.request, self.env.max_attempts),
            context=self.env.context,
            version="v2",
        )
        mapper = self.mapper
        async with aclosing(events) as stream:  # type: ignore[type-var]
            try:
                # One timeout for the whole stream, fired by the run's watchdog (a new timeout
                # context per event cost more than the event's own mapping).
                async with asyncio.timeout(None) as expiry:
                    watchdog = _Watchdog(self, expiry)
                    try:
                        await self._map_stream(stream, watchdog)
                    finally:
                        watchdog.disarm()
            except TimeoutError:
                # The watchdog names the limit it fired on; a timeout from inside the workflow
                # is told by the deadline as things stand.
                reason = watchdog.reason or self.timeout_reason(self.next_deadline()[1])
                raise RunTimeout(reason) from None
        if mapper.final_state is None:
            raise RunFailure("the story workflow ended without a result")
        return mapper.final_state

    async def _map_stream(self, stream: AsyncIterator[StreamEvent], watchdog: _Watchdog) -> None:
        mapper, clock = self.mapper, self.env.clock
        watchdog.arm()
        while True:
            if watchdog.overdue:
                # The deadline passed while an event was being published: it counts only if it
                # still stands now that the event's tokens are counted.
                watchdog.arm()
            watchdog.awaiting_model = True
            try:
                event = await anext(stream)
            except StopAsyncIteration:
                return
            finally:
                watchdog.awaiting_model = False
            tokens_before, phase_before = mapper.tokens_seen, mapper.phase
            for wire_event in mapper.map(event):
                await self._publish(wire_event)
            if mapper.tokens_seen != tokens_before:
                self._last_token_at = clock()
            if mapper.phase != phase_before:
                if mapper.phase == "waiting_for_first_token":
                    # Out of the queue, or a fresh draft: the first-token clock starts again.
                    self._waiting_since = clock()
                # Another phase may have an earlier deadline (idle after the first token).
                watchdog.arm()

    def next_deadline(self) -> tuple[float, _Limit]:
        """When the run times out as things stand, and which limit that is."""
        limits = self.env.timeouts
        deadline: tuple[float, _Limit] = (self._started + limits.total_seconds, "total")
        if self.mapper.phase == "waiting_for_first_token":
            first = self._waiting_since + limits.first_token_seconds
            if first < deadline[0]:
                deadline = (first, "first_token")
        elif self.mapper.phase == "generating" and self._last_token_at is not None:
            idle = self._last_token_at + limits.idle_seconds
            if idle < deadline[0]:
                deadline = (idle, "idle")
        return deadline

    def timeout_reason(self, limit: _Limit) -> str:
        limits = self.env.timeouts
        if limit == "first_token":
            return f"the story model sent no first word within {limits.first_token_seconds:g} s"
        if limit == "idle":
            return f"the story model went silent for {limits.idle_seconds:g} s mid-story"
        return f"the story was not finished within {limits.total_seconds:g} s"

    async def _publish(self, event: WireEvent) -> None:
        if event.type == "content":
            if self._first_token_at is None:
                self._first_token_at = self.env.clock()
            self._streamed.append(event.chunk)
        elif event.type == "reset":
            self._streamed.clear()
        await self.env.event_log.append(self.run_id, event)

    def _timings(self) -> Timings:
        return Timings(
            time_to_first_token_ms=_elapsed_ms(self._started, self._first_token_at),
            total_ms=_elapsed_ms(self._started, self.env.clock()) or 0,
        )

    # -- the one conclusion ------------------------------------------------------------------

    async def _conclude(self, ending: _Ending) -> None:
        if self._concluded:
            raise RuntimeError(f"run {self.run_id} was already concluded")
        self._concluded = True
        if isinstance(ending, _Written):
            await self._store(ending.state)
        else:
            await self._end_failed(ending.event)

    async def _store(self, state: StoryState) -> None:
        """One transaction stores the chapter (and its series) and ends the run's row; then the
        terminal event: `complete`, or SAFETY_REJECTED for a draft kept for the parent."""
        spec, safety = self.spec, state["safety"]
        metrics, usage = state.get("metrics"), state.get("usage")
        timings = self._timings()
        rejected = not safety["approved"]
        # What the child saw is what is kept, token for token; a rejected draft is kept whole,
        # for the parent.
        content = state["story_text"] if rejected else "".join(self._streamed)

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
            "error_message": SAFETY_REJECTED_MESSAGE if rejected else None,
            "finished_at": utcnow(),
            "time_to_first_token_ms": timings.time_to_first_token_ms,
            "total_ms": timings.total_ms,
            "input_tokens": usage["input_tokens"] if usage else None,
            "output_tokens": usage["output_tokens"] if usage else None,
        }
        try:
            story = await store_chapter(
                self.env.sessions,
                make_story,
                series_id=spec.series_id,
                run_values=run_values,
                retry=self.env.persist_retry,
                turns=self.env.write_turns,
            )
        except ChapterNotStored as exc:
            logger.error("run %s: the finished chapter could not be stored: %s", spec.run_id, exc)
            failure = PersistFailed(
                "the finished chapter could not be stored; its text stays in this run's events "
                "for a while, and writing it again may succeed"
            )
            await self._end_failed(classify_backend_error(failure).to_event())
            return
        except Exception as exc:
            # Not an outage (a constraint, say: the child was deleted meanwhile): nothing stored.
            logger.warning("run %s: storing the chapter failed: %r", spec.run_id, exc)
            await self._end_failed(classify_backend_error(exc).to_event())
            return
        if rejected:
            terminal: WireEvent = ErrorEvent(
                message=SAFETY_REJECTED_MESSAGE, error_code="SAFETY_REJECTED", retryable=True
            )
        else:
            terminal = CompleteEvent(
                story=completed_story(story, timings, Usage(**usage) if usage else None)
            )
        await self._publish_terminal(terminal)

    async def _end_failed(self, event: ErrorEvent) -> None:
        """Write the failed run's row, then publish its `error` event; with the database away,
        publish at once and keep trying to write the row, so the run is not left running."""
        timings = self._timings()
        values: dict[str, object] = {
            "status": STATUS_OF_CODE.get(event.error_code, "failed"),
            "error_code": event.error_code,
            "error_message": event.message,
            "finished_at": utcnow(),
            "time_to_first_token_ms": timings.time_to_first_token_ms,
            "total_ms": timings.total_ms,
        }
        # Written first, so a client that sees the error event and asks finds the same status.
        try:
            await self._set_row(**values)
            recorded = True
        except TRANSIENT_ERRORS as exc:
            logger.warning("run %s: recording how it ended failed (%s)", self.run_id, exc)
            recorded = False
        except Exception:
            logger.exception("run %s: recording how it ended failed", self.run_id)
            recorded = True  # not a passing outage: trying again would fail the same way
        await self._publish_terminal(event)
        if recorded:
            return
        try:
            async for attempt in self.env.record_retry.copy():
                with attempt:
                    await self._set_row(**values)
        except Exception:
            logger.exception("run %s: how it ended could not be recorded", self.run_id)

    async def _publish_terminal(self, event: WireEvent) -> None:
        try:
            # Another replica may have ended the log already (it took this runner for dead).
            if not await self.env.event_log.is_closed(self.run_id):
                await self.env.event_log.append(self.run_id, event)
        except Exception:
            logger.exception("run %s: publishing the %s event failed", self.run_id, event.type)

    async def _set_row(self, **values: object) -> None:
        async with self.env.write_turns.transaction(self.env.sessions) as session:
            await session.execute(update(RUNS).where(RUNS.c.id == self.run_id).values(**values))


class _Watchdog:
    """The run's timeouts as one timer, moved only when the deadline can have come earlier (a
    change of phase), instead of a timeout context per event. When the timer fires it looks at
    the deadline as things stand: later (tokens came meanwhile), it waits again; passed while
    the run waits for the model, it expires the stream's timeout; passed while an event is
    being published, the run looks again before it next waits (as a timeout around each wait
    for the model did: publishing is not timed)."""

    def __init__(self, run: RunExecution, expiry: asyncio.Timeout) -> None:
        self._run = run
        self._expiry = expiry
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self.awaiting_model = False
        self.overdue = False
        self.reason = ""

    def arm(self) -> None:
        """Set the timer to the deadline as things stand; expire at once if it has passed."""
        self.disarm()
        self.overdue = False
        deadline, limit = self._run.next_deadline()
        remaining = deadline - self._run.env.clock()
        if remaining <= 0:
            self.reason = self._run.timeout_reason(limit)
            self._expiry.reschedule(self._loop.time())
            return
        self._timer = self._loop.call_at(self._loop.time() + remaining, self._fire)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        deadline, _ = self._run.next_deadline()
        if deadline > self._run.env.clock():
            self.arm()
        elif self.awaiting_model:
            self.arm()  # expires
        else:
            self.overdue = True
