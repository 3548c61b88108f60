"""Static checks of SPEC §5, run in-process on model bytes (the child runs the same code)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto

from scoring.inference.builders import build_red_mean_model
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
from scoring.inference.validation import read_model_bytes, short_reason, validate_model
from tests.scoring.inference import models

SIZE = (models.SIZE, models.SIZE)


def rejection(data: bytes, *, input_size: tuple[int, int] = SIZE, preset: str = "raw") -> str:
    with pytest.raises(ModelRejected) as caught:
        validate_model(data, input_size=input_size, preset=preset)  # type: ignore[arg-type]
    return str(caught.value)


# --- accepted signatures ---------------------------------------------------------------------


def test_uint8_nhwc_model_with_symbolic_sizes_is_accepted() -> None:
    signature = validate_model(build_red_mean_model(), input_size=(224, 224))
    assert signature.input_name == "image"
    assert signature.input_dtype == "uint8"
    assert signature.layout == "NHWC"
    assert signature.input_shape == ("N", "H", "W", 3)
    assert signature.batch_size is None
    assert signature.output_name == "age"
    assert signature.output_shape == ("N",)
    assert signature.opset == 17


def test_float32_nchw_model_with_fixed_batch_and_size_is_accepted() -> None:
    data = build_red_mean_model(layout="NCHW", dtype="float32", batch=1, input_size=SIZE)
    signature = validate_model(data, input_size=SIZE, preset="imagenet")
    assert signature.layout == "NCHW"
    assert signature.input_dtype == "float32"
    assert signature.input_shape == (1, 3, 16, 16)
    assert signature.batch_size == 1


def test_column_output_is_accepted() -> None:
    signature = validate_model(build_red_mean_model(output_rank=2), input_size=SIZE)
    assert signature.output_shape == ("N", 1)


@pytest.mark.parametrize(
    ("dtype", "name"),
    [(TensorProto.FLOAT16, "float16"), (TensorProto.DOUBLE, "float64")],
)
def test_float16_and_float64_outputs_are_accepted(dtype: int, name: str) -> None:
    signature = validate_model(models.constant_shift_model(1.0, dtype=dtype), input_size=SIZE)
    assert signature.output_dtype == name


def test_both_axes_of_size_three_mean_nchw() -> None:
    data = models.signature_model(input_shape=["N", 3, 3, 3], output_shape=[])
    # The signature is read before the checker: the scalar output is rejected after layout.
    assert rejection(data, input_size=(3, 3)) == OUTPUT_SHAPE.format(name="age", shape="[]")


# --- the file --------------------------------------------------------------------------------


def test_random_bytes_are_not_onnx() -> None:
    data = np.random.default_rng(0).bytes(4096)
    assert rejection(data) == NOT_ONNX


def test_empty_file_is_not_onnx() -> None:
    assert rejection(b"") == NOT_ONNX


def test_text_file_is_not_onnx() -> None:
    assert rejection(b"age\n31.5\n42.0\n") == NOT_ONNX


def test_ort_format_file_is_rejected_as_such() -> None:
    assert rejection(models.ort_format_file()) == ORT_FORMAT


def test_model_converted_to_ort_format_by_onnxruntime_is_rejected_as_such() -> None:
    assert rejection(models.real_ort_format_file()) == ORT_FORMAT


def test_onnx_model_with_the_ort_magic_at_offset_4_is_still_onnx() -> None:
    signature = validate_model(models.onnx_model_looking_like_ort_format(), input_size=SIZE)
    assert signature.output_name == "age"


def test_model_over_the_size_limit_is_rejected_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.onnx"
    path.write_bytes(b"\0" * (3 * 1024**2))
    with pytest.raises(ModelRejected) as caught:
        read_model_bytes(path, max_bytes=1024**2)
    assert str(caught.value) == MODEL_TOO_LARGE.format(size_mib=3.0, limit_mib=1.0)
    assert str(caught.value) == "The model file is 3.0 MiB; the limit is 1.0 MiB."


@pytest.mark.parametrize("where", ["initializer", "constant", "subgraph", "sparse"])
@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "weights.bin"])
def test_external_data_is_rejected_wherever_it_hides(where: str, location: str) -> None:
    tensor = "offset_inner" if where == "subgraph" else "offset"
    assert rejection(models.external_data_model(location, where=where)) == EXTERNAL_DATA.format(
        tensor=tensor, location=location
    )


@pytest.mark.parametrize("domain", ["com.microsoft", "evil.ops"])
def test_custom_operator_domains_are_rejected(domain: str) -> None:
    assert rejection(models.custom_domain_model(domain)) == CUSTOM_DOMAIN.format(
        domain=domain, where="in its opset imports"
    )


def test_custom_domain_node_hidden_in_a_subgraph_is_rejected() -> None:
    assert rejection(models.custom_domain_in_subgraph_model()) == CUSTOM_DOMAIN.format(
        domain="evil.ops", where="node 'hidden' of type Evil"
    )
    assert rejection(models.custom_domain_in_subgraph_model()) == (
        "The model uses the operator domain 'evil.ops' (node 'hidden' of type Evil); only the "
        "standard ONNX domains '' (ai.onnx) and 'ai.onnx.ml' are allowed."
    )


def test_initializer_lying_about_its_size_is_rejected_by_the_checker() -> None:
    message = rejection(models.lying_initializer_model())
    assert message == INVALID_MODEL.format(
        reason="TensorProto (tensor name: offset) raw_data size (8 bytes) is too small for the "
        "declared shape and type (4000000 bytes required)."
    )


# --- the signature ---------------------------------------------------------------------------


def test_two_inputs_are_rejected() -> None:
    data = models.signature_model(input_shape=["N", 16, 16, 3], extra_input=True)
    assert rejection(data) == INPUT_COUNT.format(count=2, names=" ('image', 'second')")


def test_integer_input_is_rejected() -> None:
    data = models.signature_model(input_shape=["N", 16, 16, 3], input_dtype=TensorProto.INT32)
    assert rejection(data) == INPUT_DTYPE.format(name="image", found="int32")


def test_rank_3_input_is_rejected() -> None:
    data = models.signature_model(input_shape=[16, 16, 3])
    assert rejection(data) == INPUT_RANK.format(name="image", shape="[16,16,3]")


def test_input_without_a_shape_is_rejected() -> None:
    data = models.signature_model(input_shape=None)
    assert rejection(data) == INPUT_RANK.format(name="image", shape="unknown")


def test_four_channels_are_rejected() -> None:
    data = models.signature_model(input_shape=["N", 16, 16, 4])
    assert rejection(data) == INPUT_CHANNELS.format(name="image", shape="[N,16,16,4]")


def test_input_size_other_than_the_phase_is_rejected() -> None:
    data = models.signature_model(input_shape=["N", 3, 224, 224])
    assert rejection(data, input_size=(64, 64)) == INPUT_SIZE.format(
        name="image", shape="[N,3,224,224]", height=64, width=64
    )
    assert rejection(data, input_size=(64, 64)) == (
        "The model input 'image' has shape [N,3,224,224]; the images of this phase are 64x64, "
        "so H and W must be 64 and 64 or symbolic."
    )


def test_zero_batch_is_rejected() -> None:
    data = models.signature_model(input_shape=[0, 16, 16, 3])
    assert rejection(data) == INPUT_BATCH.format(name="image", shape="[0,16,16,3]")


def test_two_outputs_are_rejected() -> None:
    data = models.signature_model(input_shape=["N", 16, 16, 3], extra_output=True)
    assert rejection(data) == OUTPUT_COUNT.format(count=2, names=" ('age', 'second_out')")


def test_integer_output_is_rejected() -> None:
    data = models.signature_model(input_shape=["N", 16, 16, 3], output_dtype=TensorProto.INT64)
    assert rejection(data) == OUTPUT_DTYPE.format(name="age", found="int64")


@pytest.mark.parametrize(
    ("shape", "shown"), [(["N", 2], "[N,2]"), (["N", 1, 1], "[N,1,1]"), ([], "[]")]
)
def test_output_other_than_n_or_n_by_1_is_rejected(shape: list[int | str], shown: str) -> None:
    data = models.signature_model(input_shape=["N", 16, 16, 3], output_shape=shape)
    assert rejection(data) == OUTPUT_SHAPE.format(name="age", shape=shown)


def test_fixed_output_batch_other_than_the_input_batch_is_rejected() -> None:
    data = models.signature_model(input_shape=[1, 16, 16, 3], output_shape=[2])
    assert rejection(data) == OUTPUT_SHAPE.format(name="age", shape="[2]")


@pytest.mark.parametrize("preset", ["keras-resnet50", "imagenet"])
def test_float_preset_on_a_uint8_model_is_rejected(preset: str) -> None:
    assert rejection(build_red_mean_model(), preset=preset) == PRESET_NEEDS_FLOAT.format(
        preset=preset, name="image"
    )


# --- messages --------------------------------------------------------------------------------


def test_short_reason_drops_onnxruntime_prefixes_and_source_paths() -> None:
    text = (
        "[ONNXRuntimeError] : 1 : FAIL : /onnxruntime_src/onnxruntime/core/framework/"
        "bfc_arena.cc:360 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, "
        "onnxruntime::Stream*) Failed to allocate\n   memory"
    )
    assert short_reason(text) == "Failed to allocate memory"
    assert short_reason("tensorprotoutils.cc:1730 Validate Initializer 'w'") == (
        "Validate Initializer 'w'"
    )


def test_short_reason_clips_long_text() -> None:
    assert short_reason("x" * 1000) == "x" * 297 + "..."
