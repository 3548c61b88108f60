"""Models the inference tests feed to the sandbox, the hostile ones above all.

Every builder returns the serialized model. Images in these tests are small (``SIZE`` x
``SIZE``) and uint8 NHWC unless said otherwise; models keep H and W symbolic.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

from scoring.inference.builders import build_red_mean_model, image_input, make_model

SIZE = 16


def _graph(
    nodes: list[onnx.NodeProto],
    *,
    initializers: list[onnx.TensorProto] | None = None,
    output_shape: list[int | str] | None = None,
    inputs: list[onnx.ValueInfoProto] | None = None,
) -> onnx.GraphProto:
    return helper.make_graph(
        nodes,
        "test_model",
        inputs if inputs is not None else [image_input()],
        [helper.make_tensor_value_info("age", TensorProto.FLOAT, output_shape or ["N"])],
        initializers or [],
    )


def _mean_pixel_nodes(out: str = "mean_pixel") -> list[onnx.NodeProto]:
    """``out`` [N]: the mean of every pixel value of each uint8 NHWC image."""
    return [
        helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["pixels"], [out], axes=[1, 2, 3], keepdims=0),
    ]


def channel_mean_model(channel: int, *, layout: str = "NHWC", dtype: str = "float32") -> bytes:
    """Outputs the mean value the model receives on input channel ``channel``."""
    axes = [1, 2] if layout == "NHWC" else [2, 3]
    nodes = [
        helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["pixels"], ["means"], axes=axes, keepdims=0),
        helper.make_node("Gather", ["means", "channel"], ["age"], axis=1),
    ]
    channel_index = numpy_helper.from_array(np.array(channel, np.int64), "channel")
    graph = _graph(nodes, initializers=[channel_index])
    graph.input[0].CopyFrom(image_input(layout=layout, dtype=dtype))  # type: ignore[arg-type]
    return make_model(graph).SerializeToString()


def constant_shift_model(value: float, *, dtype: int = TensorProto.FLOAT) -> bytes:
    """Outputs ``mean pixel * 0 + value`` in element type ``dtype``."""
    nodes = [
        *_mean_pixel_nodes(),
        helper.make_node("Mul", ["mean_pixel", "zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "value"], ["sum"]),
        helper.make_node("Cast", ["sum"], ["age"], to=dtype),
    ]
    initializers = [
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(value, np.float32), "value"),
    ]
    graph = _graph(nodes, initializers=initializers)
    graph.output[0].type.tensor_type.elem_type = dtype
    return make_model(graph).SerializeToString()


# --- hostile models --------------------------------------------------------------------------


def external_data_model(location: str, *, where: str = "initializer") -> bytes:
    """A red-mean model whose ``offset`` tensor claims to live in the file ``location``.

    ``where``: ``initializer`` (main graph), ``constant`` (a Constant node's attribute),
    ``subgraph`` (an initializer inside the ``then`` branch of an If) or ``sparse``.
    """
    model = onnx.load_model_from_string(build_red_mean_model())
    tensor = numpy_helper.from_array(np.array(30.0, np.float32), "offset")
    set_external_data(tensor, location=location, offset=0, length=4)
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    graph = model.graph
    if where == "initializer":
        for i, init in enumerate(graph.initializer):
            if init.name == "offset":
                graph.initializer[i].CopyFrom(tensor)
    elif where == "constant":
        _drop_initializer(graph, "offset")
        graph.node.insert(0, helper.make_node("Constant", [], ["offset"], value=tensor))
    elif where == "subgraph":
        _drop_initializer(graph, "offset")
        branch = helper.make_graph(
            [helper.make_node("Identity", ["offset_inner"], ["offset_out"])],
            "then_branch",
            [],
            [helper.make_tensor_value_info("offset_out", TensorProto.FLOAT, [])],
            [_renamed(tensor, "offset_inner")],
        )
        other = helper.make_graph(
            [helper.make_node("Constant", [], ["offset_else"], value_float=30.0)],
            "else_branch",
            [],
            [helper.make_tensor_value_info("offset_else", TensorProto.FLOAT, [])],
        )
        graph.initializer.append(numpy_helper.from_array(np.array(True), "always"))
        graph.node.insert(
            0,
            helper.make_node("If", ["always"], ["offset"], then_branch=branch, else_branch=other),
        )
    elif where == "sparse":
        _drop_initializer(graph, "offset")
        indices = numpy_helper.from_array(np.array([0], np.int64), "offset_indices")
        values = _renamed(tensor, "offset")
        values.dims[:] = [1]
        graph.sparse_initializer.append(helper.make_sparse_tensor(values, indices, [1]))
    else:
        raise ValueError(where)
    return model.SerializeToString()


def _drop_initializer(graph: onnx.GraphProto, name: str) -> None:
    kept = [t for t in graph.initializer if t.name != name]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _renamed(tensor: onnx.TensorProto, name: str) -> onnx.TensorProto:
    copy = onnx.TensorProto()
    copy.CopyFrom(tensor)
    copy.name = name
    return copy


def custom_domain_model(domain: str) -> bytes:
    """A model with one node of ``domain``, declared in its opset imports."""
    nodes = [
        *_mean_pixel_nodes("mean_pixel"),
        helper.make_node(
            "Gelu" if domain == "com.microsoft" else "Evil",
            ["mean_pixel"],
            ["age"],
            name="payload",
            domain=domain,
        ),
    ]
    model = make_model(_graph(nodes))
    model.opset_import.append(helper.make_opsetid(domain, 1))
    return model.SerializeToString()


def custom_domain_in_subgraph_model() -> bytes:
    """A custom-domain node hidden in an If branch; the opset import names only ai.onnx."""
    inner = helper.make_graph(
        [helper.make_node("Evil", ["mean_pixel"], ["inner_age"], name="hidden", domain="evil.ops")],
        "then_branch",
        [],
        [helper.make_tensor_value_info("inner_age", TensorProto.FLOAT, ["N"])],
    )
    other = helper.make_graph(
        [helper.make_node("Identity", ["mean_pixel"], ["other_age"])],
        "else_branch",
        [],
        [helper.make_tensor_value_info("other_age", TensorProto.FLOAT, ["N"])],
    )
    nodes = [
        *_mean_pixel_nodes(),
        helper.make_node("If", ["always"], ["age"], then_branch=inner, else_branch=other),
    ]
    always = numpy_helper.from_array(np.array(True), "always")
    return make_model(_graph(nodes, initializers=[always])).SerializeToString()


def ort_format_file() -> bytes:
    """Bytes shaped like an ORT-format flatbuffer: root offset, then the ``ORTM`` identifier."""
    return b"\x10\x00\x00\x00ORTM" + bytes(range(256)) * 4


def real_ort_format_file() -> bytes:
    """The red-mean model converted to onnxruntime's ORT format by onnxruntime itself."""
    import tempfile
    from pathlib import Path

    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(Path(tmp, "model.ort"))
        options.add_session_config_entry("session.save_model_format", "ORT")
        options.log_severity_level = 3
        ort.InferenceSession(build_red_mean_model(), options, providers=["CPUExecutionProvider"])
        return Path(tmp, "model.ort").read_bytes()


def onnx_model_looking_like_ort_format() -> bytes:
    """A valid ONNX model whose producer name puts ``ORTM`` at bytes 4..8."""
    model = onnx.load_model_from_string(build_red_mean_model())
    model.producer_name = "ORTM exporter"
    data = model.SerializeToString()
    assert data[4:8] == b"ORTM"
    return data


def lying_initializer_model() -> bytes:
    """An initializer declared as 1,000,000 floats whose raw data holds 8 bytes."""
    model = onnx.load_model_from_string(build_red_mean_model())
    for tensor in model.graph.initializer:
        if tensor.name == "offset":
            tensor.dims[:] = [1000, 1000]
            tensor.raw_data = b"\x00" * 8
    return model.SerializeToString()


def _loop_model(trip_count: int | None) -> bytes:
    """Adds a Loop counting until ``trip_count`` (never, if None) to the mean pixel."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["count_in", "one"], ["count_out"]),
        ],
        "burn",
        [
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("count_in", TensorProto.FLOAT, []),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("count_out", TensorProto.FLOAT, []),
        ],
    )
    trip = "" if trip_count is None else "trip_count"
    nodes = [
        *_mean_pixel_nodes(),
        helper.make_node("Loop", [trip, "keep_going", "start"], ["count"], body=body),
        helper.make_node("Mul", ["count", "zero"], ["nothing"]),
        helper.make_node("Add", ["mean_pixel", "nothing"], ["age"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array(True), "keep_going"),
        numpy_helper.from_array(np.array(0.0, np.float32), "start"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
    ]
    if trip_count is not None:
        initializers.append(numpy_helper.from_array(np.array(trip_count, np.int64), "trip_count"))
    return make_model(_graph(nodes, initializers=initializers)).SerializeToString()


def infinite_loop_model() -> bytes:
    """A Loop with no trip count whose condition stays true: it never ends."""
    return _loop_model(None)


def slow_model() -> bytes:
    """A Loop of 10**15 iterations: finite in principle, far past any time limit."""
    return _loop_model(10**15)


def memory_bomb_model() -> bytes:
    """Allocates ``max pixel * 2 * 10**6`` floats: nothing on a blank image, 2 GB for the test
    images (whose brightest pixel is 250).

    The size comes from the input values, so no constant folding or shape inference at load
    time can see it coming. 2 GB is what an ordinary machine can give, so only the sandbox's
    memory limit (1 GiB in the tests) stops it.
    """
    nodes = [
        helper.make_node("ReduceMax", ["image"], ["max_pixel"], keepdims=0),
        helper.make_node("Cast", ["max_pixel"], ["max_pixel_64"], to=TensorProto.INT64),
        helper.make_node("Mul", ["max_pixel_64", "huge"], ["count"]),
        helper.make_node("Reshape", ["count", "one_dim"], ["bomb_shape"]),
        helper.make_node(
            "ConstantOfShape",
            ["bomb_shape"],
            ["bomb"],
            value=numpy_helper.from_array(np.array([1.0], np.float32)),
        ),
        helper.make_node("ReduceSum", ["bomb"], ["bomb_sum"], keepdims=0),
        *_mean_pixel_nodes(),
        helper.make_node("Mul", ["bomb_sum", "zero"], ["nothing"]),
        helper.make_node("Add", ["mean_pixel", "nothing"], ["age"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array(2 * 10**6, np.int64), "huge"),
        numpy_helper.from_array(np.array([1], np.int64), "one_dim"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
    ]
    return make_model(_graph(nodes, initializers=initializers)).SerializeToString()


def log_model(threshold: float) -> bytes:
    """Outputs ``log(mean pixel - threshold)``: NaN below the threshold, -inf at it."""
    nodes = [
        *_mean_pixel_nodes(),
        helper.make_node("Sub", ["mean_pixel", "threshold"], ["margin"]),
        helper.make_node("Log", ["margin"], ["age"]),
    ]
    threshold_t = numpy_helper.from_array(np.array(threshold, np.float32), "threshold")
    return make_model(_graph(nodes, initializers=[threshold_t])).SerializeToString()


def doubled_output_model() -> bytes:
    """Declares output [N] but returns 2N values."""
    nodes = [
        *_mean_pixel_nodes(),
        helper.make_node("Concat", ["mean_pixel", "mean_pixel"], ["age"], axis=0),
    ]
    return make_model(_graph(nodes, output_shape=["M"])).SerializeToString()


def runtime_error_model() -> bytes:
    """Reshapes each batch to a size that only fits a batch of 1: fails at run time."""
    nodes = [
        *_mean_pixel_nodes(),
        helper.make_node("Reshape", ["mean_pixel", "shape"], ["age"], name="bad_reshape"),
    ]
    shape = numpy_helper.from_array(np.array([1], np.int64), "shape")
    return make_model(_graph(nodes, initializers=[shape])).SerializeToString()


def signature_model(
    *,
    input_shape: list[int | str] | None = None,
    input_dtype: int = TensorProto.UINT8,
    output_shape: list[int | str] | None = None,
    output_dtype: int = TensorProto.FLOAT,
    extra_input: bool = False,
    extra_output: bool = False,
) -> bytes:
    """A model whose declared signature is off; the body just passes shapes through."""
    inputs = [helper.make_tensor_value_info("image", input_dtype, input_shape)]
    if extra_input:
        inputs.append(helper.make_tensor_value_info("second", TensorProto.FLOAT, ["N"]))
    nodes = [helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT)]
    nodes.append(helper.make_node("ReduceMean", ["pixels"], ["mean"], keepdims=0))
    nodes.append(helper.make_node("Cast", ["mean"], ["age"], to=output_dtype))
    outputs = [helper.make_tensor_value_info("age", output_dtype, output_shape)]
    if extra_output:
        nodes.append(helper.make_node("Identity", ["mean"], ["second_out"]))
        outputs.append(helper.make_tensor_value_info("second_out", TensorProto.FLOAT, []))
    graph = helper.make_graph(nodes, "signature", inputs, outputs)
    return make_model(graph).SerializeToString()
