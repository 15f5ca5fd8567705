"""Compares the sentence encoder's runtimes in one run: StoryStream's ONNX Runtime graph in int8
(what the safety check runs) against the same graph in float32 (the baseline) and PyTorch
(transformers' BertModel on the same packaged weights, the peer), when PyTorch is installed.

Reports CPU time (all threads of this process) and wall time per sentence, one sentence at a time
and in batches of 16, on sentences of the benign whole stories, and the largest difference in the
embeddings. Writes `bench/results/encoder_runtime.json`. Run with
`python -m bench.encoder_runtime` (PyTorch is optional: `make train-safety` installs it).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.safety_eval import load_rows
from workflows.safety.classifier.encoder import MiniLMEncoder, load_encoder, model_directory
from workflows.safety.sentences import sentence_spans

RESULTS = Path(__file__).with_name("results") / "encoder_runtime.json"
BASELINE = "onnxruntime float32"


def sentences(limit: int) -> list[str]:
    found: list[str] = []
    for name in ("whole_stories/benign_a.jsonl", "whole_stories/benign_b.jsonl"):
        for story in load_rows(name):
            text = story["text"]
            found.extend(text[start:end] for start, end in sentence_spans(text))
    return found[:limit]


def measure(
    encode: Callable[[list[str]], Any], texts: Sequence[str], batch: int
) -> dict[str, float]:
    encode(list(texts[:batch]))  # warm-up
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(texts), batch):
        encode(list(texts[start : start + batch]))
    return {
        "cpu_ms_per_sentence": 1000 * (time.process_time() - cpu) / len(texts),
        "wall_ms_per_sentence": 1000 * (time.perf_counter() - wall) / len(texts),
    }


def torch_encoder(threads: int) -> Callable[[list[str]], np.ndarray] | None:
    try:
        import torch
        from transformers import BertModel
    except ImportError:
        return None
    torch.set_num_threads(threads)
    model = BertModel.from_pretrained(str(model_directory()))
    model.train(False)  # inference: no dropout
    tokenizer = load_encoder().tokenizer

    def encode(texts: list[str]) -> np.ndarray:
        encodings = tokenizer.encode_batch(texts)
        # The service's tokenizer does not pad (it runs each sentence alone): pad here.
        width = max(len(encoding.ids) for encoding in encodings)
        ids = torch.tensor([e.ids + [0] * (width - len(e.ids)) for e in encodings])
        mask = torch.tensor([[1] * len(e.ids) + [0] * (width - len(e.ids)) for e in encodings])
        with torch.inference_mode():
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).float()
        mean = (hidden * weights).sum(1) / weights.sum(1)
        return np.asarray(torch.nn.functional.normalize(mean, dim=-1).numpy())

    return encode


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    texts = sentences(args.sentences)
    float32_encoder = load_encoder()
    int8_encoder = MiniLMEncoder.from_package(precision="int8")

    def float32_encode(batch: list[str]) -> np.ndarray:
        return float32_encoder.encode(batch).mean

    def int8_encode(batch: list[str]) -> np.ndarray:
        return int8_encoder.encode(batch).mean

    results: dict[str, Any] = {"sentences": len(texts), "runtimes": {}}
    runtimes: dict[str, Callable[[list[str]], np.ndarray]] = {
        BASELINE: float32_encode,
        "onnxruntime int8": int8_encode,
    }
    for threads in (1, 2):
        encode = torch_encoder(threads)
        if encode is not None:
            runtimes[f"pytorch ({threads} thread{'s' if threads > 1 else ''})"] = encode
    for name, encode in runtimes.items():
        results["runtimes"][name] = {
            "one_at_a_time": measure(encode, texts, 1),
            "batches_of_16": measure(encode, texts, 16),
        }
    sample = texts[:64]
    reference = float32_encode(sample)
    results["int8_min_cosine_to_float32"] = float((int8_encode(sample) * reference).sum(1).min())
    if len(runtimes) > 2:
        torch_reference = list(runtimes.values())[2]
        results["max_abs_difference"] = float(np.abs(reference - torch_reference(sample)).max())
    baseline = results["runtimes"][BASELINE]["one_at_a_time"]["cpu_ms_per_sentence"]
    print(f"{len(texts)} sentences of the benign stories")
    for name, modes in results["runtimes"].items():
        for mode, figures in modes.items():
            print(
                f"  {name:24} {mode:14} CPU {figures['cpu_ms_per_sentence']:6.2f} ms  "
                f"wall {figures['wall_ms_per_sentence']:6.2f} ms  "
                f"CPU vs float32 one at a time {figures['cpu_ms_per_sentence'] / baseline:4.2f}x"
            )
    print(
        "  int8 embeddings, lowest cosine to float32's: "
        f"{results['int8_min_cosine_to_float32']:.4f} (the published weights)"
    )
    if "max_abs_difference" in results:
        print(
            "  largest embedding difference float32 vs pytorch: "
            f"{results['max_abs_difference']:.2e}"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    print(f"results written to {args.output}")


if __name__ == "__main__":
    main()
