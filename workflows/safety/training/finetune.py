"""Fine-tunes the top layers of all-MiniLM-L6-v2 and a softmax head with PyTorch, and exports the
change as a small adapter the service merges into the packaged weights.

Training only: the service runs the result in NumPy (`workflows.safety.classifier.encoder`).
Tokenisation is the packaged `tokenizers` file the service uses, and the features are the
service's own (the unit-length mean embedding, times `MEAN_SCALE`, beside the max-pooled hidden
state), so what is trained here is what runs there.

The export keeps the repository small: each fine-tuned weight matrix W' is stored as a rank-r
factorisation of its change, W' - W ~ B @ A (truncated SVD), and the layer's biases and norms,
which are small, as they are. `--rank` trades size for fidelity; the training script measures the
exported adapter through the NumPy encoder, so its figures are those of what ships.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from transformers import BertModel

from workflows.safety.classifier.encoder import (
    ADAPTER_A,
    ADAPTER_B,
    Adapter,
    load_tokenizer,
    model_directory,
)

# The mean embedding has unit length while the max-pooled state is of order one per dimension;
# scaling it keeps both in reach of one learning rate. Folded into the exported head.
MEAN_SCALE = 10.0


@dataclass(frozen=True)
class FineTuneConfig:
    layers: int = 6  # layers trained: all six since round 9 (chosen on set h); embeddings frozen
    rank: int = 64  # of the exported change of each weight matrix
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    epochs: int = 4
    batch_size: int = 32
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    # "class-weighted": PyTorch's CrossEntropyLoss(weight=..., label_smoothing=...), rounds 1-10
    # and the shipped model; "even": `weighted_smoothed_loss`, round 11's candidate B, not kept.
    smoothing: Literal["class-weighted", "even"] = "class-weighted"
    seed: int = 0


@dataclass(frozen=True)
class FineTuned:
    adapter: Adapter
    head_weights: np.ndarray  # (features, labels), for the service's unscaled features
    head_bias: np.ndarray


def weighted_smoothed_loss(logits: Any, targets: Any, class_weights: Any, smoothing: float) -> Any:
    """Cross-entropy against evenly label-smoothed targets, each sentence weighted by its class.

    PyTorch's `CrossEntropyLoss(weight=..., label_smoothing=...)` weights the smoothing term of
    every class by that class's weight, so with the rare unsafe classes weighted some 50 times
    the safe one, every safe sentence is pulled towards the unsafe classes: round 10's encoder
    scores no benign sentence below about 0.8 unsafe. This loss smooths evenly and spreads the
    scores (benign sentences from about 0.1), but measured in round 11 it ranked worse (area
    under the ROC curve, set j's unsafe sentences against its benign story units: 0.990 against
    0.996; README, round 11), so the squeezed loss stays the default and this is an option."""
    count = logits.shape[-1]
    log_probabilities = torch.log_softmax(logits, dim=-1)
    target = torch.full_like(log_probabilities, smoothing / count)
    target.scatter_(1, targets.unsqueeze(1), 1.0 - smoothing + smoothing / count)
    per_sentence = -(target * log_probabilities).sum(dim=-1)
    weights = class_weights[targets]
    return (per_sentence * weights).sum() / weights.sum()


def fine_tune(
    texts: Sequence[str], labels: Sequence[int], label_count: int, config: FineTuneConfig
) -> FineTuned:
    torch.manual_seed(config.seed)
    generator = np.random.default_rng(config.seed)
    tokenizer = load_tokenizer(model_directory())
    # Eager attention takes the additive mask the cached-prefix forward pass builds.
    bert = BertModel.from_pretrained(str(model_directory()), attn_implementation="eager")
    original = {name: value.detach().clone() for name, value in bert.state_dict().items()}
    for parameter in bert.parameters():
        parameter.requires_grad = False
    first_trained = bert.config.num_hidden_layers - config.layers
    for layer in bert.encoder.layer[first_trained:]:
        for parameter in layer.parameters():
            parameter.requires_grad = True
    width = bert.config.hidden_size
    head = nn.Linear(2 * width, label_count)
    groups: list[dict[str, Any]] = [
        {"params": [p for p in bert.parameters() if p.requires_grad]},
        {"params": list(head.parameters()), "lr": config.head_learning_rate},
    ]
    optimiser = torch.optim.AdamW(
        groups,
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
    )
    counts = np.bincount(np.asarray(labels), minlength=label_count)
    class_weights = torch.tensor(
        len(labels) / (label_count * np.maximum(counts, 1)), dtype=torch.float32
    )
    # Label smoothing keeps the head from near-certain answers on what it has barely seen.
    torch_loss = nn.CrossEntropyLoss(weight=class_weights, label_smoothing=config.label_smoothing)

    def loss_function(logits: Any, targets: Any) -> Any:
        if config.smoothing == "even":
            return weighted_smoothed_loss(logits, targets, class_weights, config.label_smoothing)
        return torch_loss(logits, targets)

    # The frozen embeddings and lower layers give the same output every epoch: run them once.
    encodings = tokenizer.encode_batch(list(texts))
    lengths = np.array([sum(encoding.attention_mask) for encoding in encodings])
    ids = [encoding.ids[:length] for encoding, length in zip(encodings, lengths, strict=True)]
    frozen_output = _frozen_prefix(bert, ids, lengths, first_trained)
    _check_prefix(bert, ids[:8], frozen_output[:8], first_trained)

    def features(chosen: np.ndarray) -> Any:
        width_of_batch = int(lengths[chosen].max())
        hidden = torch.zeros(len(chosen), width_of_batch, width)
        mask = torch.zeros(len(chosen), width_of_batch)
        for row, index in enumerate(chosen):
            hidden[row, : lengths[index]] = frozen_output[index]
            mask[row, : lengths[index]] = 1.0
        additive = ((1.0 - mask) * torch.finfo(torch.float32).min)[:, None, None, :]
        for layer in bert.encoder.layer[first_trained:]:
            hidden = layer(hidden, attention_mask=additive)
        weights = mask.unsqueeze(-1)
        mean = nn.functional.normalize((hidden * weights).sum(1) / weights.sum(1), dim=-1)
        peak = hidden.masked_fill(weights == 0, -1e4).max(1).values
        return torch.cat([mean * MEAN_SCALE, peak], dim=-1)

    bert.train()
    targets = np.asarray(labels)
    for epoch in range(config.epochs):
        total = 0.0
        for chosen in _length_batches(generator, lengths, config.batch_size):
            logits = head(features(chosen))
            loss = loss_function(logits, torch.tensor(targets[chosen]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.item()) * len(chosen)
        print(f"  epoch {epoch + 1}/{config.epochs}: loss {total / len(texts):.4f}", flush=True)

    adapter = export_adapter(original, bert.state_dict(), first_trained, config.rank)
    weights = head.weight.detach().numpy().T.astype(np.float64)
    weights[:width] *= MEAN_SCALE  # the service feeds the unscaled mean embedding
    return FineTuned(
        adapter=adapter,
        head_weights=weights.astype(np.float32),
        head_bias=head.bias.detach().numpy().astype(np.float32),
    )


def _frozen_prefix(
    bert: Any, ids: list[list[int]], lengths: np.ndarray, first_trained: int
) -> list[Any]:
    """Each sentence's hidden state after the frozen layers (unpadded), computed once."""
    outputs: list[Any] = [None] * len(ids)
    order = np.argsort(lengths, kind="stable")  # similar lengths together: little padding
    bert.train(False)  # no dropout: the frozen part is a fixed function
    with torch.no_grad():
        for start in range(0, len(order), 64):
            chosen = order[start : start + 64]
            width = int(lengths[chosen].max())
            batch = torch.zeros(len(chosen), width, dtype=torch.long)
            mask = torch.zeros(len(chosen), width)
            for row, index in enumerate(chosen):
                batch[row, : lengths[index]] = torch.tensor(ids[index])
                mask[row, : lengths[index]] = 1.0
            hidden = bert.embeddings(input_ids=batch)
            additive = ((1.0 - mask) * torch.finfo(torch.float32).min)[:, None, None, :]
            for layer in bert.encoder.layer[:first_trained]:
                hidden = layer(hidden, attention_mask=additive)
            for row, index in enumerate(chosen):
                outputs[index] = hidden[row, : lengths[index]].clone()
    return outputs


