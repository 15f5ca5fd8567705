"""Property-based fuzzing of the HTTP API from its own OpenAPI schema (schemathesis), over a
real socket: whatever the schema allows, and more, never gets a 5xx, and every 4xx is JSON."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from backend.app import create_app
from backend.settings import Settings
from tests.support import PASSWORD, STORY_TEXT, LiveServer, make_settings

schema = schemathesis.openapi.from_dict(
    create_app(Settings(env="test", llm_provider="scripted")).openapi()
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(make_settings(folder, scripted_text=STORY_TEXT))
    with LiveServer(app) as live:
        email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
        credentials = {"email": email, "password": PASSWORD}
        httpx.post(f"{live.url}/api/v1/auth/register", json=credentials, timeout=10)
        token = httpx.post(f"{live.url}/api/v1/auth/login", json=credentials, timeout=10).json()[
            "access_token"
        ]
        headers = {"Authorization": f"Bearer {token}"}
        child = httpx.post(
            f"{live.url}/api/v1/children",
            json={"name": "Mia", "age": 6},
            headers=headers,
            timeout=10,
        ).json()
        httpx.put(
            f"{live.url}/api/v1/children/{child['id']}/themes",
            json={"theme_ids": ["space"]},
            headers=headers,
            timeout=10,
        )
        yield live.url, headers


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_no_input_gets_a_server_error(
    case: schemathesis.Case,  # type: ignore[type-arg]
    server: tuple[str, dict[str, str]],
) -> None:
    base_url, headers = server
    response = case.call(base_url=base_url, headers=headers, timeout=30)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
    if 400 <= response.status_code < 500:
        assert response.headers["content-type"][0].startswith("application/json")
        assert response.json()["detail"]
