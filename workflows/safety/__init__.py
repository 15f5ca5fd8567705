"""Child-safety checks of story text, used by the `safety_check` node."""

from workflows.safety.rules import RuleCheck, build_report, load_rule_check
from workflows.safety.terms import WordListError

__all__ = ["RuleCheck", "WordListError", "build_report", "load_rule_check"]
