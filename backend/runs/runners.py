"""Which process writes which story, and ending the runs of a process that died.

Every process that runs stories has a runner id, recorded on each run it starts. Without Redis
that process is the only runner on its database, so at start-up every unfinished run belongs to
a process that is gone. With Redis (several replicas) each process keeps a heartbeat key alive;
a replica that sees a runner's heartbeat missing for longer than its lifetime ends that runner's
unfinished runs as `interrupted`, in the database and in the event log, so that streams on every
replica end with a retryable `error` instead of waiting for events that will never come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Collection, Iterable

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from tenacity import (
    AsyncRetrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from backend.db.engine import SessionFactory
from backend.db.models import ACTIVE_RUN_STATUSES, Run, utcnow
from backend.redis_clients import DEFAULT_REDIS_NAMESPACE, REDIS_OUTAGES, redis_key
from backend.runs.failures import INTERRUPTED_MESSAGE, interrupted_event
from backend.runs.log import RunEventLog

logger = logging.getLogger(__name__)
HEARTBEAT_PREFIX = redis_key(DEFAULT_REDIS_NAMESPACE, "runner", "")


def new_runner_id() -> str:
    """Unique per process start: host, pid and a random part (a pid is reused after restarts)."""
    return f"{socket.gethostname()[:48]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class RedisHeartbeats:
    """This runner's heartbeat key, renewed a few times per lifetime; and who else is alive."""

    def __init__(
        self,
        client: Redis,
        runner_id: str,
        lifetime_seconds: float,
        prefix: str = HEARTBEAT_PREFIX,
    ) -> None:
        self._redis = client
        self.runner_id = runner_id
        self.lifetime_seconds = lifetime_seconds
        self._prefix = prefix
        self._beating: asyncio.Task[None] | None = None

    def _key(self, runner_id: str) -> str:
        return f"{self._prefix}{runner_id}"

    async def beat(self) -> None:
        await self._redis.set(
            self._key(self.runner_id), "1", px=max(1, round(self.lifetime_seconds * 1000))
        )

    async def start(self) -> None:
        await self.beat()
        self._beating = asyncio.create_task(self._beat_forever(), name="runner-heartbeat")

    async def _beat_forever(self) -> None:
        interval = self.lifetime_seconds / 3
        while True:
            await asyncio.sleep(interval)
            # Missing beats for a whole lifetime would let other replicas end our runs: a beat
            # Redis refused is tried again at once, backing off, until the next one is due.
            retrying = AsyncRetrying(
                retry=retry_if_exception_type(REDIS_OUTAGES),
                wait=wait_exponential(multiplier=0.1, max=interval),
                stop=stop_after_delay(interval),
                before_sleep=before_sleep_log(logger, logging.WARNING),
                reraise=True,
            )
            try:
                async for attempt in retrying:
                    with attempt:
                        await self.beat()
            except REDIS_OUTAGES as exc:
                logger.warning("runner heartbeat not sent, Redis unavailable (%s)", exc)

    async def alive(self, runner_ids: Collection[str]) -> set[str]:
        """The runners among `runner_ids` whose heartbeat is current."""
        ids = list(runner_ids)
        if not ids:
            return set()
        async with self._redis.pipeline(transaction=False) as pipe:
            for runner_id in ids:
                pipe.exists(self._key(runner_id))
            answers = await pipe.execute()
        return {runner_id for runner_id, found in zip(ids, answers, strict=True) if found}

    async def aclose(self) -> None:
        """Stop beating and say so at once (call after this runner's runs have ended)."""
        if self._beating is not None:
            self._beating.cancel()
            await asyncio.gather(self._beating, return_exceptions=True)
        with contextlib.suppress(*REDIS_OUTAGES):
            await self._redis.delete(self._key(self.runner_id))
        await self._redis.aclose()


class OrphanSweeper:
    """Ends the unfinished runs of runners that are gone.

    With heartbeats, a runner counts as gone once its heartbeat was missing at sweeps at least
    a lifetime apart, with no sweep in between finding it: a Redis restart (which loses every
    heartbeat key until the next beat) is not mistaken for a dead replica."""

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        event_log: RunEventLog,
        runner_id: str,
        heartbeats: RedisHeartbeats | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._event_log = event_log
        self._runner_id = runner_id
        self._heartbeats = heartbeats
        self._clock = clock
        self._missing_since: dict[str | None, float] = {}
        self._sweeping: asyncio.Task[None] | None = None

    async def sweep(self) -> list[str]:
        """Interrupt the runs of runners found gone; returns their ids."""
        runners = await self._other_runners()
        ended: list[str] = []
        for runner in self._gone(runners, await self._alive(runners)):
            ended.extend(await self._interrupt_runs_of(runner))
        return ended

    async def _other_runners(self) -> set[str | None]:
        async with self._sessions() as session:
            found = await session.scalars(
                select(Run.runner)
                .where(Run.status.in_(ACTIVE_RUN_STATUSES))
                .where((Run.runner != self._runner_id) | Run.runner.is_(None))
                .distinct()
            )
            return set(found)

    async def _alive(self, runners: Iterable[str | None]) -> set[str | None]:
        if self._heartbeats is None:
            return set()  # the only process on this database: every other runner is gone
        named = [runner for runner in runners if runner is not None]
        return set(await self._heartbeats.alive(named))

    def _gone(self, runners: set[str | None], alive: set[str | None]) -> list[str | None]:
        if self._heartbeats is None:
            return list(runners)
        now = self._clock()
        for runner in set(self._missing_since) - (runners - alive):
            del self._missing_since[runner]  # beating again, or no runs left to rescue
        gone = []
        for runner in runners - alive:
            since = self._missing_since.setdefault(runner, now)
            if now - since >= self._heartbeats.lifetime_seconds:
                gone.append(runner)
        return gone

    async def _interrupt_runs_of(self, runner: str | None) -> list[str]:
        owner = Run.runner.is_(None) if runner is None else Run.runner == runner
        async with self._sessions() as session, session.begin():
            # RETURNING hands each run to exactly one sweeping replica.
            result = await session.execute(
                update(Run)
                .where(owner, Run.status.in_(ACTIVE_RUN_STATUSES))
                .values(
                    status="interrupted",
                    error_code="INTERRUPTED",
                    error_message=INTERRUPTED_MESSAGE,
                    finished_at=utcnow(),
                )
                .returning(Run.id)
            )
            run_ids = list(result.scalars())
        for run_id in run_ids:
            await self._event_log.end_abandoned(run_id, interrupted_event())
        if run_ids:
            logger.warning(
                "%d runs of runner %s, which stopped, were interrupted: %s",
                len(run_ids),
                runner or "(unrecorded)",
                ", ".join(run_ids),
            )
        self._missing_since.pop(runner, None)
        return run_ids

    def start(self, interval_seconds: float) -> None:
        self._sweeping = asyncio.create_task(
            self._sweep_forever(interval_seconds), name="orphan-sweeper"
        )

    async def _sweep_forever(self, interval_seconds: float) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.sweep()
            except (*REDIS_OUTAGES, SQLAlchemyError) as exc:
                logger.warning("looking for runs of stopped replicas failed (%s)", exc)

    async def aclose(self) -> None:
        if self._sweeping is not None:
            self._sweeping.cancel()
            await asyncio.gather(self._sweeping, return_exceptions=True)
