"""Reference ONNX models built with ``onnx.helper`` and NumPy: the demo's baseline and the
benchmark's ResNet-50-shaped network.

Models use IR version 8 and opset 17, which every onnxruntime build from 1.14 on (CPU and
GPU) loads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from scoring.inference.contract import Dim, InputDType, Layout

IR_VERSION = 8
OPSET = 17

PathLike = str | os.PathLike[str]

_ONNX_DTYPES: dict[InputDType, int] = {"uint8": TensorProto.UINT8, "float32": TensorProto.FLOAT}


def make_model(graph: onnx.GraphProto, *, opset: int = OPSET) -> onnx.ModelProto:
    """Wrap a graph into a model with this project's IR version and opset.

    Example:
        >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
        >>> g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x],
        ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
        >>> make_model(g).ir_version
        8
    """
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        ir_version=IR_VERSION,
        producer_name="fairboard",
    )


def save_model(model: onnx.ModelProto, path: PathLike | None) -> bytes:
    """Serialize ``model``, write it to ``path`` when given, and return the bytes.

    Example:
        >>> data = save_model(onnx.load_model_from_string(build_red_mean_model()), None)
        >>> data[:2] == build_red_mean_model()[:2]
        True
    """
    data = model.SerializeToString()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def image_input(
    name: str = "image",
    *,
    layout: Layout = "NHWC",
    dtype: InputDType = "uint8",
    batch: Dim = "N",
    input_size: tuple[Dim, Dim] = ("H", "W"),
) -> onnx.ValueInfoProto:
    """The value info of an image input in ``layout``.

    Example:
        >>> vi = image_input(layout="NCHW", dtype="float32", input_size=(32, 32))
        >>> [d.dim_value or d.dim_param for d in vi.type.tensor_type.shape.dim]
        ['N', 3, 32, 32]
    """
    height, width = input_size
    shape = [batch, height, width, 3] if layout == "NHWC" else [batch, 3, height, width]
    return helper.make_tensor_value_info(name, _ONNX_DTYPES[dtype], shape)


def build_red_mean_model(
    path: PathLike | None = None,
    *,
    offset: float = 30.0,
    slope: float = 2.0,
    layout: Layout = "NHWC",
    dtype: InputDType = "uint8",
    batch: Dim = "N",
    input_size: tuple[Dim, Dim] = ("H", "W"),
    output_rank: Literal[1, 2] = 1,
) -> bytes:
    """A model that reads the synthetic images' age signal: ``(mean of red - offset) / slope``.

    The synthetic test set (``scoring.synthetic``) draws each image's mean red value as
    ``offset + slope * age`` plus noise, so this model recovers the age with a small,
    group-dependent error: the demo's baseline submission. The red channel is channel 0 of the
    raw RGB input (so use the ``raw`` preset). Returns the serialized model, also written to
    ``path`` when given.

    Example:
        >>> import onnxruntime as ort
        >>> session = ort.InferenceSession(build_red_mean_model(), providers=["CPUExecutionProvider"])
        >>> images = np.zeros((2, 4, 4, 3), np.uint8); images[1, ..., 0] = 130
        >>> session.run(None, {"image": images})[0].tolist()
        [-15.0, 50.0]
    """  # noqa: E501
    axes = [1, 2] if layout == "NHWC" else [2, 3]
    red = [0] if output_rank == 2 else 0
    nodes = [
        helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["pixels"], ["channel_means"], axes=axes, keepdims=0),
        helper.make_node("Gather", ["channel_means", "red_index"], ["red_mean"], axis=1),
        helper.make_node("Sub", ["red_mean", "offset"], ["centred"]),
        helper.make_node("Div", ["centred", "slope"], ["age"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array(red, dtype=np.int64), "red_index"),
        numpy_helper.from_array(np.array(offset, dtype=np.float32), "offset"),
        numpy_helper.from_array(np.array(slope, dtype=np.float32), "slope"),
    ]
    output_shape: list[Dim] = [batch] if output_rank == 1 else [batch, 1]
    graph = helper.make_graph(
        nodes,
        "red_mean_age",
        [image_input(layout=layout, dtype=dtype, batch=batch, input_size=input_size)],
        [helper.make_tensor_value_info("age", TensorProto.FLOAT, output_shape)],
        initializers,
    )
    return save_model(make_model(graph), path)


class _GraphBuilder:
    """Accumulates nodes and random initializers with unique names."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self._count = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def constant(self, array: npt.NDArray[np.float32], prefix: str) -> str:
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def conv(
        self, x: str, c_in: int, c_out: int, k: int, *, stride: int = 1, gain: float = 1.0
    ) -> str:
        fan_in = c_in * k * k
        weight = self.rng.standard_normal((c_out, c_in, k, k), dtype=np.float32)
        weight *= np.float32(gain * np.sqrt(2.0 / fan_in))
        bias = np.zeros(c_out, np.float32)
        out = self.name("conv")
        pad = k // 2
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, self.constant(weight, "w"), self.constant(bias, "b")],
                [out],
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=[pad, pad, pad, pad],
            )
        )
        return out

    def op(self, op_type: str, inputs: Sequence[str], **attributes: Any) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attributes))
        return out


