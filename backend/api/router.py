"""Collects every resource router under `/api/v1`."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api import auth, children, library, live, pairing, runs, themes, tickets

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(auth.router)
api_router.include_router(tickets.router)
# runs before library: `/stories/generate/stream` must match before `/stories/{story_id}`.
api_router.include_router(runs.router)
api_router.include_router(children.router)
api_router.include_router(library.router)
api_router.include_router(themes.router)
api_router.include_router(pairing.router)
api_router.include_router(live.router)
