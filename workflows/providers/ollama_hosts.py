"""Several Ollama hosts behind one chat model: each story goes to a healthy host with the fewest
stories in flight; a host that cannot be reached is marked down and tried again later.

A story that fails before its first token moves on to the next host; once tokens have been
streamed it cannot (the client has seen them), so the error ends the run as usual.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ConfigDict

from workflows.providers.structured import json_schema_output, require_json_schema_method

logger = logging.getLogger(__name__)
DOWN_SECONDS = 30.0
# Failures that say the host itself is unreachable, not that the story went wrong.
UNREACHABLE = (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout)


class NoHealthyHost(ConnectionError):
    """Every Ollama host is marked down; the message says when one is tried again."""


@dataclass
class OllamaHost:
    base_url: str
    model: BaseChatModel
    in_flight: int = 0
    down_until: float = 0.0
    failures: int = field(default=0)

    def healthy(self, now: float) -> bool:
        return now >= self.down_until


class OllamaHostPool:
    def __init__(
        self,
        hosts: list[OllamaHost],
        *,
        down_seconds: float = DOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not hosts:
            raise ValueError("at least one Ollama host is needed")
        self.hosts = hosts
        self._down_seconds = down_seconds
        self._clock = clock

    def candidates(self) -> list[OllamaHost]:
        """Healthy hosts, least busy first; if none is healthy, the one back soonest."""
        now = self._clock()
        healthy = [host for host in self.hosts if host.healthy(now)]
        if healthy:
            return sorted(healthy, key=lambda host: host.in_flight)
        return [min(self.hosts, key=lambda host: host.down_until)]

    def mark_down(self, host: OllamaHost, reason: BaseException) -> None:
        host.failures += 1
        host.down_until = self._clock() + self._down_seconds
        logger.warning(
            "Ollama host %s marked down for %gs: %s", host.base_url, self._down_seconds, reason
        )

    def mark_up(self, host: OllamaHost) -> None:
        host.failures = 0
        host.down_until = 0.0


class RoutedChatModel(BaseChatModel):
    """A chat model that streams from whichever host of the pool can take the story."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pool: OllamaHostPool

    @property
    def _llm_type(self) -> str:
        return "storystream-ollama-hosts"

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        # As ChatOllama's json_schema method: `format` reaches the chosen host's request.
        model, options = require_json_schema_method(schema, kwargs)
        return json_schema_output(self, model, include_raw=include_raw, **options)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        last_error: BaseException | None = None
        for host in self.pool.candidates():
            host.in_flight += 1
            try:
                result = await host.model._agenerate(messages, stop, run_manager, **kwargs)
            except UNREACHABLE as exc:
                self.pool.mark_down(host, exc)
                last_error = exc
                continue
            finally:
                host.in_flight -= 1
            self.pool.mark_up(host)
            return result
        raise NoHealthyHost(f"no Ollama host could take the call: {last_error}")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self.pool.candidates()[0].model._generate(messages, stop, None, **kwargs)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        last_error: BaseException | None = None
        for host in self.pool.candidates():
            host.in_flight += 1
            streamed = False
            try:
                async for chunk in host.model._astream(messages, stop, run_manager, **kwargs):
                    streamed = True
                    yield chunk
                self.pool.mark_up(host)
                return
            except UNREACHABLE as exc:
                self.pool.mark_down(host, exc)
                if streamed:
                    raise
                last_error = exc
            finally:
                host.in_flight -= 1
        raise NoHealthyHost(f"no Ollama host could take the story: {last_error}")
