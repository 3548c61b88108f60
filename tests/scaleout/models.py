"""ONNX models for the scale-out tests: the synthetic set's age signal, optionally made slow.

A slow model adds a chain of dense layers whose (tiny, bounded) contribution keeps the
predictions deterministic while making the run last long enough to kill a worker during it.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from scoring.inference.builders import make_model

WIDTH = 512


def age_model(
    *,
    image_size: tuple[int, int],
    offset: float = 30.0,
    slope: float = 2.0,
    depth: int = 0,
    seed: int = 0,
) -> bytes:
    """``(mean red - offset) / slope``, plus ``depth`` dense layers' worth of work (uint8 NHWC)."""
    height, width = image_size
    nodes = [
        helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["pixels"], ["channel_means"], axes=[1, 2], keepdims=0),
        helper.make_node("Gather", ["channel_means", "red_index"], ["red_mean"], axis=1),
        helper.make_node("Sub", ["red_mean", "offset"], ["centred"]),
        helper.make_node("Div", ["centred", "slope"], ["signal_age"]),
    ]
    rng = np.random.default_rng(seed)
    initializers = [
        numpy_helper.from_array(np.array(0, dtype=np.int64), "red_index"),
        numpy_helper.from_array(np.array(offset, dtype=np.float32), "offset"),
        numpy_helper.from_array(np.array(slope, dtype=np.float32), "slope"),
    ]
    if depth > 0:
        first = rng.standard_normal((3, WIDTH), dtype=np.float32) / np.float32(255)
        hidden = rng.standard_normal((WIDTH, WIDTH), dtype=np.float32) / np.float32(np.sqrt(WIDTH))
        initializers += [
            numpy_helper.from_array(first, "w_first"),
            numpy_helper.from_array(hidden, "w_hidden"),
            numpy_helper.from_array(np.array(1e-3, dtype=np.float32), "epsilon"),
        ]
        nodes += [
            helper.make_node("MatMul", ["channel_means", "w_first"], ["h0_linear"]),
            helper.make_node("Tanh", ["h0_linear"], ["h0"]),
        ]
        for layer in range(1, depth + 1):
            nodes += [
                helper.make_node("MatMul", [f"h{layer - 1}", "w_hidden"], [f"h{layer}_linear"]),
                helper.make_node("Tanh", [f"h{layer}_linear"], [f"h{layer}"]),
            ]
        nodes += [
            helper.make_node("ReduceMean", [f"h{depth}"], ["busy_mean"], axes=[1], keepdims=0),
            helper.make_node("Mul", ["busy_mean", "epsilon"], ["busy_term"]),
            helper.make_node("Add", ["signal_age", "busy_term"], ["age"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["signal_age"], ["age"]))
    graph = helper.make_graph(
        nodes,
        "age_model",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["N", height, width, 3])],
        [helper.make_tensor_value_info("age", TensorProto.FLOAT, ["N"])],
        initializers,
    )
    model: onnx.ModelProto = make_model(graph)
    return model.SerializeToString()
