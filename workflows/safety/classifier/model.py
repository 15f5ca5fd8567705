"""The trained parts of the semantic check, read from `safety_model.json` (written by
`python -m workflows.safety.training.train`, never by hand).

- The **screen**: a linear score over a sentence's words, word pairs and static word-piece
  embeddings. Below `clear_below` a sentence is clearly safe and the encoder is skipped; the
  threshold is set in training so that almost no unsafe training sentence falls below it.
- The **head**: a softmax over the labels (`safe` and one per unsafe category) on the encoder's
  features. A sentence is blocked when its unsafe probability (1 - p(safe)) reaches `block_at`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from safetensors.numpy import load

from workflows.safety.classifier.encoder import Adapter, Matrix
from workflows.safety.classifier.features import screen_terms

SAFE = "safe"
# The excuse threshold of model files that name none (rounds 1-10).
FIXED_EXCUSE_BELOW = 0.02
MODEL_FILE = "safety_model.json"
ADAPTER_FILE = "safety_adapter.safetensors"
FORMAT_VERSION = 1


class SafetyModelError(ValueError):
    """The safety model file is missing, of another format version, or inconsistent."""


@dataclass(frozen=True)
class Screen:
    term_weights: Mapping[str, float]
    static_weights: Matrix
    bias: float
    clear_below: float

    def scores(self, texts: Sequence[str], static: Matrix) -> Matrix:
        """The screen's unsafe score (a logit) of each sentence."""
        lexical = np.array(
            [
                sum(self.term_weights.get(term, 0.0) for term in dict.fromkeys(screen_terms(text)))
                for text in texts
            ],
            dtype=np.float32,
        )
        return np.asarray(lexical + static @ self.static_weights + self.bias, dtype=np.float32)


@dataclass(frozen=True)
class Head:
    weights: Matrix  # (features, labels)
    bias: Matrix

    def probabilities(self, features: Matrix) -> Matrix:
        logits = features @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        return np.asarray(logits / logits.sum(axis=1, keepdims=True), dtype=np.float32)


@dataclass(frozen=True)
class SafetyModel:
    labels: tuple[str, ...]
    screen: Screen
    head: Head
    block_at: float
    trained_on: Mapping[str, Any]
    # Below this unsafe probability the encoder's reading excuses a listed word the rules found
    # ("Grandad Dick", "killing time"). Chosen per model on validation since round 11: the
    # encoder's scale moves between models, and rounds 1-10's fixed 0.02 sat under every
    # score round 10 gives, so nothing was ever excused.
    excuse_below: float = FIXED_EXCUSE_BELOW
    # The encoder's fine-tuned changes (a file beside this one), merged at load.
    adapter: Adapter | None = None

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(label for label in self.labels if label != SAFE)


def parse_safety_model(document: Mapping[str, Any], adapter: Adapter | None = None) -> SafetyModel:
    if document.get("format_version") != FORMAT_VERSION:
        raise SafetyModelError(
            f"safety model format {document.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    labels = tuple(document["labels"])
    if SAFE not in labels:
        raise SafetyModelError(f"the safety model's labels lack {SAFE!r}")
    head = Head(
        weights=np.array(document["head"]["weights"], dtype=np.float32),
        bias=np.array(document["head"]["bias"], dtype=np.float32),
    )
    if head.weights.shape[1] != len(labels) or head.bias.shape != (len(labels),):
        raise SafetyModelError("the safety model's head does not match its labels")
    screen_doc = document["screen"]
    screen = Screen(
        term_weights=dict(screen_doc["term_weights"]),
        static_weights=np.array(screen_doc["static_weights"], dtype=np.float32),
        bias=float(screen_doc["bias"]),
        clear_below=float(screen_doc["clear_below"]),
    )
    return SafetyModel(
        labels=labels,
        screen=screen,
        head=head,
        block_at=float(document["block_at"]),
        excuse_below=float(document.get("excuse_below", FIXED_EXCUSE_BELOW)),
        trained_on=dict(document["trained_on"]),
        adapter=adapter,
    )


@cache
def load_safety_model() -> SafetyModel:
    folder = resources.files("workflows.safety.classifier")
    document = json.loads(folder.joinpath(MODEL_FILE).read_text("utf-8"))
    adapter = None
    if "adapter" in document:
        adapter = load(folder.joinpath(document["adapter"]["file"]).read_bytes())
    return parse_safety_model(document, adapter)
