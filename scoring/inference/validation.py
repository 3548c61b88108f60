"""Static checks of a submitted model, before onnxruntime ever sees it (SPEC §5).

Runs inside the inference child: it parses untrusted bytes. It uses ``onnx`` only; the
checks that need onnxruntime (can it build a session, what does the model return) live in
:mod:`scoring.inference.runtime`.

Order matters: the cheap, specific checks (size, ORT format, external data, custom domains,
the declared signature) come before ``onnx.checker`` so that the participant reads the
precise reason rather than the checker's account of its consequences.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError
from onnx import AttributeProto, GraphProto, ModelProto, TensorProto, TypeProto

from scoring.inference.contract import (
    MIB,
    Dim,
    InputDType,
    Layout,
    ModelSignature,
    Preset,
)
from scoring.inference.errors import (
    CUSTOM_DOMAIN,
    EXTERNAL_DATA,
    INPUT_BATCH,
    INPUT_CHANNELS,
    INPUT_COUNT,
    INPUT_DTYPE,
    INPUT_RANK,
    INPUT_SIZE,
    INVALID_MODEL,
    MODEL_TOO_LARGE,
    NOT_ONNX,
    ORT_FORMAT,
    OUTPUT_COUNT,
    OUTPUT_DTYPE,
    OUTPUT_SHAPE,
    PRESET_NEEDS_FLOAT,
    ModelRejected,
)

STANDARD_DOMAINS: frozenset[str] = frozenset({"", "ai.onnx", "ai.onnx.ml"})
"""Operator domains a submission may use: no contrib, vendor or custom operators."""

ORT_FORMAT_MAGIC = b"ORTM"
"""The flatbuffer file identifier of onnxruntime's ORT format, at bytes 4..8."""

INPUT_DTYPES: dict[int, InputDType] = {TensorProto.UINT8: "uint8", TensorProto.FLOAT: "float32"}
OUTPUT_DTYPES: dict[int, str] = {
    TensorProto.FLOAT: "float32",
    TensorProto.FLOAT16: "float16",
    TensorProto.DOUBLE: "float64",
}

_REASON_CHARS = 300


def read_model_bytes(path: Path, *, max_bytes: int) -> bytes:
    """Read a model file, refusing one over ``max_bytes`` without reading it all.

    Example:
        >>> import tempfile, os
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = Path(tmp, "m.onnx"); _ = path.write_bytes(b"abc")
        ...     read_model_bytes(path, max_bytes=10)
        b'abc'
    """
    with open(path, "rb") as file:
        data = file.read(max_bytes + 1)
        if len(data) > max_bytes:
            file.seek(0, 2)
            raise ModelRejected(
                MODEL_TOO_LARGE.format(size_mib=file.tell() / MIB, limit_mib=max_bytes / MIB)
            )
    return data


def parse_model(data: bytes) -> ModelProto:
    """Parse model bytes, rejecting the ORT format and anything that is not an ONNX model.

    Example:
        >>> parse_model(b"not a model")
        Traceback (most recent call last):
        ...
        scoring.inference.errors.ModelRejected: The file is not an ONNX model: it could not be read as an ONNX protobuf.
    """  # noqa: E501
    # The ORT magic is only trusted for bytes that are not an ONNX model: a real model's
    # producer name could start with "ORTM" at the same offset.
    not_onnx = ModelRejected(ORT_FORMAT if data[4:8] == ORT_FORMAT_MAGIC else NOT_ONNX)
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise not_onnx from exc
    # Protobuf is lenient: many byte strings parse as a message of unknown fields.
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.output:
        raise not_onnx
    return model


def validate_model(
    data: bytes, *, input_size: tuple[int, int], preset: Preset = "raw"
) -> ModelSignature:
    """Every static check of SPEC §5 on the model bytes; returns the model's signature.

    In order: ORT format, ONNX parsing, external data, operator domains, the input/output
    signature (declared shapes, before the checker, which would otherwise report a
    participant's wrong signature as an inconsistency), then the full ONNX checker.

    Example:
        >>> from scoring.inference.builders import build_red_mean_model
        >>> validate_model(build_red_mean_model(), input_size=(224, 224)).layout
        'NHWC'
    """
    model = parse_model(data)
    reject_external_data(model)
    reject_custom_domains(model)
    signature = read_signature(model, input_size=input_size, preset=preset, model_bytes=len(data))
    del model
    run_onnx_checker(data)
    return signature


def run_onnx_checker(data: bytes) -> None:
    """Run ``onnx.checker.check_model`` with ``full_check`` (strict shape inference).

    Example:
        >>> from scoring.inference.builders import build_red_mean_model
        >>> run_onnx_checker(build_red_mean_model())
    """
    try:
        # Bytes, not the proto: the checker would serialize the proto again.
        onnx.checker.check_model(data, full_check=True)
    except Exception as exc:  # the checker raises several unrelated types
        raise ModelRejected(INVALID_MODEL.format(reason=short_reason(str(exc)))) from exc


