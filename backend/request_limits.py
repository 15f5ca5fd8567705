"""Bounds on what a request may make the service read (issue 13, finding 8).

A pure ASGI middleware, so streamed responses pass through untouched: request headers past
`max_header_bytes` in all are refused with 431 before the application sees them, and a body past
`max_body_bytes` with 413, before it is kept or parsed: at once when `Content-Length` says so,
or as soon as a chunked body grows past the limit. (The review saw a 12 MB JSON list take
the server from 273 to 395 MB before its 422.)
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# A refused body is still read (and dropped) up to this much, so that the client, which is
# usually still sending it, reads the 413 instead of a reset connection; past it, the
# connection is closed.
DRAIN_BYTES = 16 * 1024 * 1024


async def _drain(receive: Receive, already: int) -> None:
    drained = already
    while drained <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    def _body_detail(self) -> str:
        return f"the request body is larger than {self.max_body_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if sum(len(name) + len(value) for name, value in headers) > self.max_header_bytes:
            await _refuse(
                send, 431, f"the request headers are larger than {self.max_header_bytes} bytes"
            )
            return
        for name, value in headers:
            if name == b"content-length" and (
                not value.isdigit() or int(value) > self.max_body_bytes
            ):
                await _drain(receive, 0)
                await _refuse(send, 413, self._body_detail())
                return
        if not any(name in (b"content-length", b"transfer-encoding") for name, _ in headers):
            await self.app(scope, receive, send)
            return
        # A body within the limit is read here, then handed to the application as one message.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body arrived
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                if message.get("more_body", False):
                    await _drain(receive, size)
                await _refuse(send, 413, self._body_detail())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
