"""The semantic check's parts: the committed model, the screen, batching across streams, the
adapter merge."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from workflows.safety.classifier import SemanticCheck, SemanticVerdict, load_semantic_check
from workflows.safety.classifier.encoder import ADAPTER_A, ADAPTER_B, Adapter, merge_adapter
from workflows.safety.classifier.model import SAFE, load_safety_model
from workflows.safety.training.dataset import LABELS, training_digest, training_files

UNCERTAIN = [
    "The wolf crept up to the sleeping lamb in the dark.",
    "Grandpa kept his old rifle above the fireplace.",
    "The man at the gate said he had sweets in his car.",
    "Tom found a box of matches under the sink.",
    "The witch laughed as the children ran into the forest.",
    "Uncle Bill poured a tall glass from the brown bottle.",
]


@pytest.fixture
def unscreened(monkeypatch: pytest.MonkeyPatch) -> SemanticCheck:
    """A fresh check (empty cache) whose screen clears nothing: every sentence is encoded."""
    base = load_semantic_check()
    check = SemanticCheck(base.model, base.encoder)
    monkeypatch.setattr(check, "screen", lambda texts: [None] * len(texts))
    return check


def test_the_committed_model_was_trained_on_the_training_files_as_they_are() -> None:
    """Editing a training file without retraining (`make train-safety`) fails here."""
    model = load_safety_model()
    assert model.trained_on["sha256"] == training_digest(training_files())
    assert model.labels == LABELS
    assert 0.0 < model.block_at < 1.0
    assert model.adapter is not None


def test_every_unsafe_category_has_a_label() -> None:
    assert set(load_safety_model().categories) == set(LABELS) - {SAFE}


async def test_a_clearly_unsafe_sentence_is_blocked_with_its_category() -> None:
    check = load_semantic_check()
    [verdict] = await check.judge(
        ["The soldiers shot the villagers and left the bodies by the well."]
    )
    assert verdict.blocked
    assert verdict.stage == "encoder"
    assert verdict.category in {"violence", "weapons"}


async def test_ordinary_story_sentences_pass() -> None:
    check = load_semantic_check()
    verdicts = await check.judge(
        ["Mia counted three bright stars and smiled.", "The little boat rocked on the waves."]
    )
    assert [verdict.blocked for verdict in verdicts] == [False, False]


async def test_judging_off_the_loop_gives_the_same_verdicts_as_on_this_thread() -> None:
    check = SemanticCheck(load_semantic_check().model, load_semantic_check().encoder)
    now = check.judge_now(UNCERTAIN)
    later = await check.judge(UNCERTAIN)
    assert [v.blocked for v in now] == [v.blocked for v in later]
    np.testing.assert_allclose([v.unsafe for v in now], [v.unsafe for v in later], atol=1e-5)


async def test_sentences_of_concurrent_streams_share_encoder_batches(
    unscreened: SemanticCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    check = unscreened
    batches: list[int] = []
    judge = check._encode_and_judge

    def counted(texts: list[str]) -> list[SemanticVerdict]:
        batches.append(len(texts))
        return judge(texts)

    monkeypatch.setattr(check._batcher, "_run", counted)
    verdicts = await asyncio.gather(*(check.judge([text]) for text in UNCERTAIN))
    assert [len(found) for found in verdicts] == [1] * len(UNCERTAIN)
    assert sum(batches) == len(UNCERTAIN)
    assert len(batches) < len(UNCERTAIN)  # the first goes alone, the rest wait and go together


async def test_a_sentence_judged_once_is_not_encoded_again(
    unscreened: SemanticCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    check = unscreened
    first = await check.judge(UNCERTAIN[:2])

    def fail(texts: list[str]) -> list[SemanticVerdict]:
        raise AssertionError(f"encoded again: {texts}")

    monkeypatch.setattr(check._batcher, "_run", fail)
    assert await check.judge(UNCERTAIN[:2]) == first


async def test_an_encoder_failure_reaches_the_caller_and_the_next_batch_still_runs(
    unscreened: SemanticCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    check = unscreened
    judge = check._encode_and_judge
    calls = 0

    def flaky(texts: list[str]) -> list[SemanticVerdict]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("encoder broke")
        return judge(texts)

    monkeypatch.setattr(check._batcher, "_run", flaky)
    with pytest.raises(RuntimeError, match="encoder broke"):
        await check.judge([UNCERTAIN[0]])
    assert len(await check.judge([UNCERTAIN[1]])) == 1


def test_an_adapter_adds_b_a_to_a_matrix_and_replaces_a_vector() -> None:
    weights = {
        "layer.weight": np.eye(3, dtype=np.float32),
        "other.weight": np.ones((2, 2), np.float32),
        "layer.bias": np.zeros(3, np.float32),
    }
    adapter: Adapter = {
        "layer.bias": np.array([1.0, 2.0, 3.0], dtype=np.float32),
        "layer.weight" + ADAPTER_A: np.array([[1.0, 2.0, 3.0]], dtype=np.float16),
        "layer.weight" + ADAPTER_B: np.array([[1.0], [0.0], [2.0]], dtype=np.float16),
    }
    merged = merge_adapter(weights, adapter)
    np.testing.assert_allclose(
        merged["layer.weight"], np.eye(3) + np.array([[1, 2, 3], [0, 0, 0], [2, 4, 6]])
    )
    np.testing.assert_array_equal(merged["layer.bias"], [1.0, 2.0, 3.0])
    assert merged["other.weight"] is weights["other.weight"]
    with pytest.raises(ValueError, match="does not have"):
        merge_adapter({}, adapter)


async def test_the_whole_chapter_check_reuses_the_gates_verdicts(
    unscreened: SemanticCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate judges ' She ran.' with its leading space; safety_check judges 'She ran.'."""
    await unscreened.judge([" " + UNCERTAIN[0], "\n" + UNCERTAIN[1]])

    def fail(texts: list[str]) -> list[SemanticVerdict]:
        raise AssertionError(f"encoded again: {texts}")

    monkeypatch.setattr(unscreened._batcher, "_run", fail)
    assert len(await unscreened.judge(UNCERTAIN[:2])) == 2