def reject_external_data(model: ModelProto) -> None:
    """Refuse any tensor stored outside the file, in the main graph, subgraphs or functions.

    onnxruntime resolves external data against the model's directory (or the working directory
    for a model given as bytes), so a location like ``../../secret`` or a symbolic link would
    read files of the scoring machine.

    Example:
        >>> from scoring.inference.builders import build_red_mean_model
        >>> reject_external_data(onnx.load_model_from_string(build_red_mean_model()))
    """
    for tensor in _all_tensors(model):
        if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data) > 0:
            location = next((e.value for e in tensor.external_data if e.key == "location"), "")
            raise ModelRejected(
                EXTERNAL_DATA.format(tensor=_clip(tensor.name), location=_clip(location))
            )


def reject_custom_domains(model: ModelProto) -> None:
    """Refuse opset imports and nodes outside :data:`STANDARD_DOMAINS`, subgraphs included.

    Example:
        >>> from scoring.inference.builders import build_red_mean_model
        >>> reject_custom_domains(onnx.load_model_from_string(build_red_mean_model()))
    """
    opset_imports = [*model.opset_import]
    for function in model.functions:
        opset_imports.extend(function.opset_import)
    for opset in opset_imports:
        if opset.domain not in STANDARD_DOMAINS:
            raise ModelRejected(
                CUSTOM_DOMAIN.format(domain=_clip(opset.domain), where="in its opset imports")
            )
    for node in _all_nodes(model):
        if node.domain not in STANDARD_DOMAINS:
            where = f"node '{_clip(node.name)}' of type {_clip(node.op_type)}"
            raise ModelRejected(CUSTOM_DOMAIN.format(domain=_clip(node.domain), where=where))


def read_signature(
    model: ModelProto,
    *,
    input_size: tuple[int, int],
    preset: Preset = "raw",
    model_bytes: int = 0,
) -> ModelSignature:
    """Check the input and output against SPEC §5 and describe them.

    The layout is read from the axis of size 3: axis 1 means NCHW, axis 3 NHWC; when both are
    3 (only possible for 3-pixel-wide images) NCHW wins. H and W must equal ``input_size`` or
    be symbolic; the batch may be symbolic or fixed.

    Example:
        >>> from scoring.inference.builders import build_red_mean_model
        >>> model = onnx.load_model_from_string(build_red_mean_model(layout="NCHW"))
        >>> sig = read_signature(model, input_size=(224, 224))
        >>> sig.layout, sig.input_dtype, sig.input_shape, sig.batch_size
        ('NCHW', 'uint8', ('N', 3, 'H', 'W'), None)
    """
    graph = model.graph
    initializers = {t.name for t in graph.initializer} | {
        s.values.name for s in graph.sparse_initializer
    }
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ModelRejected(INPUT_COUNT.format(count=len(inputs), names=_names(inputs)))
    image = inputs[0]
    name = _clip(image.name)
    input_dtype = INPUT_DTYPES.get(_elem_type(image.type))
    if input_dtype is None:
        raise ModelRejected(INPUT_DTYPE.format(name=name, found=_type_name(image.type)))
    shape = _shape(image.type)
    if shape is None or len(shape) != 4:
        raise ModelRejected(INPUT_RANK.format(name=name, shape=_format_shape(shape)))
    layout: Layout
    if shape[1] == 3:
        layout, spatial = "NCHW", (shape[2], shape[3])
    elif shape[3] == 3:
        layout, spatial = "NHWC", (shape[1], shape[2])
    else:
        raise ModelRejected(INPUT_CHANNELS.format(name=name, shape=_format_shape(shape)))
    if any(isinstance(d, int) and d != want for d, want in zip(spatial, input_size, strict=True)):
        raise ModelRejected(
            INPUT_SIZE.format(
                name=name, shape=_format_shape(shape), height=input_size[0], width=input_size[1]
            )
        )
    batch = shape[0]
    if isinstance(batch, int) and batch <= 0:
        raise ModelRejected(INPUT_BATCH.format(name=name, shape=_format_shape(shape)))
    if preset != "raw" and input_dtype == "uint8":
        raise ModelRejected(PRESET_NEEDS_FLOAT.format(preset=preset, name=name))

    outputs = list(graph.output)
    if len(outputs) != 1:
        raise ModelRejected(OUTPUT_COUNT.format(count=len(outputs), names=_names(outputs)))
    output = outputs[0]
    out_name = _clip(output.name)
    output_dtype = OUTPUT_DTYPES.get(_elem_type(output.type))
    if output_dtype is None:
        raise ModelRejected(OUTPUT_DTYPE.format(name=out_name, found=_type_name(output.type)))
    out_shape = _shape(output.type)
    # An unknown output shape, or a symbolic second axis, is checked batch by batch at run time.
    if out_shape is not None and not (
        len(out_shape) in (1, 2)
        and (len(out_shape) == 1 or not isinstance(out_shape[1], int) or out_shape[1] == 1)
        and not (isinstance(out_shape[0], int) and isinstance(batch, int) and out_shape[0] != batch)
    ):
        raise ModelRejected(OUTPUT_SHAPE.format(name=out_name, shape=_format_shape(out_shape)))

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    return ModelSignature(
        input_name=image.name,
        input_dtype=input_dtype,
        layout=layout,
        input_shape=shape,
        batch_size=batch if isinstance(batch, int) else None,
        output_name=output.name,
        output_dtype=output_dtype,
        output_shape=out_shape if out_shape is not None else ("?",),
        opset=int(opset),
        model_bytes=model_bytes,
    )


