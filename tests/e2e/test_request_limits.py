"""Request bounds over a real socket (issue 13, finding 8): a large JSON body is refused with 413
before it is read or parsed, and an oversized header section with 431 before the application."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import httpx

from tests.e2e.conftest import Serve

TOO_BIG = {"detail": "the request body is larger than 65536 bytes"}


async def test_a_three_megabyte_json_body_gets_413(serve: Serve) -> None:
    async with serve() as client:
        body = json.dumps({"name": "Mia", "age": 6, "interests": ["x" * 30] * 100_000})
        assert len(body) > 3_000_000
        response = await client.post(
            "/api/v1/children", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json() == TOO_BIG
        assert response.headers["x-content-type-options"] == "nosniff"
        # The service goes on serving, and a body under the limit is read as before.
        within = await client.post("/api/v1/children", json={"name": "Mia", "age": 6})
        assert within.status_code == 201


async def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(serve: Serve) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "Mia", "age": 6, "interests": ['
        for _ in range(200):
            yield b'"' + b"x" * 1000 + b'",'
        yield b'"end"]}'

    async with serve() as client:
        response = await client.post(
            "/api/v1/children", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json() == TOO_BIG


async def test_a_one_megabyte_authorization_header_never_reaches_the_application(
    serve: Serve,
) -> None:
    async with serve() as client:
        port = httpx.URL(str(client.base_url)).port
        assert port is not None
        token = "x" * (1024 * 1024)
        request = (
            f"GET /api/v1/children HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 431 Request Header Fields Too Large"
        assert rest.endswith(b'{"detail":"the request headers are larger than 16384 bytes"}')
