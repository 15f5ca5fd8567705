"""Child-safety checks of story text; the `safety_check` node and, later, the sentence gate use them."""

from workflows.safety.rules import RuleCheck, load_rule_check

__all__ = ["RuleCheck", "load_rule_check"]
