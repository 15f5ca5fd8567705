"""Stored stories."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.deps import StoryDep
from backend.api.schemas import ErrorBody, StoryRead
from backend.db.models import Story

router = APIRouter(prefix="/stories", tags=["stories"])


@router.get("/{story_id}", response_model=StoryRead, responses={404: {"model": ErrorBody}})
async def read_story(story: StoryDep) -> Story:
    return story
