"""Run metrics, run spans and the one log line per run conclusion, read from the run's events.

`ObservedEventLog` wraps the service's `RunEventLog` and sees every event as it is appended: the
run's creation, its start out of the queue (`node workflow started`), the first `content`, the
safety verdict, the reading metrics, and the final `complete` or `error`. Nothing in the run
lifecycle has to call into observability for these.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from redis.exceptions import RedisError

from backend.observability.context import bind_run, bound
from backend.observability.metrics import ServiceMetrics
from backend.runs.events import (
    CompleteEvent,
    ContentEvent,
    ErrorEvent,
    MetadataEvent,
    NodeEvent,
    ResetEvent,
    SafetyEvent,
    WireEvent,
)
from backend.runs.log import LoggedEvent, RunEventLog, flattened

logger = logging.getLogger("storystream.runs")

RUN_ID_ATTRIBUTE = "storystream.run_id"
SEMANTIC_TERM = "semantic classifier"
# How the runs table names an ending, from the error code.
_OUTCOME_OF_ERROR = {"CANCELLED": "cancelled", "INTERRUPTED": "interrupted"}


@dataclass
class WatchedRun:
    """What is known about one run written or ended in this process."""

    created: float
    child_id: int | None = None
    family_id: int | None = None
    started: float | None = None
    first_model_token: float | None = None
    first_visible_token: float | None = None
    tokens: int = 0
    tokens_counted: int = 0
    # Event seq -> when it was appended, for the delivery lag of node and final events.
    appended: dict[int, float] = field(default_factory=dict)
    span: Span | None = None


def finding_stage(term: str, category: str) -> str:
    """Which part of the whole-chapter check found an issue."""
    if term == SEMANTIC_TERM:
        return "classifier"
    if term.startswith("llama-guard") or category == "judge":
        return "judge"
    return "rules"


class RunWatcher:
    """Turns a run's events into metrics, a span and its conclusion line."""

    def __init__(
        self,
        metrics: ServiceMetrics,
        *,
        log_kind: str,
        tracer: Tracer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metrics = metrics
        self.log_kind = log_kind
        self.tracer = tracer
        self.runs: dict[str, WatchedRun] = {}
        self._on_created: Callable[[], None] | None = None
        self._clock = clock

    def on_created(self, hook: Callable[[], None]) -> None:
        """Called in the context of the request creating each run (before its task starts)."""
        self._on_created = hook

    def created(self, run_id: str) -> None:
        context = bound()
        run = WatchedRun(
            created=self._clock(),
            child_id=context.get("child_id"),
            family_id=context.get("family_id"),
        )
        self.runs[run_id] = run
        # Every line the run logs from here on (its task copies this context) carries its id.
        bind_run(run_id)
        if self._on_created is not None:
            self._on_created()
        self.metrics.runs_started.inc()
        self.metrics.runs_queued.inc()
        if self.tracer is not None:
            # The request that created the run carries its id too.
            trace.get_current_span().set_attribute(RUN_ID_ATTRIBUTE, run_id)
            run.span = self.tracer.start_span(
                "storystream.run",
                attributes={
                    RUN_ID_ATTRIBUTE: run_id,
                    **({"storystream.child_id": run.child_id} if run.child_id else {}),
                    **({"storystream.family_id": run.family_id} if run.family_id else {}),
                },
            )

    def appended(self, run_id: str, event: WireEvent, seq: int) -> None:
        run = self.runs.get(run_id)
        if isinstance(event, ContentEvent):
            if run is None:
                self.metrics.tokens_streamed.inc()
                return
            # Counted here, added to the counter at the next node boundary or the run's end:
            # a plain increment per token instead of the counter's lock.
            run.tokens += 1
            if run.first_visible_token is None:
                run.first_visible_token = self._clock()
                if run.started is not None:
                    self.metrics.time_to_first_visible_token.observe(
                        run.first_visible_token - run.started
                    )
            return
        if run is not None:
            run.appended[seq] = self._clock()
            self._flush_tokens(run)
        if isinstance(event, NodeEvent):
            if event.node == "workflow" and event.status == "started" and run is not None:
                self._started(run)
        elif isinstance(event, ResetEvent):
            self.metrics.safety_verdicts.labels("redraft", "").inc()
        elif isinstance(event, SafetyEvent):
            self.metrics.safety_checks.labels("approved" if event.approved else "rejected").inc()
            for issue in event.issues:
                stage = finding_stage(issue.term, issue.category)
                self.metrics.safety_verdicts.labels(stage, issue.category).inc()
        elif isinstance(event, MetadataEvent):
            self.metrics.readability_fit.labels("true" if event.fits_reader else "false").inc()
            self.metrics.readability_grade.observe(event.readability_grade)
        elif isinstance(event, CompleteEvent | ErrorEvent):
            self._concluded(run_id, run, event)

    def _flush_tokens(self, run: WatchedRun) -> None:
        if run.tokens > run.tokens_counted:
            self.metrics.tokens_streamed.inc(run.tokens - run.tokens_counted)
            run.tokens_counted = run.tokens

    def _started(self, run: WatchedRun) -> None:
        if run.started is not None:
            return
        run.started = self._clock()
        self.metrics.runs_queued.dec()
        self.metrics.runs_running.inc()
        self.metrics.queue_wait.observe(run.started - run.created)

    def model_token(self, run_id: str | None, at: float) -> None:
        """The story model's first token of a run (from the LangChain callbacks)."""
        run = self.runs.get(run_id) if run_id is not None else None
        if run is not None and run.first_model_token is None:
            run.first_model_token = at

    def _concluded(
        self, run_id: str, run: WatchedRun | None, event: CompleteEvent | ErrorEvent
    ) -> None:
        now = self._clock()
        fields: dict[str, Any] = {"run_id": run_id}
        if isinstance(event, CompleteEvent):
            story = event.story
            outcome, error_code = "completed", ""
            fields.update(child_id=story.child_id, story_id=story.id)
            if story.usage is not None:
                fields.update(
                    input_tokens=story.usage.input_tokens, output_tokens=story.usage.output_tokens
                )
                self.metrics.model_tokens.labels("input").inc(story.usage.input_tokens)
                self.metrics.model_tokens.labels("output").inc(story.usage.output_tokens)
        else:
            error_code = event.error_code
            outcome = _OUTCOME_OF_ERROR.get(error_code, "failed")
            fields["retryable"] = event.retryable
            if error_code == "SAFETY_REJECTED":
                self.metrics.safety_verdicts.labels("rejection", "").inc()
        self.metrics.runs_finished.labels(outcome, error_code).inc()
        fields.update(outcome=outcome, error_code=error_code or None)
        if run is not None:
            self.runs.pop(run_id, None)
            if run.started is None:
                self.metrics.runs_queued.dec()
            else:
                self.metrics.runs_running.dec()
            self.metrics.run_duration.labels(outcome).observe(now - run.created)
            if run.first_model_token is not None and run.started is not None:
                self.metrics.time_to_first_token.observe(run.first_model_token - run.started)
            fields.update(
                child_id=fields.get("child_id", run.child_id),
                family_id=run.family_id,
                queue_ms=_ms(run.created, run.started),
                time_to_first_token_ms=_ms(run.started, run.first_model_token),
                time_to_first_visible_token_ms=_ms(run.started, run.first_visible_token),
                total_ms=_ms(run.created, now),
                tokens_streamed=run.tokens,
            )
            if run.span is not None:
                run.span.set_attribute("storystream.outcome", outcome)
                if error_code:
                    run.span.set_attribute("storystream.error_code", error_code)
                    run.span.set_status(Status(StatusCode.ERROR, error_code))
                run.span.end()
        logger.info("run finished", extra=fields)

    def delivered(self, run_id: str, event: LoggedEvent) -> None:
        """A reader got `event`; node and final events of runs appended here give the lag."""
        if event.type == "content":
            return
        run = self.runs.get(run_id)
        if run is None:
            return
        at = run.appended.pop(event.seq, None) if event.is_terminal else run.appended.get(event.seq)
        if at is not None:
            self.metrics.event_log_lag.labels(self.log_kind).observe(self._clock() - at)

    def run_span(self, run_id: str | None) -> Span | None:
        run = self.runs.get(run_id) if run_id is not None else None
        return run.span if run is not None else None


def _ms(start: float | None, end: float | None) -> int | None:
    if start is None or end is None:
        return None
    return round((end - start) * 1000)


class ObservedEventLog:
    """A `RunEventLog` that tells a `RunWatcher` about every run created, event appended and
    event delivered, and counts the Redis errors of its calls; everything else is the wrapped
    log's."""

    def __init__(self, inner: RunEventLog, watcher: RunWatcher) -> None:
        self.inner = inner
        self.watcher = watcher

    def _redis_error(self, operation: str) -> None:
        self.watcher.metrics.redis_errors.labels(f"event_log.{operation}").inc()

    async def create(self, run_id: str) -> None:
        try:
            await self.inner.create(run_id)
        except RedisError:
            self._redis_error("create")
            raise
        self.watcher.created(run_id)

    async def append(self, run_id: str, event: WireEvent) -> LoggedEvent:
        try:
            logged = await self.inner.append(run_id, event)
        except RedisError:
            self._redis_error("append")
            raise
        self.watcher.appended(run_id, event, logged.seq)
        return logged

    async def last_seq(self, run_id: str) -> int:
        try:
            return await self.inner.last_seq(run_id)
        except RedisError:
            self._redis_error("last_seq")
            raise

    async def is_closed(self, run_id: str) -> bool:
        try:
            return await self.inner.is_closed(run_id)
        except RedisError:
            self._redis_error("is_closed")
            raise

    async def end_abandoned(self, run_id: str, event: WireEvent) -> bool:
        try:
            ended = await self.inner.end_abandoned(run_id, event)
        except RedisError:
            self._redis_error("end_abandoned")
            raise
        if ended:
            # The run's writer died: its events were never seen here, only this ending.
            self.watcher.appended(run_id, event, 0)
        return ended

    def follow(self, run_id: str, after_seq: int) -> AsyncIterator[LoggedEvent]:
        return flattened(self.follow_batches(run_id, after_seq))

    async def follow_batches(
        self, run_id: str, after_seq: int
    ) -> AsyncIterator[Sequence[LoggedEvent]]:
        metrics = self.watcher.metrics
        metrics.stream_subscribers.inc()
        try:
            async for batch in self.inner.follow_batches(run_id, after_seq):
                for event in batch:
                    self.watcher.delivered(run_id, event)
                yield batch
        except RedisError:
            self._redis_error("follow")
            raise
        finally:
            metrics.stream_subscribers.dec()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __getattr__(self, name: str) -> Any:
        # Anything else the wrapped log offers (its own helpers) stays reachable.
        return getattr(self.inner, name)