def short_reason(text: str) -> str:
    """Condense a library error into one short line fit for a participant.

    Drops onnxruntime's ``[ONNXRuntimeError] : 1 : FAIL :`` prefix and source locations,
    collapses whitespace and clips to 300 characters.

    Example:
        >>> short_reason("[ONNXRuntimeError] : 10 : INVALID_GRAPH : /src/graph.cc:123 bad\\n  x")
        'bad x'
    """
    text = re.sub(r"\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*[A-Z_]+\s*:\s*", "", text)
    # A source location, and the C++ signature that may follow it.
    text = re.sub(
        r"\S+\.(?:cc|cpp|h|hpp|cu):\d+\s*(?:[\w:*&<>, ]*::~?\w+\([^)]*\)\s*(?:const\s*)?)?",
        "",
        text,
    )
    text = " ".join(text.split())
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 3] + "..."


def _all_graphs(model: ModelProto) -> Iterator[GraphProto]:
    stack: list[GraphProto] = [model.graph]
    for info in model.training_info:
        stack.extend((info.initialization, info.algorithm))
    attributes: list[AttributeProto] = [
        a for function in model.functions for node in function.node for a in node.attribute
    ]
    while stack or attributes:
        if attributes:
            attribute = attributes.pop()
            # Every field is read whatever the declared type: a hostile model may fill both.
            if attribute.HasField("g"):
                stack.append(attribute.g)
            stack.extend(attribute.graphs)
            continue
        graph = stack.pop()
        yield graph
        attributes.extend(a for node in graph.node for a in node.attribute)


def _all_nodes(model: ModelProto) -> Iterator[onnx.NodeProto]:
    for function in model.functions:
        yield from function.node
    for graph in _all_graphs(model):
        yield from graph.node


def _all_tensors(model: ModelProto) -> Iterator[TensorProto]:
    attributes = [a for function in model.functions for n in function.node for a in n.attribute]
    for graph in _all_graphs(model):
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
        attributes.extend(a for node in graph.node for a in node.attribute)
    for attribute in attributes:
        if attribute.HasField("t"):
            yield attribute.t
        yield from attribute.tensors
        for sparse in (
            [attribute.sparse_tensor] if attribute.HasField("sparse_tensor") else []
        ) + list(attribute.sparse_tensors):
            yield sparse.values
            yield sparse.indices


def _elem_type(value_type: TypeProto) -> int:
    return value_type.tensor_type.elem_type if value_type.HasField("tensor_type") else -1


def _type_name(value_type: TypeProto) -> str:
    kind = value_type.WhichOneof("value")
    if kind != "tensor_type":
        return f"{kind or 'unknown'} (not a tensor)"
    elem = value_type.tensor_type.elem_type
    try:
        return str(onnx.helper.tensor_dtype_to_np_dtype(elem))
    except (KeyError, ValueError, TypeError):
        return (
            TensorProto.DataType.Name(elem).lower()
            if elem in TensorProto.DataType.values()
            else str(elem)
        )


def _shape(value_type: TypeProto) -> tuple[Dim, ...] | None:
    tensor = value_type.tensor_type
    if not tensor.HasField("shape"):
        return None
    dims: list[Dim] = []
    for dim in tensor.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        else:
            dims.append(_clip(dim.dim_param, 40) if dim.dim_param else "?")
    return tuple(dims)


def _format_shape(shape: tuple[Dim, ...] | None) -> str:
    if shape is None:
        return "unknown"
    return "[" + ",".join(str(d) for d in shape) + "]"


def _names(values: list[onnx.ValueInfoProto]) -> str:
    if not values:
        return ""
    shown = ", ".join(f"'{_clip(v.name, 40)}'" for v in values[:5])
    return f" ({shown}{', ...' if len(values) > 5 else ''})"


def _clip(text: str, limit: int = 100) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
