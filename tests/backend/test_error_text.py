"""Error text from drivers and backends stays in the log (issue 13, finding 12): `/readyz` says
which dependency is down, and a failed run's message is StoryStream's wording of its code."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from backend.app import create_app
from tests.support import STORY_TEXT, collect, create_child, make_settings, running, sign_up

DRIVER_WORDS = 'password authentication failed for user "storystream" at 10.0.0.7'


class _RefusingEngine:
    """Stands in for the engine of a database that refuses connections."""

    def connect(self) -> Any:
        raise OperationalError("SELECT 1", {}, Exception(DRIVER_WORDS))


async def test_readyz_names_the_database_without_the_drivers_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(tmp_path))
    async with running(app) as client:
        services = app.state.services
        app.state.services = replace(services, engine=_RefusingEngine())
        try:
            with caplog.at_level(logging.WARNING, logger="backend.api.health"):
                response = await client.get("/readyz")
        finally:
            app.state.services = services
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "detail": "database unreachable"}
    assert DRIVER_WORDS not in response.text
    assert DRIVER_WORDS in caplog.text


async def test_a_failed_runs_message_is_the_wording_of_its_code_and_the_detail_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, scripted_text=STORY_TEXT, scripted_fail_at_token=5)
    async with running(create_app(settings)) as client:
        await sign_up(client)
        child_id = await create_child(client)
        with caplog.at_level(logging.WARNING, logger="backend.runs.executor"):
            frames = await collect(
                client,
                "/api/v1/stories/generate/stream",
                params={"child_id": child_id, "theme": "space"},
            )
        run_id = frames[0].data["run_id"]
        run = (await client.get(f"/api/v1/runs/{run_id}")).json()
    assert frames[-1].data == {
        "type": "error",
        "message": "the story model failed while writing",
        "error_code": "LLM_ERROR",
        "retryable": True,
    }
    assert (run["error_code"], run["error_message"]) == (
        "LLM_ERROR",
        "the story model failed while writing",
    )
    assert f"run {run_id} failed (LLM_ERROR)" in caplog.text
    assert "scripted failure at token 5" in caplog.text
