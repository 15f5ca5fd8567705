"""What every node of a run may use: the chat model and the data the prompts and checks read."""

from __future__ import annotations

from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel

from workflows.judges import SafetyJudge
from workflows.prompts import PromptLibrary, load_prompt_library
from workflows.safety import RuleCheck, load_rule_check
from workflows.safety.classifier import SemanticCheck, load_semantic_check
from workflows.story_prompt import PromptProfile


@dataclass(frozen=True)
class StoryContext:
    model: BaseChatModel
    prompts: PromptLibrary = field(default_factory=load_prompt_library)
    safety: RuleCheck = field(default_factory=load_rule_check)
    # The semantic sentence check beside the rules; every gated sentence goes through both.
    classifier: SemanticCheck = field(default_factory=load_semantic_check)
    # Blocked sentences repaired in place (the model continues from the last shown sentence)
    # per chapter, before a whole draft is rewritten.
    max_repairs: int = 3
    # An LLM judge for the whole chapter, when one is configured.
    judge: SafetyJudge | None = None
    # The prompt files for the story model: "embedded" for the small in-process model.
    profile: PromptProfile = "standard"
