from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.app import create_app
from tests.support import LiveServer, make_settings, sign_up

Serve = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    """Start StoryStream under uvicorn on a real socket with these settings; yield a client."""

    @asynccontextmanager
    async def _serve(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(make_settings(tmp_path, **overrides))
        with LiveServer(app) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                await sign_up(client)
                yield client

    return _serve
