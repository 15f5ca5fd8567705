from __future__ import annotations

import json
from importlib import resources
from typing import cast

import pytest

from workflows.policy import SEMANTIC_TERM, apply_policy, combine, report, sentence_check
from workflows.safety import load_rule_check
from workflows.safety.classifier import SemanticVerdict, load_semantic_check
from workflows.safety.classifier.model import (
    FIXED_EXCUSE_BELOW,
    MODEL_FILE,
    SAFE,
    parse_safety_model,
)
from workflows.safety.classifier.semantic import Stage
from workflows.state import SafetyIssue, StoryRequest

SPOOKY = SafetyIssue(category="scary", severity="medium", term="zombie", span=(2, 8))
GUN = SafetyIssue(category="weapons", severity="high", term="gun", span=(0, 3))


def _request(age: int, mild_peril: bool, blocked: list[str] | None = None) -> StoryRequest:
    return cast(
        StoryRequest,
        {"child_age": age, "allow_mild_peril": mild_peril, "blocked_topics": blocked or []},
    )


@pytest.mark.parametrize(
    ("age", "mild_peril", "severity"),
    [(6, True, "medium"), (7, False, "medium"), (7, True, "low"), (12, True, "low")],
)
def test_mild_peril_is_allowed_for_older_readers_whose_parent_allows_it(
    age: int, mild_peril: bool, severity: str
) -> None:
    [issue] = apply_policy([SPOOKY], _request(age, mild_peril))
    assert issue["severity"] == severity
    assert report([issue])["approved"] is (severity == "low")


def test_policy_never_softens_other_categories() -> None:
    assert apply_policy([GUN], _request(12, True)) == [GUN]
    assert report([GUN]) == {"approved": False, "score": 0.5, "issues": [GUN]}


async def test_the_sentence_check_includes_the_parents_blocked_topics() -> None:
    check = sentence_check(
        load_rule_check(), load_semantic_check(), _request(6, False, ["spiders"])
    )
    assert [issue["category"] for issue in await check("Two spiders danced.")] == ["blocked_topic"]
    assert await check("Two ladybirds danced.") == []


async def test_the_sentence_check_adds_the_classifier_to_the_rules() -> None:
    check = sentence_check(load_rule_check(), load_semantic_check(), _request(6, False))
    # No word of it is on a list; its meaning is what is wrong.
    [issue] = await check("Then the man told Lily to take off all her clothes and keep it secret.")
    assert issue["term"] == SEMANTIC_TERM
    assert issue["severity"] == "high"
    assert issue["category"] in {"sexual", "manipulation"}
    assert (
        load_rule_check().find_issues(
            "Then the man told Lily to take off all her clothes and keep it secret."
        )
        == []
    )


async def test_the_rules_alone_when_no_classifier_is_given() -> None:
    check = sentence_check(load_rule_check(), None, _request(6, False))
    assert (
        await check("Then the man told Lily to take off all her clothes and keep it secret.") == []
    )


def _verdict(unsafe: float, *, excuses: bool, stage: Stage = "encoder") -> SemanticVerdict:
    return SemanticVerdict(
        unsafe=unsafe, category=SAFE, stage=stage, blocked=False, excuses=excuses
    )


def test_the_encoders_reading_excuses_a_listed_word_only_when_it_says_so() -> None:
    rules = load_rule_check()
    [name] = rules.find_issues("Grandad Dick steered the narrowboat.")
    assert name["severity"] == "high"
    [excused] = combine(rules, [name], _verdict(0.3, excuses=True), (0, 10))
    assert excused["severity"] == "low"
    assert combine(rules, [name], _verdict(0.3, excuses=False), (0, 10)) == [name]


def test_personal_data_is_never_excused() -> None:
    rules = load_rule_check()
    asked = SafetyIssue(category="personal_data", severity="high", term="address", span=(0, 7))
    assert combine(rules, [asked], _verdict(0.0, excuses=True), (0, 7)) == [asked]


def test_the_model_file_names_where_its_encoder_excuses_and_old_files_keep_the_fixed_value() -> (
    None
):
    document = json.loads(
        resources.files("workflows.safety.classifier").joinpath(MODEL_FILE).read_text("utf-8")
    )
    model = parse_safety_model(document)
    assert model.excuse_below == document.get("excuse_below", FIXED_EXCUSE_BELOW)
    older = {key: value for key, value in document.items() if key != "excuse_below"}
    assert parse_safety_model(older).excuse_below == FIXED_EXCUSE_BELOW
    assert parse_safety_model({**document, "excuse_below": 0.83}).excuse_below == 0.83
