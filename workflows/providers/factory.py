"""Chooses the story model (`auto`: Ollama when it can serve, else the embedded model), builds it,
and tells whether its backend is ready."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_ollama import ChatOllama

from workflows.judges import LlamaGuardJudge, RubricJudge, SafetyJudge
from workflows.prompts import load_prompt_library
from workflows.providers.local import (
    LocalChatModel,
    LocalModelPool,
    embedded_model_path,
    local_model_problem,
)
from workflows.providers.ollama_hosts import OllamaHost, OllamaHostPool, RoutedChatModel
from workflows.providers.scripted import ScriptedChatModel, read_scripts
from workflows.story_prompt import PromptProfile

RequestedProvider = Literal["auto", "ollama", "local", "scripted"]
PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class ProviderConfig:
    name: RequestedProvider
    ollama_base_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.2:3b"
    temperature: float = 0.8
    max_tokens: int = 900
    local_model_path: Path | None = None
    local_capacity: int = 1
    local_threads: int | None = None
    local_context_tokens: int = 2048
    local_temperature: float = 0.4
    local_repeat_penalty: float = 1.2
    scripted_text: str | None = None
    scripted_texts_file: Path | None = None
    scripted_retry_text: str | None = None
    scripted_repair_text: str | None = None
    scripted_ending_text: str | None = None
    scripted_tokens_per_second: float = 0.0
    scripted_fail_at_token: int | None = None
    chosen_because: str = "configured"

    @property
    def ollama_hosts(self) -> list[str]:
        """STORYSTREAM_OLLAMA_BASE_URL may list several hosts, separated by commas."""
        return [url.strip() for url in self.ollama_base_url.split(",") if url.strip()]

    @property
    def model_path(self) -> Path | None:
        return self.local_model_path or embedded_model_path()

    @property
    def model_label(self) -> str:
        if self.name == "ollama":
            return self.ollama_model
        if self.name == "local":
            path = self.model_path
            return path.name if path else "embedded model (not installed)"
        return self.name


@dataclass(frozen=True)
class ProviderStatus:
    provider: str
    model: str
    ready: bool
    detail: str


@dataclass
class BuiltModel:
    """The chat model a service uses, the embedded model pool behind it, if any, and the prompt
    files it follows."""

    model: BaseChatModel
    pool: LocalModelPool | None = None
    profile: PromptProfile = "standard"

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _has_model(available: list[str], wanted: str) -> bool:
    if ":" in wanted:
        return wanted in available
    return any(name == wanted or name.startswith(wanted + ":") for name in available)


async def probe_ollama(base_url: str, model: str) -> ProviderStatus:
    url = base_url.rstrip("/") + "/api/tags"
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS) as client:
            response = await client.get(url)
            response.raise_for_status()
            available = [entry["name"] for entry in response.json().get("models", [])]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return ProviderStatus(
            "ollama", model, ready=False, detail=f"Ollama at {url} unreachable: {exc}"
        )
    if not _has_model(available, model):
        return ProviderStatus(
            "ollama",
            model,
            ready=False,
            detail=f"Ollama has no model {model!r} (run: ollama pull {model})",
        )
    return ProviderStatus(
        "ollama", model, ready=True, detail=f"Ollama at {base_url} serves {model}"
    )


async def probe_ollama_hosts(hosts: list[str], model: str) -> ProviderStatus:
    """Ready when any host can serve the model (each story goes to a host that can)."""
    statuses = [await probe_ollama(host, model) for host in hosts]
    ready = [status for status in statuses if status.ready]
    if len(statuses) == 1:
        return statuses[0]
    detail = "; ".join(status.detail for status in statuses)
    return ProviderStatus(
        "ollama",
        model,
        ready=bool(ready),
        detail=f"{len(ready)} of {len(statuses)} hosts ready: {detail}",
    )


async def probe(config: ProviderConfig) -> ProviderStatus:
    """Ask the chosen backend whether it can serve the configured model right now."""
    if config.name == "ollama":
        return await probe_ollama_hosts(config.ollama_hosts, config.ollama_model)
    if config.name == "local":
        problem = local_model_problem(config.model_path)
        if problem:
            return ProviderStatus("local", config.model_label, ready=False, detail=problem)
        return ProviderStatus(
            "local",
            config.model_label,
            ready=True,
            detail=f"embedded llama.cpp model {config.model_path}",
        )
    return ProviderStatus(config.name, config.model_label, ready=True, detail="scripted test model")


async def resolve_provider(config: ProviderConfig) -> ProviderConfig:
    """Turn `auto` into a concrete provider: Ollama when it answers with the model, else local."""
    if config.name != "auto":
        return config
    ollama = await probe_ollama_hosts(config.ollama_hosts, config.ollama_model)
    if ollama.ready:
        return dataclasses.replace(config, name="ollama", chosen_because=f"auto: {ollama.detail}")
    local_problem = local_model_problem(config.model_path)
    if local_problem is None:
        return dataclasses.replace(
            config, name="local", chosen_because=f"auto: {ollama.detail}; using the embedded model"
        )
    return dataclasses.replace(
        config,
        name="ollama",
        chosen_because=f"auto: {ollama.detail}, and the embedded model cannot run: {local_problem}",
    )


JudgeKind = Literal["none", "llama_guard", "rubric"]
JudgeSetting = Literal["auto", "none", "llama_guard", "rubric"]


@dataclass(frozen=True)
class JudgeChoice:
    kind: JudgeKind
    chosen_because: str


async def resolve_judge(
    setting: JudgeSetting, config: ProviderConfig, judge_model: str
) -> JudgeChoice:
    """Turn `auto` into a judge: with Ollama telling the stories, Llama Guard 3 when Ollama serves
    it (a model trained for exactly this), else the rubric prompt to the story model; on the
    embedded model none, because a 135M model is no judge: the rules and the classifier decide."""
    if setting != "auto":
        return JudgeChoice(setting, "set by STORYSTREAM_SAFETY_JUDGE")
    if config.name != "ollama":
        return JudgeChoice(
            "none",
            f"auto: the {config.name} story model is too small to judge; rules and classifier",
        )
    guard = await probe_ollama(config.ollama_hosts[0], judge_model)
    if guard.ready:
        return JudgeChoice("llama_guard", f"auto: {guard.detail}")
    return JudgeChoice("rubric", f"auto: {guard.detail}; the story model judges with the rubric")


def build_judge(
    kind: JudgeKind, config: ProviderConfig, story_model: BaseChatModel, judge_model: str
) -> SafetyJudge | None:
    """The whole-chapter LLM judge: Llama Guard on the configured Ollama, or a rubric prompt to
    the story model itself."""
    if kind == "llama_guard":
        # The judge is small: it runs on the first Ollama host.
        guard = ChatOllama(model=judge_model, base_url=config.ollama_hosts[0], temperature=0.0)
        return LlamaGuardJudge(model=guard)
    if kind == "rubric":
        return RubricJudge(model=story_model, prompts=load_prompt_library())
    return None


def build_chat_model(config: ProviderConfig) -> BuiltModel:
    """The chat model for a resolved provider (call `resolve_provider` first for `auto`)."""
    if config.name == "ollama":
        models = [
            ChatOllama(
                model=config.ollama_model,
                base_url=host,
                temperature=config.temperature,
                num_predict=config.max_tokens,
                repeat_penalty=1.1,
            )
            for host in config.ollama_hosts
        ]
        if len(models) == 1:
            return BuiltModel(models[0])
        hosts = OllamaHostPool(
            [
                OllamaHost(base_url=host, model=model)
                for host, model in zip(config.ollama_hosts, models, strict=True)
            ]
        )
        return BuiltModel(RoutedChatModel(pool=hosts))
    if config.name == "local":
        pool = LocalModelPool(
            config.model_path,
            capacity=config.local_capacity,
            threads=config.local_threads,
            context=config.local_context_tokens,
        )
        model = LocalChatModel(
            pool=pool,
            temperature=min(config.temperature, config.local_temperature),
            repeat_penalty=config.local_repeat_penalty,
            max_tokens=config.max_tokens,
        )
        return BuiltModel(model, pool, profile="embedded")
    if config.name == "scripted":
        return BuiltModel(
            ScriptedChatModel(
                text=config.scripted_text,
                texts=read_scripts(config.scripted_texts_file),
                retry_text=config.scripted_retry_text,
                repair_text=config.scripted_repair_text,
                ending_text=config.scripted_ending_text,
                tokens_per_second=config.scripted_tokens_per_second,
                fail_at_token=config.scripted_fail_at_token,
            )
        )
    raise ValueError("resolve the 'auto' provider before building its model")
