"""The ONNX Runtime MiniLM encoder against sentence-transformers' own embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workflows.safety.classifier.encoder import MAX_TOKENS, MiniLMEncoder, load_encoder

REFERENCE = Path(__file__).parents[1] / "data" / "safety" / "minilm_reference.json"


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return load_encoder()


def test_embeddings_match_sentence_transformers_to_1e_4_cosine(encoder: MiniLMEncoder) -> None:
    rows = json.loads(REFERENCE.read_text("utf-8"))
    embeddings = encoder.encode([row["text"] for row in rows]).mean
    for row, embedding in zip(rows, embeddings, strict=True):
        reference = np.array(row["embedding"], dtype=np.float64)
        cosine = float(reference @ embedding) / float(
            np.linalg.norm(reference) * np.linalg.norm(embedding)
        )
        assert 1.0 - cosine < 1e-4, row["text"]


def test_a_sentence_embeds_the_same_alone_and_beside_other_streams_sentences() -> None:
    """The int8 graph quantises activations with one scale per run, so each sentence runs alone:
    a child's verdict never depends on which other sentences were judged at the same moment."""
    int8 = MiniLMEncoder.from_package(precision="int8")
    short = "Mia smiled."
    long = "The little boat rocked on the waves while the gulls circled high above the harbour."
    alone = int8.encode([short])
    beside = int8.encode([long, short, "A dog barked twice."])
    np.testing.assert_array_equal(beside.mean[1], alone.mean[0])
    np.testing.assert_array_equal(beside.max[1], alone.max[0])


def test_long_text_is_truncated_not_refused(encoder: MiniLMEncoder) -> None:
    text = "The little boat rocked on the waves. " * 100
    assert encoder.token_count(text) == MAX_TOKENS
    assert encoder.encode([text]).mean.shape == (1, 384)


def test_empty_batch_gives_no_rows(encoder: MiniLMEncoder) -> None:
    assert encoder.encode([]).mean.shape == (0, 384)


def test_the_int8_graph_stays_close_to_float32(encoder: MiniLMEncoder) -> None:
    """The safety check runs the int8 graph (its thresholds are chosen on its outputs); a broken
    quantisation, say scales on the wrong axis, would scatter the embeddings."""
    rows = json.loads(REFERENCE.read_text("utf-8"))
    texts = [row["text"] for row in rows]
    int8 = MiniLMEncoder.from_package(precision="int8")
    cosines = (int8.encode(texts).mean * encoder.encode(texts).mean).sum(axis=1)
    assert cosines.min() > 0.95
    assert int8.encode(texts[:1]).mean.shape == (1, 384)
