"""What every node of a run may use: the chat model and the data the prompts and checks read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel

from workflows.prompts import PromptLibrary, load_prompt_library
from workflows.safety import RuleCheck, load_rule_check
from workflows.themes import Theme, load_theme_catalogue


@dataclass(frozen=True)
class StoryContext:
    model: BaseChatModel
    prompts: PromptLibrary = field(default_factory=load_prompt_library)
    themes: Mapping[str, Theme] = field(default_factory=load_theme_catalogue)
    safety: RuleCheck = field(default_factory=load_rule_check)