def build_resnet50_like_model(
    path: PathLike | None = None,
    *,
    input_size: tuple[int, int] = (224, 224),
    base_width: int = 64,
    blocks: Sequence[int] = (3, 4, 6, 3),
    seed: int = 0,
) -> bytes:
    """A ResNet-50-shaped regression network with random weights, for benchmarks.

    Float32 NCHW input ``image`` ``[N,3,H,W]`` (H, W = ``input_size``, batch symbolic); a 7x7
    stride-2 stem and max-pool, four stages of bottleneck blocks (``blocks``, 3-4-6-3 as in
    ResNet-50, widths ``base_width`` x 1, 2, 4, 8, expansion 4, batch norm folded into the
    convolutions), global average pooling, a dense layer to one unit and a sigmoid: output
    ``age`` ``[N,1]`` in (0, 1), to be scaled by 100 as the course's models were. With the
    defaults it has ResNet-50's 23.5 million parameters without the 1000-class head (a 94 MB
    file); ``base_width`` and ``blocks`` give small variants for tests. Returns the serialized
    model, also written to ``path`` when given.

    Example:
        >>> import onnxruntime as ort
        >>> data = build_resnet50_like_model(input_size=(32, 32), base_width=4, blocks=(1, 1, 1, 1))
        >>> session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        >>> session.run(None, {"image": np.zeros((2, 3, 32, 32), np.float32)})[0].shape
        (2, 1)
    """
    g = _GraphBuilder(seed)
    # The stem's gain brings pixel values (0-255, or mean-subtracted) to unit scale.
    x = g.op("Relu", [g.conv("image", 3, base_width, 7, stride=2, gain=0.01)])
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    channels = base_width
    for stage, count in enumerate(blocks):
        mid = base_width * 2**stage
        out = mid * 4
        for block in range(count):
            stride = 2 if stage > 0 and block == 0 else 1
            y = g.op("Relu", [g.conv(x, channels, mid, 1)])
            y = g.op("Relu", [g.conv(y, mid, mid, 3, stride=stride)])
            # A small last-layer gain keeps the residual sum from growing block after block.
            y = g.conv(y, mid, out, 1, gain=0.2)
            shortcut = (
                x
                if (channels == out and stride == 1)
                else g.conv(x, channels, out, 1, stride=stride)
            )
            x = g.op("Relu", [g.op("Add", [y, shortcut])])
            channels = out
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    weight = g.rng.standard_normal((channels, 1), dtype=np.float32) * np.float32(
        1 / np.sqrt(channels)
    )
    logits = g.op(
        "Gemm", [x, g.constant(weight, "dense_w"), g.constant(np.zeros(1, np.float32), "dense_b")]
    )
    g.nodes.append(helper.make_node("Sigmoid", [logits], ["age"]))
    graph = helper.make_graph(
        g.nodes,
        "resnet50_like",
        [image_input(layout="NCHW", dtype="float32", input_size=input_size)],
        [helper.make_tensor_value_info("age", TensorProto.FLOAT, ["N", 1])],
        g.initializers,
    )
    return save_model(make_model(graph), path)
