"""The theme catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.schemas import MAX_CHILD_AGE, MIN_CHILD_AGE, ThemeRead
from workflows.themes import load_theme_catalogue

router = APIRouter(prefix="/themes", tags=["themes"])


@router.get("", response_model=list[ThemeRead])
async def list_themes(
    age: Annotated[int | None, Query(ge=MIN_CHILD_AGE, le=MAX_CHILD_AGE)] = None,
) -> list[ThemeRead]:
    """Every theme, or only those suited to a child of `age`."""
    return [
        ThemeRead(
            id=theme.id,
            title=theme.title,
            description=theme.description,
            min_age=theme.min_age,
            max_age=theme.max_age,
        )
        for theme in load_theme_catalogue().values()
        if age is None or theme.suits_age(age)
    ]
