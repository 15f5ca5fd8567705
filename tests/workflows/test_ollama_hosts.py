"""Several Ollama hosts: stories go to a healthy, least busy host; an unreachable one is marked
down, skipped, and tried again later. Hosts are mocked with respx in Ollama's real API shapes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx
from langchain_core.messages import HumanMessage
from langchain_ollama import ChatOllama

from backend.runs.failures import classify_backend_error
from tests.support import ManualClock, ndjson, ollama_chat_lines
from workflows.providers import ProviderConfig, probe
from workflows.providers.factory import build_chat_model
from workflows.providers.ollama_hosts import (
    NoHealthyHost,
    OllamaHost,
    OllamaHostPool,
    RoutedChatModel,
)

A = "http://ollama-a.test:11434"
B = "http://ollama-b.test:11434"


@pytest.fixture
def hosts() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def _routed(clock: ManualClock) -> tuple[RoutedChatModel, OllamaHostPool]:
    pool = OllamaHostPool(
        [OllamaHost(url, ChatOllama(model="llama3.2:3b", base_url=url)) for url in (A, B)],
        down_seconds=30,
        clock=clock,
    )
    return RoutedChatModel(pool=pool), pool


async def _story(model: RoutedChatModel) -> str:
    return "".join([chunk.text async for chunk in model.astream([HumanMessage("a story")])])


async def test_an_unreachable_host_is_skipped_marked_down_and_retried_later(
    hosts: respx.MockRouter,
) -> None:
    down = hosts.post(f"{A}/api/chat").mock(side_effect=httpx.ConnectError("refused"))
    up = hosts.post(f"{B}/api/chat").respond(
        200, content=ndjson(ollama_chat_lines(["Hello", " owl."]))
    )
    clock = ManualClock()
    model, pool = _routed(clock)

    assert await _story(model) == "Hello owl."
    assert (down.call_count, up.call_count) == (1, 1)
    assert [host.base_url for host in pool.candidates()] == [B]

    assert await _story(model) == "Hello owl."
    assert (down.call_count, up.call_count) == (1, 2)  # the down host is not asked again

    clock.now += 31
    assert {host.base_url for host in pool.candidates()} == {A, B}


async def test_when_every_host_is_down_the_story_fails_as_unavailable(
    hosts: respx.MockRouter,
) -> None:
    for url in (A, B):
        hosts.post(f"{url}/api/chat").mock(side_effect=httpx.ConnectError("refused"))
    model, _ = _routed(ManualClock())
    with pytest.raises(NoHealthyHost) as raised:
        await _story(model)
    assert classify_backend_error(raised.value).code == "LLM_UNAVAILABLE"


def test_the_least_busy_healthy_host_goes_first() -> None:
    _, pool = _routed(ManualClock())
    pool.hosts[0].in_flight = 3
    assert [host.base_url for host in pool.candidates()] == [B, A]


async def test_a_comma_separated_base_url_builds_a_routed_model_and_probes_every_host(
    hosts: respx.MockRouter,
) -> None:
    hosts.get(f"{A}/api/tags").mock(side_effect=httpx.ConnectError("refused"))
    hosts.get(f"{B}/api/tags").respond(200, json={"models": [{"name": "llama3.2:3b"}]})
    config = ProviderConfig(name="ollama", ollama_base_url=f"{A}, {B}", ollama_model="llama3.2:3b")
    assert config.ollama_hosts == [A, B]
    assert isinstance(build_chat_model(config).model, RoutedChatModel)
    status = await probe(config)
    assert status.ready
    assert status.detail.startswith("1 of 2 hosts ready")
