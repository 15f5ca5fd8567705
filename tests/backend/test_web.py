"""The web app shell (backend/web.py): built files, the single-page fallback, and the paths
that stay the service's own."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from backend.app import create_app
from backend.web import NOT_BUILT, install_web_app
from tests.support import make_settings


def _app(dist: Path) -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/things")
    async def create_thing() -> dict[str, str]:
        return {"made": "yes"}

    install_web_app(app, dist)
    return app


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<html>the app</html>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    return tmp_path


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web.test")


async def test_every_page_path_opens_the_app_and_files_are_served(dist: Path) -> None:
    async with await _client(_app(dist)) as client:
        for path in ("/", "/parent", "/library/series/3"):
            page = await client.get(path)
            assert (page.status_code, page.text) == (200, "<html>the app</html>")
            assert page.headers["cache-control"] == "no-cache"
        script = await client.get("/assets/index-abc123.js")
        assert script.text == "console.log(1)"
        assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert script.headers["content-type"].startswith("text/javascript")
        assert (await client.get("/favicon.svg")).text == "<svg/>"
        assert (await client.head("/parent")).status_code == 200


async def test_api_docs_and_probe_paths_never_get_the_app(dist: Path) -> None:
    async with await _client(_app(dist)) as client:
        for path in ("/api/v1/nothing", "/api", "/docs/x", "/healthz", "/metrics"):
            missing = await client.get(path)
            assert missing.status_code == 404, path
            assert missing.json() == {"detail": "Not Found"}
        assert (await client.get("/api/v1/things")).status_code == 405
        assert (await client.post("/parent")).status_code == 404
        assert (await client.get("/assets/index-old999.js")).status_code == 404


async def test_paths_outside_the_build_are_not_served(dist: Path, tmp_path: Path) -> None:
    (tmp_path.parent / "secret.txt").write_text("no")
    async with await _client(_app(dist)) as client:
        escaped = await client.get("/..%2Fsecret.txt")
        assert escaped.text == "<html>the app</html>"


async def test_without_a_build_the_root_says_how_to_build_it(tmp_path: Path) -> None:
    async with await _client(_app(tmp_path / "missing")) as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert page.text == NOT_BUILT


async def test_the_service_serves_the_app_at_its_root_under_its_csp(tmp_path: Path) -> None:
    from backend.app import create_app
    from backend.security_headers import APP_CSP
    from tests.support import make_settings, running

    async with running(create_app(make_settings(tmp_path))) as client:
        page = await client.get("/parent")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == APP_CSP
        missing = await client.get("/api/v1/no-such-route")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
        assert (await client.get("/docs")).status_code == 200


async def test_the_service_serves_the_web_app_from_the_folder_its_settings_name(
    dist: Path, tmp_path: Path
) -> None:
    # The Docker image builds the app outside the package and points STORYSTREAM_WEB_DIST at it.
    app = create_app(make_settings(tmp_path, web_dist=dist))
    async with await _client(app) as client:
        page = await client.get("/library")
        assert (page.status_code, page.text) == (200, "<html>the app</html>")
