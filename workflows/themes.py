"""The curated theme catalogue, read from `prompts/themes.json`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from workflows.state import ThemeSpec


@dataclass(frozen=True)
class Theme:
    id: str
    title: str
    description: str
    min_age: int
    max_age: int
    guidance: str
    fallback_question: str
    fallback_choices: tuple[str, ...]

    def suits_age(self, age: int) -> bool:
        return self.min_age <= age <= self.max_age

    def spec(self) -> ThemeSpec:
        return ThemeSpec(
            id=self.id,
            title=self.title,
            description=self.description,
            guidance=self.guidance,
            fallback_question=self.fallback_question,
            fallback_choices=list(self.fallback_choices),
        )


@cache
def load_theme_catalogue() -> Mapping[str, Theme]:
    raw = json.loads(resources.files("prompts").joinpath("themes.json").read_text("utf-8"))
    themes = {}
    for entry in raw["themes"]:
        theme = Theme(**{**entry, "fallback_choices": tuple(entry["fallback_choices"])})
        themes[theme.id] = theme
    return themes
