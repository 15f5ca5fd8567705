"""Choosing between safety models on training data (`workflows/safety/training/compare.py`):
the criterion's units, their score, and each model judging through its own gate."""

from __future__ import annotations

import numpy as np

from tests.workflows.test_training_threshold import ONE_EACH
from workflows.safety.classifier.model import SAFE, load_safety_model
from workflows.safety.training.compare import (
    POISONED_STORY_UNIT,
    criterion_units,
    gate_blocked,
    read_safety_model,
    score,
    set_texts,
)
from workflows.safety.training.dataset import RULE_SETS, Example, load_examples

UNITS = [
    Example("He stabbed the guard.", "violence", "violence"),
    Example("She cut herself again.", "self_harm", "self_harm"),
    Example("We baked a cake.", SAFE, "cooking"),
    Example("The sun rose.", SAFE, "story ferry", story="s.jsonl:1"),
    Example("The boat left.", SAFE, "story ferry", story="s.jsonl:1"),
    Example("A quiet night.", SAFE, "story zoo", story="s.jsonl:2"),
    Example("Come to my van alone.", "manipulation", "manipulation", buried=True),
]


def test_the_criterion_takes_the_sets_validation_units_but_no_poisoned_storys_safe_units() -> None:
    examples = [
        Example("from the set, validation", SAFE, "idiom"),
        Example("from the set, training", SAFE, "idiom"),
        Example("elsewhere, validation", SAFE, "idiom"),
        Example("a safe unit of a poisoned story", SAFE, POISONED_STORY_UNIT, "p.jsonl:1"),
    ]
    texts = {"from the set, validation", "from the set, training", examples[3].text}
    assert criterion_units(examples, [0, 2, 3], texts) == [examples[0]]


def test_a_retired_sets_texts_are_its_units_in_training() -> None:
    texts = set_texts(["k"])
    sentences = load_examples(sorted((RULE_SETS / "heldout_k").glob("*.jsonl")))
    assert {example.text for example in sentences} <= texts
    assert len(texts) > len(sentences)  # its whole stories' units too


def test_the_score_counts_each_kind_of_mistake() -> None:
    # One unsafe sentence of two passed, the benign one passed, one story of two touched, the
    # buried sentence held back.
    blocked = [True, False, False, False, True, False, True]
    result = score(UNITS, blocked, ONE_EACH)
    assert result.n == {"unsafe": 2, "benign": 1, "stories": 2, "buried": 1}
    assert (result.unsafe_held, result.benign_passed) == (0.5, 1.0)
    assert (result.stories_untouched, result.buried_held) == (0.5, 1.0)
    assert result.cost == 3.0 * 0.5 + 1.0 * 0.5


async def test_each_model_judges_through_its_own_gate() -> None:
    packaged = load_safety_model()
    model = read_safety_model(RULE_SETS.parents[2] / "workflows" / "safety" / "classifier")
    assert model.block_at == packaged.block_at
    assert np.array_equal(model.head.weights, packaged.head.weights)
    blocked = await gate_blocked(
        model,
        [
            "The soldiers shot the villagers and left their bodies in the square.",
            "The children planted sunflowers along the garden fence.",
        ],
    )
    assert blocked == [True, False]
