"""Stream tickets never reach the access log (issue 13, finding 7): uvicorn logs each request's
path with its query string, and `EventSource` clients send their ticket there."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx

from backend.app import create_app
from tests.support import STORY_TEXT, LiveServer, collect, create_child, make_settings, sign_up


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_the_access_log_shows_ticket_redacted_never_the_ticket(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, scripted_text=STORY_TEXT))
    access = logging.getLogger("uvicorn.access")
    with LiveServer(app, log_level="info") as server:
        captured = _Lines()
        access.addHandler(captured)
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                await sign_up(client)
                child_id = await create_child(client)
                ticket = (
                    await client.post("/api/v1/stream-tickets", json={"child_id": child_id})
                ).json()["ticket"]
                del client.headers["Authorization"]
                frames = await collect(
                    client,
                    "/api/v1/stories/generate/stream",
                    params={"child_id": child_id, "theme": "space", "ticket": ticket},
                )
        finally:
            access.removeHandler(captured)
    assert frames[-1].event == "complete"
    streams = [line for line in captured.lines if "/stories/generate/stream" in line]
    assert len(streams) == 1, captured.lines
    assert f"child_id={child_id}&theme=space&ticket=<redacted>" in streams[0]
    assert " 200" in streams[0]
    assert not any(ticket in line for line in captured.lines)
    assert not any(ticket.split(".")[1] in line for line in captured.lines)
