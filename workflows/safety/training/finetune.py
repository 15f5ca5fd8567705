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
from typing import Any

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
    layers: int = 3  # the top layers trained; the embeddings and lower layers stay frozen
    rank: int = 64  # of the exported change of each weight matrix
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    epochs: int = 5
    batch_size: int = 32
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class FineTuned:
    adapter: Adapter
    head_weights: np.ndarray  # (features, labels), for the service's unscaled features
    head_bias: np.ndarray


def fine_tune(
    texts: Sequence[str], labels: Sequence[int], label_count: int, config: FineTuneConfig
) -> FineTuned:
    torch.manual_seed(config.seed)
    generator = np.random.default_rng(config.seed)
    tokenizer = load_tokenizer(model_directory())
    bert = BertModel.from_pretrained(str(model_directory()))
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
    loss_function = nn.CrossEntropyLoss(
        weight=class_weights, label_smoothing=config.label_smoothing
    )

    def features(batch: Sequence[str]) -> Any:
        encodings = tokenizer.encode_batch(list(batch))
        ids = torch.tensor([encoding.ids for encoding in encodings])
        mask = torch.tensor([encoding.attention_mask for encoding in encodings])
        hidden = bert(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).float()
        mean = nn.functional.normalize((hidden * weights).sum(1) / weights.sum(1), dim=-1)
        peak = hidden.masked_fill(weights == 0, -1e4).max(1).values
        return torch.cat([mean * MEAN_SCALE, peak], dim=-1)

    bert.train()
    targets = np.asarray(labels)
    for epoch in range(config.epochs):
        order = generator.permutation(len(texts))
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            chosen = order[start : start + config.batch_size]
            logits = head(features([texts[i] for i in chosen]))
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
