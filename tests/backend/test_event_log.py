from __future__ import annotations

import asyncio

import pytest

from backend.runs.events import ContentEvent, ErrorEvent, NodeEvent
from backend.runs.log import InMemoryEventLog, UnknownRunLog


async def _fill(log: InMemoryEventLog, run_id: str, count: int) -> None:
    for index in range(count):
        await log.append(run_id, ContentEvent(chunk=f"t{index}", attempt=1))


async def test_sequence_numbers_start_at_one_and_increase() -> None:
    log = InMemoryEventLog(retention_seconds=60)
    await log.create("r")
    first = await log.append("r", NodeEvent(node="workflow", status="started", progress=0))
    second = await log.append("r", ContentEvent(chunk="Hi", attempt=1))
    assert (first.seq, second.seq) == (1, 2)
    assert second.data == '{"type":"content","chunk":"Hi","attempt":1}'
    assert await log.last_seq("r") == 2


async def test_subscribers_from_any_position_see_the_rest_then_stop_at_the_end() -> None:
    log = InMemoryEventLog(retention_seconds=60)
    await log.create("r")
    await _fill(log, "r", 3)

    async def read(after: int) -> list[int]:
        return [event.seq async for event in log.follow("r", after)]

    readers = [asyncio.create_task(read(after)) for after in (0, 2, 3)]
    await asyncio.sleep(0)
    await _fill(log, "r", 2)
    await log.append("r", ErrorEvent(message="x", error_code="CANCELLED", retryable=False))
    assert await asyncio.gather(*readers) == [[1, 2, 3, 4, 5, 6], [3, 4, 5, 6], [4, 5, 6]]
    assert await log.is_closed("r")


async def test_closed_log_refuses_more_events() -> None:
    log = InMemoryEventLog(retention_seconds=60)
    await log.create("r")
    await log.append("r", ErrorEvent(message="x", error_code="TIMEOUT", retryable=True))
    with pytest.raises(RuntimeError, match="closed"):
        await _fill(log, "r", 1)


async def test_closed_log_is_dropped_after_retention() -> None:
    log = InMemoryEventLog(retention_seconds=0.01)
    await log.create("r")
    await log.append("r", ErrorEvent(message="x", error_code="TIMEOUT", retryable=True))
    await asyncio.sleep(0.05)
    with pytest.raises(UnknownRunLog):
        await log.last_seq("r")


async def test_unknown_run_has_no_log() -> None:
    with pytest.raises(UnknownRunLog):
        await InMemoryEventLog(retention_seconds=1).last_seq("nope")
