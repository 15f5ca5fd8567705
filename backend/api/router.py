"""Collects every resource router under `/api/v1`."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api import children, runs, stories, themes

api_router = APIRouter(prefix="/api/v1")
# runs first: its `/stories/generate/stream` must match before `/stories/{story_id}`.
api_router.include_router(runs.router)
api_router.include_router(children.router)
api_router.include_router(stories.router)
api_router.include_router(themes.router)
