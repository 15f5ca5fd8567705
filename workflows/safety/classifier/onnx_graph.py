"""The BERT encoder as an ONNX graph, built from the packaged weights, for ONNX Runtime.

Built here with `onnx.helper` from the safetensors weights (no PyTorch, no exported artefact in
the repository): the graph is BERT's forward pass as `MiniLMEncoder` runs it, its inputs the
word-piece ids and attention mask, its output the last hidden state. ONNX Runtime fuses the
layer norms, GELU and attention itself; `quantized()` turns it into the int8 graph the service
runs (dynamic quantisation of the weight matrices, per output channel).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # LayerNormalization is in the standard domain from 17
_LAYER_NORM_EPS = 1e-12


@dataclass(frozen=True)
class BertShape:
    layers: int
    width: int
    heads: int


class _Graph:
    """Collects nodes and weights under readable, unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def weight(self, name: str, value: npt.NDArray[np.generic]) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], output, None, **attributes))
        return output

    def linear(self, x: str, weights: dict[str, npt.NDArray[np.float32]], name: str) -> str:
        # Stored (out, in) as in PyTorch; the graph multiplies x @ W, so transposed once here.
        w = self.weight(f"{name}.weight", weights[f"{name}.weight"].T)
        b = self.weight(f"{name}.bias", weights[f"{name}.bias"])
        return self.node("Add", [self.node("MatMul", [x, w], f"{name}.matmul"), b], f"{name}.out")

    def layer_norm(self, x: str, weights: dict[str, npt.NDArray[np.float32]], name: str) -> str:
        scale = self.weight(f"{name}.weight", weights[f"{name}.weight"])
        bias = self.weight(f"{name}.bias", weights[f"{name}.bias"])
        return self.node(
            "LayerNormalization", [x, scale, bias], f"{name}.out", axis=-1, epsilon=_LAYER_NORM_EPS
        )


