"""Coalesces sentences from concurrent streams into one encoder batch on one worker thread.

The encoder is CPU-bound (ONNX Runtime): run on the event loop it would stall every stream, and
run on many threads at once it would only fight over two cores. So each event loop gets a queue
and a drain task; the drain task hands everything queued so far to a single shared worker thread
in one hand-off (the encoder then runs each sentence alone, see `MiniLMEncoder.encode`), and the
next batch gathers while that one runs.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Result = TypeVar("Result")
MAX_BATCH = 32


@dataclass
class _Request(Generic[Result]):
    texts: list[str]
    future: asyncio.Future[list[Result]]


@dataclass
class _LoopQueue(Generic[Result]):
    waiting: list[_Request[Result]] = field(default_factory=list)
    drain: asyncio.Task[None] | None = None


class MicroBatcher(Generic[Result]):
    def __init__(
        self, run: Callable[[list[str]], list[Result]], max_batch: int = MAX_BATCH
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="safety-encoder")
        # One queue per event loop: tests and the CLI run several loops in one process.
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue[Result]] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, texts: Sequence[str]) -> list[Result]:
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, _LoopQueue())
        request = _Request(texts=list(texts), future=loop.create_future())
        queue.waiting.append(request)
        if queue.drain is None or queue.drain.done():
            queue.drain = loop.create_task(self._drain(loop, queue))
        return await request.future

    async def _drain(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue[Result]) -> None:
        while queue.waiting:
            batch: list[_Request[Result]] = []
            size = 0
            while queue.waiting and (
                not batch or size + len(queue.waiting[0].texts) <= self._max_batch
            ):
                request = queue.waiting.pop(0)
                if not request.future.done():  # its stream may have gone meanwhile
                    batch.append(request)
                    size += len(request.texts)
            if not batch:
                continue
            texts = [text for request in batch for text in request.texts]
            try:
                results = await loop.run_in_executor(self._executor, self._run, texts)
            except Exception as exc:  # the callers get the failure; the queue goes on
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)
                continue
            start = 0
            for request in batch:
                end = start + len(request.texts)
                if not request.future.done():
                    request.future.set_result(results[start:end])
                start = end
