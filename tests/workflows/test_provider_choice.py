"""`auto` picks Ollama when it can serve the model, otherwise the embedded model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from workflows.providers import ProviderConfig, probe, resolve_provider
from workflows.providers.factory import JudgeChoice, RequestedProvider, resolve_judge
from workflows.providers.local import embedded_model_path, local_model_problem

OLLAMA = "http://ollama.test:11434"
EMBEDDED = pytest.mark.skipif(
    local_model_problem(embedded_model_path()) is not None,
    reason="embedded model not installed; `make test` installs it",
)


@pytest.fixture
def ollama() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=OLLAMA, assert_all_called=False) as router:
        yield router


def _config(
    name: RequestedProvider = "auto", local_model_path: Path | None = None
) -> ProviderConfig:
    return ProviderConfig(
        name=name,
        ollama_base_url=OLLAMA,
        ollama_model="llama3.2:3b",
        local_model_path=local_model_path,
    )


async def test_auto_picks_ollama_when_it_serves_the_model(ollama: respx.MockRouter) -> None:
    ollama.get("/api/tags").respond(200, json={"models": [{"name": "llama3.2:3b"}]})
    chosen = await resolve_provider(_config())
    assert chosen.name == "ollama"
    assert chosen.chosen_because == f"auto: Ollama at {OLLAMA} serves llama3.2:3b"


@EMBEDDED
async def test_auto_picks_the_embedded_model_when_ollama_is_down(ollama: respx.MockRouter) -> None:
    ollama.get("/api/tags").mock(side_effect=httpx.ConnectError("connection refused"))
    chosen = await resolve_provider(_config())
    assert chosen.name == "local"
    assert chosen.model_label == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "using the embedded model" in chosen.chosen_because
    assert (await probe(chosen)).ready


@EMBEDDED
async def test_auto_picks_the_embedded_model_when_ollama_lacks_the_model(
    ollama: respx.MockRouter,
) -> None:
    ollama.get("/api/tags").respond(200, json={"models": [{"name": "mistral:latest"}]})
    chosen = await resolve_provider(_config())
    assert chosen.name == "local"
    assert "ollama pull llama3.2:3b" in chosen.chosen_because


async def test_auto_without_either_backend_keeps_ollama_and_says_why(
    ollama: respx.MockRouter, tmp_path: Path
) -> None:
    ollama.get("/api/tags").mock(side_effect=httpx.ConnectError("connection refused"))
    chosen = await resolve_provider(_config(local_model_path=tmp_path / "missing.gguf"))
    assert chosen.name == "ollama"
    assert "the embedded model cannot run" in chosen.chosen_because
    status = await probe(chosen)
    assert not status.ready
    assert "unreachable" in status.detail


async def test_explicit_ollama_never_falls_back(ollama: respx.MockRouter) -> None:
    ollama.get("/api/tags").mock(side_effect=httpx.ConnectError("connection refused"))
    chosen = await resolve_provider(_config("ollama"))
    assert (chosen.name, chosen.chosen_because) == ("ollama", "configured")
    assert not (await probe(chosen)).ready


async def test_auto_judge_is_llama_guard_when_ollama_serves_it(ollama: respx.MockRouter) -> None:
    ollama.get("/api/tags").respond(
        200, json={"models": [{"name": "llama3.2:3b"}, {"name": "llama-guard3:1b"}]}
    )
    chosen = await resolve_judge("auto", _config("ollama"), "llama-guard3:1b")
    assert chosen == JudgeChoice("llama_guard", f"auto: Ollama at {OLLAMA} serves llama-guard3:1b")


async def test_auto_judge_is_the_rubric_when_ollama_lacks_llama_guard(
    ollama: respx.MockRouter,
) -> None:
    ollama.get("/api/tags").respond(200, json={"models": [{"name": "llama3.2:3b"}]})
    chosen = await resolve_judge("auto", _config("ollama"), "llama-guard3:1b")
    assert chosen.kind == "rubric"
    assert "the story model judges with the rubric" in chosen.chosen_because


async def test_auto_judge_is_none_on_the_embedded_model(ollama: respx.MockRouter) -> None:
    chosen = await resolve_judge("auto", _config("local"), "llama-guard3:1b")
    assert chosen.kind == "none"
    assert "rules and classifier" in chosen.chosen_because
    assert not ollama.calls


async def test_a_configured_judge_is_kept(ollama: respx.MockRouter) -> None:
    chosen = await resolve_judge("none", _config("ollama"), "llama-guard3:1b")
    assert chosen == JudgeChoice("none", "set by STORYSTREAM_SAFETY_JUDGE")
