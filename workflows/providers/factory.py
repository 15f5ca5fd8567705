"""Builds the chat model a run streams from, and tells whether its backend is reachable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_ollama import ChatOllama

from workflows.providers.scripted import ScriptedChatModel

ProviderName = Literal["ollama", "scripted"]
PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class ProviderConfig:
    name: ProviderName
    ollama_base_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.2:3b"
    temperature: float = 0.8
    max_tokens: int = 900
    scripted_text: str | None = None
    scripted_tokens_per_second: float = 0.0
    scripted_fail_at_token: int | None = None

    @property
    def model_label(self) -> str:
        return self.ollama_model if self.name == "ollama" else "scripted"


@dataclass(frozen=True)
class ProviderStatus:
    provider: ProviderName
    model: str
    ready: bool
    detail: str


def build_chat_model(config: ProviderConfig) -> BaseChatModel:
    if config.name == "ollama":
        return ChatOllama(
            model=config.ollama_model,
            base_url=config.ollama_base_url,
            temperature=config.temperature,
            num_predict=config.max_tokens,
            repeat_penalty=1.1,
        )
    return ScriptedChatModel(
        text=config.scripted_text,
        tokens_per_second=config.scripted_tokens_per_second,
        fail_at_token=config.scripted_fail_at_token,
    )


def _has_model(available: list[str], wanted: str) -> bool:
    if ":" in wanted:
        return wanted in available
    return any(name == wanted or name.startswith(wanted + ":") for name in available)


async def probe(config: ProviderConfig) -> ProviderStatus:
    """Ask the backend whether it can serve the configured model right now."""
    if config.name == "scripted":
        return ProviderStatus("scripted", "scripted", ready=True, detail="scripted test model")
    url = config.ollama_base_url.rstrip("/") + "/api/tags"
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS) as client:
            response = await client.get(url)
            response.raise_for_status()
            available = [entry["name"] for entry in response.json().get("models", [])]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return ProviderStatus(
            "ollama", config.ollama_model, ready=False, detail=f"Ollama at {url} unreachable: {exc}"
        )
    if not _has_model(available, config.ollama_model):
        return ProviderStatus(
            "ollama",
            config.ollama_model,
            ready=False,
            detail=f"Ollama has no model {config.ollama_model!r} (run: ollama pull "
            f"{config.ollama_model})",
        )
    return ProviderStatus("ollama", config.ollama_model, ready=True, detail="Ollama answers")
