"""Liveness and readiness probes."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from backend.api.deps import ServicesDep
from workflows.providers import probe

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]
    live_runs: int


class Check(BaseModel):
    ok: bool
    detail: str


class SafetyChecks(BaseModel):
    checks: list[str] = Field(
        description="What judges each chapter: the rules and the semantic classifier on every "
        "sentence as it streams, and the LLM judge on the whole chapter when there is one."
    )
    judge: Literal["none", "llama_guard", "rubric"]
    judge_chosen_because: str


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    database: Check
    llm: Check
    provider: str
    model: str
    provider_chosen_because: str
    safety: SafetyChecks


@router.get("/healthz", response_model=Health)
async def healthz(services: ServicesDep) -> Health:
    """The process is up and serving."""
    return Health(status="ok", live_runs=services.runs.live_runs)


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is not reachable."}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """The database answers and the story model backend can serve the configured model."""
    try:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        database = Check(ok=True, detail="database answers")
    except Exception as exc:
        # The driver's message (hosts, users, versions) goes to the log, not to the caller.
        logger.warning("readiness: the database does not answer: %r", exc)
        database = Check(ok=False, detail="database unreachable")
    provider = await probe(services.provider)
    if not provider.ready:
        logger.warning("readiness: the story model backend is not ready: %s", provider.detail)
    llm = Check(
        ok=provider.ready,
        detail=provider.detail
        if provider.ready
        else f"story model ({provider.provider}) not ready",
    )
    ready = database.ok and llm.ok
    body = Readiness(
        status="ready" if ready else "not ready",
        database=database,
        llm=llm,
        provider=provider.provider,
        model=provider.model,
        provider_chosen_because=services.provider.chosen_because,
        safety=SafetyChecks(
            checks=["rules", "semantic classifier"]
            + ([] if services.judge.kind == "none" else [f"LLM judge ({services.judge.kind})"]),
            judge=services.judge.kind,
            judge_chosen_because=services.judge.chosen_because,
        ),
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
    )
