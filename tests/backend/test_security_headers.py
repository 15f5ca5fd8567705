"""Security headers and caching (issue 13, finding 9), CORS only for configured origins, and the
API docs switch."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from backend.app import create_app
from backend.security_headers import APP_CSP, DOCS_CSP
from tests.support import PASSWORD, STORY_TEXT, create_child, make_settings, running, sign_up

DOCS_ROUTES = ("/docs", "/redoc", "/openapi.json")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def _security(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers.get(name, "") for name in SECURITY_HEADERS}


async def test_every_answer_carries_the_security_headers(tmp_path: Path) -> None:
    async with running(create_app(make_settings(tmp_path, scripted_text=STORY_TEXT))) as client:
        answers = [
            await client.get("/healthz"),
            await client.get("/api/v1/children"),  # 401
            await client.get("/api/v1/nowhere"),  # 404
            await client.post("/api/v1/auth/login", json={"email": "x"}),  # 422
        ]
        for answer in answers:
            assert _security(answer) == SECURITY_HEADERS, answer.request.url
            assert answer.headers["content-security-policy"] == APP_CSP
            assert "frame-ancestors 'none'" in APP_CSP
        docs = await client.get("/docs")
        assert docs.headers["content-security-policy"] == DOCS_CSP


async def test_answers_that_carry_tokens_are_never_cached(tmp_path: Path) -> None:
    async with running(create_app(make_settings(tmp_path, scripted_text=STORY_TEXT))) as client:
        await client.post(
            "/api/v1/auth/register", json={"email": "ana@example.com", "password": PASSWORD}
        )
        login = await client.post(
            "/api/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD}
        )
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
        )
        child_id = await create_child(client)
        device = await client.post(f"/api/v1/children/{child_id}/device-tokens", json={})
        ticket = await client.post("/api/v1/stream-tickets", json={"child_id": child_id})
        for answer in (login, refreshed, device, ticket):
            assert answer.status_code in (200, 201), answer.text
            assert answer.headers["cache-control"] == "no-store", answer.request.url
        # Event streams keep the wire contract's own caching header.
        async with client.stream(
            "GET",
            "/api/v1/stories/generate/stream",
            params={"child_id": child_id, "theme": "space"},
        ) as stream:
            assert stream.headers["cache-control"] == "no-cache"
            assert stream.headers["x-content-type-options"] == "nosniff"
            async for _ in stream.aiter_bytes():
                pass


async def test_cross_origin_requests_are_refused_unless_the_origin_is_configured(
    tmp_path: Path,
) -> None:
    preflight = {
        "Origin": "https://stories.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async with running(create_app(make_settings(tmp_path))) as client:
        closed = await client.options("/api/v1/runs", headers=preflight)
        assert "access-control-allow-origin" not in closed.headers
    settings = make_settings(tmp_path, cors_origins="https://stories.example.com")
    async with running(create_app(settings)) as client:
        opened = await client.options("/api/v1/runs", headers=preflight)
        assert opened.status_code == 200
        assert opened.headers["access-control-allow-origin"] == "https://stories.example.com"
        other = await client.options(
            "/api/v1/runs", headers={**preflight, "Origin": "https://evil.example.com"}
        )
        assert "access-control-allow-origin" not in other.headers
        await sign_up(client)
        simple = await client.get(
            "/api/v1/children", headers={"Origin": "https://stories.example.com"}
        )
        assert simple.headers["access-control-allow-origin"] == "https://stories.example.com"


async def _docs_statuses(app: FastAPI) -> list[int]:
    # These routes need no services, so the app is called without its lifespan.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://storystream.test") as client:
        return [(await client.get(path)).status_code for path in DOCS_ROUTES]


async def test_api_docs_are_off_in_production_unless_asked_for(tmp_path: Path) -> None:
    production = {"env": "production", "jwt_secret": "a" * 40, "llm_provider": "local"}
    assert await _docs_statuses(create_app(make_settings(tmp_path, **production))) == [404] * 3
    asked = create_app(make_settings(tmp_path, **production, api_docs=True))
    assert await _docs_statuses(asked) == [200] * 3
    assert await _docs_statuses(create_app(make_settings(tmp_path, api_docs=False))) == [404] * 3
    assert await _docs_statuses(create_app(make_settings(tmp_path))) == [200] * 3
