"""The fine-tuning loss. PyTorch is a training-only dependency (`make train-safety`); where it
is not installed (the service's and CI's environment) these tests are skipped and say so."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is only installed to retrain the model")

from workflows.safety.training.finetune import weighted_smoothed_loss  # noqa: E402


def test_without_weights_or_smoothing_the_loss_is_plain_cross_entropy() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]])
    targets = torch.tensor([0, 2])
    expected = torch.nn.functional.cross_entropy(logits, targets)
    got = weighted_smoothed_loss(logits, targets, torch.ones(3), 0.0)
    assert torch.allclose(got, expected)


def test_a_class_weight_scales_only_its_own_sentences_not_the_smoothing_of_others() -> None:
    # One safe sentence (class 0); the unsafe class 1 weighs 50 times more. The smoothing term
    # must not pull the safe sentence towards class 1 harder than towards class 2.
    weights = torch.tensor([1.0, 50.0, 1.0])
    logits = torch.zeros(1, 3, requires_grad=True)
    loss = weighted_smoothed_loss(logits, torch.tensor([0]), weights, 0.1)
    loss.backward()
    assert logits.grad is not None
    gradient = logits.grad[0]
    assert torch.allclose(gradient[1], gradient[2])
    # The optimum of a safe sentence's loss is its smoothed target: 0.9 + 0.1 / 3 on "safe".
    trained = torch.zeros(1, 3, requires_grad=True)
    optimiser = torch.optim.SGD([trained], lr=1.0)
    for _ in range(500):
        optimiser.zero_grad()
        weighted_smoothed_loss(trained, torch.tensor([0]), weights, 0.1).backward()
        optimiser.step()
    safe = torch.softmax(trained, dim=-1)[0, 0].item()
    assert safe == pytest.approx(0.9 + 0.1 / 3, abs=1e-3)


def test_the_mean_is_weighted_by_each_sentence_s_class() -> None:
    logits = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    targets = torch.tensor([0, 1])
    per_sentence = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    got = weighted_smoothed_loss(logits, targets, torch.tensor([3.0, 1.0]), 0.0)
    assert torch.allclose(got, (3.0 * per_sentence[0] + per_sentence[1]) / 4.0)
