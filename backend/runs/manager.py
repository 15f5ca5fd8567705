"""Starts runs as background tasks, keeps track of the live ones, and stops them on request."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import RUNS, utcnow
from backend.runs.executor import RunEnvironment, RunExecution, RunSpec, StopReason
from workflows.state import StoryRequest

logger = logging.getLogger(__name__)


@dataclass
class _LiveRun:
    execution: RunExecution
    task: asyncio.Task[None]
    family_id: int


# A Core statement on the table with its values as parameters, not the ORM's unit of work or
# `.values()`: a flush of a new object, or building the statement anew, costs several times the
# insert's own CPU, on the way to every stream's first event.
_RECORD_RUN = insert(RUNS)
# More writes of a story's start, given the new run's id: they join the transaction (and the
# write turn) of the run's row, and commit or fail with it.
StartWrites = Callable[[AsyncSession, str], Awaitable[None]]


class ShuttingDown(Exception):
    """The service is stopping and starts no new runs."""


class Overloaded(Exception):
    """Every run slot is busy and the queue is full; the message says when to try again."""


class FamilyAtCapacity(Exception):
    """The family already has its share of runs being written or waiting (issue 13)."""


def first_story_reserve(max_live_runs: int) -> int:
    """Places kept for families with no run in flight: a quarter of them, at least one. A
    family's second or later run never takes these, so one family's burst cannot refuse
    another family's first story while any place is left. (Only while the per-family cap is
    below the number of places: a cap that large says one family may fill them, as a benchmark
    or a single-family install does.)"""
    return max(1, max_live_runs // 4)


class RunManager:
    def __init__(
        self,
        env: RunEnvironment,
        *,
        provider: str,
        model: str,
        runner_id: str,
        max_live_runs: int | None = None,
        family_runs_in_flight: int | None = None,
    ) -> None:
        self.env = env
        # Recorded on every run, so other replicas can tell when this process is gone.
        self.runner_id = runner_id
        # Running plus queued runs this process takes before it refuses new ones.
        self.max_live_runs = max_live_runs
        # Running plus queued runs one family (parent account) may have in this process.
        self.family_runs_in_flight = family_runs_in_flight
        self.provider = provider
        self.model = model
        self.accepting = True
        self._live: dict[str, _LiveRun] = {}
        # Runs admitted but not live yet (their row and log are being created): counted too, so
        # that concurrent submits cannot all pass the limits before any of them is live.
        self._admitted: dict[str, int] = {}

    @property
    def live_runs(self) -> int:
        return len(self._live)

    def family_in_flight(self, family_id: int) -> int:
        live = sum(1 for run in self._live.values() if run.family_id == family_id)
        return live + sum(1 for family in self._admitted.values() if family == family_id)

    def _admit(self, run_id: str, family_id: int) -> None:
        """Take a place for a new run, or refuse it: the service is full, the family is at its
        cap, or only the places kept for other families' first stories are left."""
        if not self.accepting:
            raise ShuttingDown("the service is shutting down and starts no new stories")
        taken = len(self._live) + len(self._admitted)
        if self.max_live_runs is not None and taken >= self.max_live_runs:
            raise Overloaded(
                f"StoryStream is writing and queueing as many stories as it can "
                f"({self.max_live_runs}); try again shortly"
            )
        in_flight = self.family_in_flight(family_id)
        cap = self.family_runs_in_flight
        if cap is not None and in_flight >= cap:
            raise FamilyAtCapacity(
                f"this family already has {cap} {'story' if cap == 1 else 'stories'} being "
                "written or waiting; start the next when one has finished"
            )
        if (
            in_flight > 0
            and self.max_live_runs is not None
            and cap is not None
            and cap < self.max_live_runs
            and self.max_live_runs - taken <= first_story_reserve(self.max_live_runs)
        ):
            raise Overloaded(
                "StoryStream is nearly full and keeps its last places for families without a "
                "story in progress; try again when one of yours has finished"
            )
        self._admitted[run_id] = family_id

    async def submit(
        self,
        *,
        child_id: int,
        family_id: int,
        series_id: int | None,
        request: StoryRequest,
        recorded_in: AsyncSession | None = None,
        also_writes: StartWrites | None = None,
    ) -> str:
        """Record the run, open its event log and start it; returns the run id.

        With `recorded_in` (the request's session) the run's row joins that transaction, which
        this commits: one connection and one commit for the whole start, instead of a second
        session of its own (each aiosqlite statement is a thread hop before the first event).
        `also_writes` are the start's other writes (a child ticket's use), made in the same
        transaction: if the commit fails, neither the run nor they are recorded."""
        run_id = uuid.uuid4().hex
        self._admit(run_id, family_id)
        try:
            await self._start(
                run_id, child_id, family_id, series_id, request, recorded_in, also_writes
            )
        finally:
            self._admitted.pop(run_id, None)
        return run_id

    async def _start(
        self,
        run_id: str,
        child_id: int,
        family_id: int,
        series_id: int | None,
        request: StoryRequest,
        recorded_in: AsyncSession | None,
        also_writes: StartWrites | None,
    ) -> None:
        spec = RunSpec(run_id=run_id, child_id=child_id, series_id=series_id, request=request)
        execution = RunExecution(spec, self.env)
        # With a slot free the run starts at once and its row says so from the insert: the
        # run's only other write is its end.
        starts_now = await execution.take_slot_now()
        values = dict(
            id=run_id,
            child_id=child_id,
            series_id=series_id,
            theme=request["theme"]["id"],
            chapter_number=request["chapter_number"],
            title=request["title"],
            status="running" if starts_now else "queued",
            started_at=utcnow() if starts_now else None,
            provider=self.provider,
            model=self.model,
            runner=self.runner_id,
            gate=request["gate"],
        )
        try:
            if recorded_in is not None:
                if self.env.write_turns.busy:
                    # The request has only read so far: end its transaction, so that waiting
                    # for the turn holds no pooled connection (readers need them).
                    await recorded_in.commit()
                async with self.env.write_turns.turn():
                    await recorded_in.execute(_RECORD_RUN, values)
                    if also_writes is not None:
                        await also_writes(recorded_in, run_id)
                    await recorded_in.commit()
            else:
                async with self.env.write_turns.transaction(self.env.sessions) as session:
                    await session.execute(_RECORD_RUN, values)
                    if also_writes is not None:
                        await also_writes(session, run_id)
            await self.env.event_log.create(run_id)
        except BaseException:
            execution.release_slot()
            raise
        task = execution.start()
        self._live[run_id] = _LiveRun(execution=execution, task=task, family_id=family_id)
        task.add_done_callback(lambda finished: self._on_done(run_id, finished))
        logger.info(
            "run %s started: child %s, theme %s, chapter %s",
            run_id,
            child_id,
            request["theme"]["id"],
            request["chapter_number"],
        )

    def cancel(self, run_id: str, reason: StopReason = "cancelled") -> bool:
        """Ask a live run to stop; False when it is not running in this process, or is already
        concluding."""
        live = self._live.get(run_id)
        return live is not None and live.execution.stop(reason)

    def _on_done(self, run_id: str, task: asyncio.Task[None]) -> None:
        # The execution concluded the run itself; this only forgets it.
        self._live.pop(run_id, None)
        if not task.cancelled() and task.exception() is not None:
            logger.error("run %s crashed", run_id, exc_info=task.exception())

    async def shutdown(self, grace_seconds: float = 0.0) -> None:
        """Start no new runs, let live ones finish for up to `grace_seconds`, then interrupt
        the rest and wait until each has recorded how it ended."""
        self.accepting = False
        tasks = [live.task for live in self._live.values()]
        if tasks and grace_seconds > 0:
            logger.info("waiting up to %gs for %d stories to finish", grace_seconds, len(tasks))
            await asyncio.wait(tasks, timeout=grace_seconds)
        for run_id in list(self._live):
            self.cancel(run_id, reason="interrupted")
        await asyncio.gather(*tasks, return_exceptions=True)
