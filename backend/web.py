"""Serves the built web app (`frontend/dist`): its files, and `index.html` for every other page
path (the single-page fallback), so `/`, `/parent` and `/library` all open the app.

Only GET and HEAD on paths outside the API, the docs and the probes reach it; any other request
keeps the router's own 404 or 405. Without a build (no Node.js on the machine) `/` says how to
build one, and the API is served as before.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.datastructures import URLPath
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

DEFAULT_DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"
# Paths that belong to the service, never to the app.
RESERVED_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/metrics")
# Vite names built assets by content hash: they never change under the same name.
IMMUTABLE = "public, max-age=31536000, immutable"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StoryStream</title></head>
<body><h1>StoryStream</h1>
<p>The web app is not built on this machine: install Node.js 20 or newer and run
<code>make run</code> again. The API is served at <a href="/docs">/docs</a>.</p></body></html>
"""


def _reserved(path: str) -> bool:
    return path == "/api" or path.startswith(RESERVED_PREFIXES)


class AppShell(BaseRoute):
    """The last route: a built file when one exists at the path, otherwise `index.html`."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist.resolve()

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and not _reserved(scope["path"])
        ):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: object) -> URLPath:
        raise NoMatchFound(name, path_params)

    def _file(self, path: str) -> Path | None:
        candidate = (self.dist / path.lstrip("/")).resolve()
        if candidate.is_relative_to(self.dist) and candidate.is_file():
            return candidate
        return None

    def response_for(self, path: str) -> Response:
        index = self.dist / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT)
        found = self._file(path)
        if found is not None and found != index:
            immutable = found.is_relative_to(self.dist / "assets")
            return FileResponse(
                found, headers={"Cache-Control": IMMUTABLE if immutable else "no-cache"}
            )
        if path.startswith("/assets/"):
            # A stale hashed name after a new build: a 404, not the page in place of a script.
            return Response("no such asset", status_code=404, media_type="text/plain")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.response_for(scope["path"])(scope, receive, send)


def install_web_app(app: FastAPI, dist: Path = DEFAULT_DIST) -> None:
    """Add the app shell after every other route."""
    app.router.routes.append(AppShell(dist))
