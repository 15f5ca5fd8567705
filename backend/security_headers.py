"""Security headers on every response (issue 13, finding 9), as a pure ASGI middleware so that
event streams pass through untouched.

- `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (a ticket in a stream URL
  must never leave in a Referer), and framing denied (`X-Frame-Options` and CSP
  `frame-ancestors`).
- A Content-Security-Policy for the web app the service serves (scripts, styles, images, fonts
  and connections from this origin only: its `EventSource` and API calls are same-origin). The
  interactive API docs load Swagger UI from its CDN with an inline start-up script, so `/docs`
  and `/redoc` get a policy that allows exactly that.
- `Cache-Control: no-store` on API answers that set no caching of their own: tokens, tickets and
  a family's data never sit in a shared or browser cache. Event streams keep their `no-cache`.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's Swagger UI and ReDoc pages: assets from jsDelivr, an inline script, FastAPI's favicon.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
API_PREFIX = "/api/"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else APP_CSP
        no_store = path.startswith(API_PREFIX)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", csp)
                if no_store:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)
