"""The theme catalogue, and the custom themes a family adds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from backend.api.access import CallerDep, ParentDep
from backend.api.chapters import custom_theme_id
from backend.api.deps import SessionDep
from backend.api.schemas import MAX_CHILD_AGE, MIN_CHILD_AGE, CustomThemeCreate, ThemeRead
from backend.api.text_checks import refuse_unsafe_text
from backend.db.models import CustomTheme
from workflows.themes import load_theme_catalogue

router = APIRouter(prefix="/themes", tags=["themes"])


def _custom_read(theme: CustomTheme) -> ThemeRead:
    return ThemeRead(
        id=custom_theme_id(theme),
        title=theme.title,
        description=theme.description,
        min_age=MIN_CHILD_AGE,
        max_age=MAX_CHILD_AGE,
        custom=True,
    )


@router.get("", response_model=list[ThemeRead])
async def list_themes(
    caller: CallerDep,
    session: SessionDep,
    age: Annotated[int | None, Query(ge=MIN_CHILD_AGE, le=MAX_CHILD_AGE)] = None,
) -> list[ThemeRead]:
    """The catalogue and the family's custom themes, or only those suited to a child of `age`."""
    themes = [
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
    custom = await session.scalars(
        select(CustomTheme)
        .where(CustomTheme.parent_id == caller.parent_id)
        .order_by(CustomTheme.id)
    )
    return themes + [_custom_read(theme) for theme in custom]


@router.post("/custom", status_code=status.HTTP_201_CREATED, response_model=ThemeRead)
async def create_custom_theme(
    body: CustomThemeCreate, parent: ParentDep, session: SessionDep
) -> ThemeRead:
    """Add a family theme; it is checked by the safety rules before it is saved."""
    refuse_unsafe_text("title", body.title)
    refuse_unsafe_text("description", body.description)
    theme = CustomTheme(parent_id=parent.parent_id, title=body.title, description=body.description)
    session.add(theme)
    await session.commit()
    return _custom_read(theme)
