"""The features both stages of the semantic check read, shared by training and inference so the
two can never disagree."""

from __future__ import annotations

import re
from itertools import pairwise

import numpy as np

from workflows.safety.classifier.encoder import Encoded, Matrix, MiniLMEncoder

# Words as the screen sees them: stand-in symbols kept, so "sh!t" and "a$$" stay one word.
_WORD = re.compile(r"[a-z0-9$@!*']+")


def screen_terms(text: str) -> list[str]:
    """Lowercased words and word pairs of a sentence."""
    words = _WORD.findall(text.lower())
    return [*words, *(f"{first} {second}" for first, second in pairwise(words))]


def static_features(encoder: MiniLMEncoder, texts: list[str]) -> Matrix:
    """Mean and max of the encoder's input word-piece embeddings: a sense of meaning that costs
    a table lookup, not a transformer pass."""
    rows = []
    for encoding in encoder.tokenizer.encode_batch(texts, add_special_tokens=False):
        ids = [
            token for token, kept in zip(encoding.ids, encoding.attention_mask, strict=True) if kept
        ]
        vectors = encoder.word_embeddings[ids] if ids else np.zeros((1, encoder.width), np.float32)
        rows.append(np.concatenate([vectors.mean(axis=0), vectors.max(axis=0)]))
    if not rows:
        return np.zeros((0, 2 * encoder.width), dtype=np.float32)
    return np.vstack(rows).astype(np.float32)


def encoder_features(encoded: Encoded) -> Matrix:
    """The sentence embedding beside the max-pooled hidden state."""
    return np.hstack([encoded.mean, encoded.max])
