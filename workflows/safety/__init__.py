"""Child-safety checks of story text, used by the `safety_check` node."""

from workflows.safety.rules import RuleCheck, load_rule_check

__all__ = ["RuleCheck", "load_rule_check"]