def _check_prefix(bert: Any, ids: list[list[int]], prefix: list[Any], first_trained: int) -> None:
    """The cached path must equal the model's own forward pass, or training would learn
    something the service does not run."""
    bert.train(False)
    with torch.no_grad():
        for sentence, cached in zip(ids, prefix, strict=True):
            hidden = bert(input_ids=torch.tensor([sentence]), output_hidden_states=True)
            expected = hidden.hidden_states[first_trained][0]
            if not torch.allclose(expected, cached, atol=1e-4):
                raise RuntimeError("the cached frozen layers differ from BertModel's forward pass")


def _length_batches(generator: Any, lengths: np.ndarray, size: int) -> list[np.ndarray]:
    """Shuffled batches of sentences of similar length (shuffled in pools of 50 batches, then
    sorted by length within a pool), so little of each batch is padding."""
    order = generator.permutation(len(lengths))
    batches: list[np.ndarray] = []
    pool = 50 * size
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
    return [batches[i] for i in generator.permutation(len(batches))]


def export_adapter(
    original: dict[str, Any], tuned: dict[str, Any], first_trained: int, rank: int
) -> Adapter:
    """Each changed weight matrix as a rank-`rank` B @ A of its change; changed vectors whole."""
    adapter: Adapter = {}
    for name, value in tuned.items():
        parts = name.split(".")
        if len(parts) < 3 or parts[0] != "encoder" or int(parts[2]) < first_trained:
            continue
        change = (value - original[name]).numpy().astype(np.float64)
        if change.ndim == 2:
            u, s, vt = np.linalg.svd(change, full_matrices=False)
            adapter[name + ADAPTER_B] = (u[:, :rank] * s[:rank]).astype(np.float16)
            adapter[name + ADAPTER_A] = vt[:rank].astype(np.float16)
        else:
            adapter[name] = value.numpy().astype(np.float32)
    return adapter
