from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from backend.app import create_app
from backend.settings import Settings
from tests.databases import postgres_database, sqlite_url
from tests.support import Report, make_settings, sign_up

ClientFactory = Callable[[], httpx.AsyncClient]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database per test: a SQLite file always, PostgreSQL when reachable."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url, scripted_text=None)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    service = create_app(settings)
    async with service.router.lifespan_context(service):
        yield service


@pytest.fixture
async def new_client(app: FastAPI) -> AsyncIterator[ClientFactory]:
    """Makes clients of the running app, each with its own identity (headers)."""
    clients: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://storystream.test"
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def anonymous(new_client: ClientFactory) -> httpx.AsyncClient:
    return new_client()


@pytest.fixture
async def client(new_client: ClientFactory) -> httpx.AsyncClient:
    """A client signed in as a new parent."""
    client = new_client()
    await sign_up(client)
    return client


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.databases import drop_template

    drop_template()


@pytest.fixture
def report(
    capsys: pytest.CaptureFixture[str], record_property: Callable[[str, object], None]
) -> Report:
    """Prints a measured value past pytest's capture, and records it in the junit report."""

    def show(name: str, value: str) -> None:
        with capsys.disabled():
            print(f"\nsafety evaluation: {name}: {value}", end="")
        record_property(name, value)

    return show