def build_graph(weights: dict[str, npt.NDArray[np.float32]], shape: BertShape) -> onnx.ModelProto:
    """BERT's forward pass over `input_ids` and `attention_mask` (int64, batch x tokens) to the
    last hidden state (float32, batch x tokens x width)."""
    g = _Graph()
    head_width = shape.width // shape.heads
    ids, mask = "input_ids", "attention_mask"

    # Embeddings: word piece + position (0..tokens-1) + token type 0, then a layer norm.
    words = g.node(
        "Gather", [g.weight("word", weights["embeddings.word_embeddings.weight"]), ids], "words"
    )
    # Position ids 0..tokens-1 on every row, as a running count of ones (no scalar shape
    # arithmetic, which ONNX Runtime's constant sharing mixes up with 1-D constants).
    ones = g.node(
        "ConstantOfShape",
        [g.node("Shape", [ids], "ids.shape")],
        "ids.ones",
        value=numpy_helper.from_array(np.array([1], dtype=np.int64)),
    )
    position_ids = g.node(
        "Sub",
        [
            g.node("CumSum", [ones, g.weight("axis_1", np.array(1, np.int64))], "ids.count"),
            g.weight("one_i", np.array(1, np.int64)),
        ],
        "position_ids",
    )
    positions = g.node(
        "Gather",
        [g.weight("position", weights["embeddings.position_embeddings.weight"]), position_ids],
        "positions",
    )
    token_type = g.weight("token_type", weights["embeddings.token_type_embeddings.weight"][0])
    x = g.node(
        "Add", [g.node("Add", [words, positions], "words_positions"), token_type], "embedded"
    )
    x = g.layer_norm(x, weights, "embeddings.LayerNorm")

    # Padding gets a large negative score before the softmax, as in BERT: (1 - mask) * -1e9,
    # shaped (batch, 1, 1, tokens) to broadcast over heads and query positions.
    mask_float = g.node("Cast", [mask], "mask.float", to=TensorProto.FLOAT)
    masked = g.node(
        "Mul",
        [
            g.node("Sub", [g.weight("one_f", np.array(1.0, np.float32)), mask_float], "mask.inv"),
            g.weight("minus_big", np.array(-1e9, np.float32)),
        ],
        "mask.scores",
    )
    attention_bias = g.node(
        "Unsqueeze", [masked, g.weight("axes_1_2", np.array([1, 2], np.int64))], "attention_bias"
    )
    split_heads = g.weight("split_heads", np.array([0, 0, shape.heads, head_width], np.int64))
    merge_heads = g.weight("merge_heads", np.array([0, 0, shape.width], np.int64))
    scale = g.weight("scale", np.array(1.0 / np.sqrt(head_width), np.float32))
    half = g.weight("half", np.array(0.5, np.float32))
    root_half = g.weight("root_half", np.array(1.0 / np.sqrt(2.0), np.float32))
    one_f = "one_f"

    for index in range(shape.layers):
        p = f"encoder.layer.{index}."

        def heads(source: str, part: str, perm: list[int], name: str = p) -> str:
            projected = g.linear(source, weights, f"{name}attention.self.{part}")
            shaped = g.node("Reshape", [projected, split_heads], f"{name}{part}.heads")
            return g.node("Transpose", [shaped], f"{name}{part}.t", perm=perm)

        q = heads(x, "query", [0, 2, 1, 3])
        k = heads(x, "key", [0, 2, 3, 1])  # transposed for q @ k
        v = heads(x, "value", [0, 2, 1, 3])
        scores = g.node(
            "Add",
            [
                g.node("Mul", [g.node("MatMul", [q, k], f"{p}qk"), scale], f"{p}qk.scaled"),
                attention_bias,
            ],
            f"{p}scores",
        )
        attention = g.node("Softmax", [scores], f"{p}attention", axis=-1)
        context = g.node(
            "Reshape",
            [
                g.node(
                    "Transpose",
                    [g.node("MatMul", [attention, v], f"{p}context.heads")],
                    f"{p}context.t",
                    perm=[0, 2, 1, 3],
                ),
                merge_heads,
            ],
            f"{p}context",
        )
        attended = g.linear(context, weights, f"{p}attention.output.dense")
        x = g.layer_norm(
            g.node("Add", [attended, x], f"{p}attention.residual"),
            weights,
            f"{p}attention.output.LayerNorm",
        )
        # BERT's exact GELU, x * 0.5 * (1 + erf(x / sqrt 2)); ONNX Runtime fuses it.
        inner = g.linear(x, weights, f"{p}intermediate.dense")
        erf = g.node("Erf", [g.node("Mul", [inner, root_half], f"{p}gelu.scaled")], f"{p}gelu.erf")
        gelu = g.node(
            "Mul",
            [
                g.node("Mul", [inner, half], f"{p}gelu.half"),
                g.node("Add", [erf, one_f], f"{p}gelu.plus_one"),
            ],
            f"{p}gelu",
        )
        output = g.linear(gelu, weights, f"{p}output.dense")
        x = g.layer_norm(
            g.node("Add", [output, x], f"{p}output.residual"), weights, f"{p}output.LayerNorm"
        )
    g.node("Identity", [x], "hidden")

    graph = helper.make_graph(
        g.nodes,
        "minilm",
        inputs=[
            helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "tokens"]),
        ],
        outputs=[
            helper.make_tensor_value_info(
                "hidden", TensorProto.FLOAT, ["batch", "tokens", shape.width]
            )
        ],
        initializer=g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what ONNX Runtime 1.x reads for opset 17
    onnx.checker.check_model(model)
    return model


def quantized(model: onnx.ModelProto) -> bytes:
    """The graph with its weight matrices in int8 (scales per output channel), activations
    quantised on the fly: about half the CPU of float32, with verdicts measured through it (the
    training script chooses the thresholds on this graph's outputs)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser advises ONNX Runtime's pre-processing on the root logger at every start; the
    # graph is built for ONNX Runtime already, so the advice is only noise in the service's log.
    root = logging.getLogger()
    advice = _DropAdvice()
    root.addFilter(advice)
    try:
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "int8.onnx"
            quantize_dynamic(
                model,
                str(target),
                per_channel=True,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul"],
            )
            return target.read_bytes()
    finally:
        root.removeFilter(advice)


class _DropAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()
