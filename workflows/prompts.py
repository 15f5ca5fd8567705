"""The one loader for the templates in `prompts/`; rendering refuses missing or unknown fields."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

TEMPLATE_SUFFIX = ".txt"
_FORMATTER = string.Formatter()


class PromptError(Exception):
    """A template was rendered with missing or unexpected fields, or does not exist."""


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    text: str

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(field for _, field, _, _ in _FORMATTER.parse(self.text) if field)

    def render(self, values: Mapping[str, object]) -> str:
        missing = self.fields - values.keys()
        unexpected = values.keys() - self.fields
        if missing or unexpected:
            raise PromptError(
                f"template {self.name!r}: missing fields {sorted(missing)}, "
                f"unexpected fields {sorted(unexpected)}"
            )
        return self.text.format_map(values)


@dataclass(frozen=True)
class PromptLibrary:
    templates: Mapping[str, PromptTemplate]

    def get(self, name: str) -> PromptTemplate:
        try:
            return self.templates[name]
        except KeyError:
            raise PromptError(f"no prompt template named {name!r}") from None

    def render(self, name: str, **values: object) -> str:
        return self.get(name).render(values)


@cache
def load_prompt_library() -> PromptLibrary:
    """Read every `*.txt` template shipped in the `prompts` package."""
    folder = resources.files("prompts")
    templates = {
        entry.name.removesuffix(TEMPLATE_SUFFIX): PromptTemplate(
            name=entry.name.removesuffix(TEMPLATE_SUFFIX),
            text=entry.read_text(encoding="utf-8").strip(),
        )
        for entry in folder.iterdir()
        if entry.name.endswith(TEMPLATE_SUFFIX)
    }
    return PromptLibrary(templates=templates)
