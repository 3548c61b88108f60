"""Well-behaved models through the sandbox: every accepted signature, preset and option."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto

from scoring.inference import (
    InferenceCancelled,
    InferenceError,
    InferenceLimits,
    ModelRejected,
    check_model,
    run_model,
)
from scoring.inference.builders import build_red_mean_model
from scoring.inference.contract import Layout
from scoring.inference.errors import INPUT_SIZE, PRESET_NEEDS_FLOAT, TIME_LIMIT
from scoring.inference.preprocessing import (
    IMAGENET_MEAN_RGB,
    IMAGENET_STD_RGB,
    KERAS_RESNET50_MEAN_BGR,
)
from tests.scoring.inference import models
from tests.scoring.inference.conftest import (
    BLUE,
    GREEN,
    LIMITS,
    RED,
    ModelWriter,
    expected_red_ages,
)

CPU = "CPUExecutionProvider"


def test_uint8_nhwc_model_reads_the_red_channel(
    images_path: Path, write_model: ModelWriter
) -> None:
    model = write_model(build_red_mean_model())
    result = run_model(model, images_path, provider="cpu", limits=LIMITS)
    assert result.predictions.dtype == np.float64
    assert result.predictions.tolist() == expected_red_ages()
    assert result.execution_provider == CPU
    assert result.signature.layout == "NHWC"
    assert result.batch_size == 32
    assert 0 < result.inference_seconds < result.seconds
    assert result.images_per_second == pytest.approx(len(RED) / result.seconds)


def test_auto_provider_records_what_actually_ran(
    images_path: Path, write_model: ModelWriter
) -> None:
    result = run_model(write_model(build_red_mean_model()), images_path, limits=LIMITS)
    assert result.execution_provider in ("CUDAExecutionProvider", CPU)
    assert result.predictions.tolist() == expected_red_ages()


def test_float32_nchw_model_gets_raw_pixel_values(
    images_path: Path, write_model: ModelWriter
) -> None:
    model = write_model(build_red_mean_model(layout="NCHW", dtype="float32", offset=40, slope=4))
    result = run_model(model, images_path, provider="cpu", limits=LIMITS)
    assert result.predictions.tolist() == expected_red_ages(offset=40, slope=4)
    assert result.signature.layout == "NCHW"
    assert result.signature.input_dtype == "float32"


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_fixed_batch_of_one_forces_batches_of_one(
    images_path: Path, write_model: ModelWriter, layout: Layout
) -> None:
    model = write_model(build_red_mean_model(layout=layout, batch=1, input_size=(16, 16)))
    result = run_model(model, images_path, provider="cpu", batch_size=4, limits=LIMITS)
    assert result.batch_size == 1
    assert result.signature.batch_size == 1
    assert result.predictions.tolist() == expected_red_ages()


def test_fixed_batch_larger_than_the_remainder_is_padded(
    images_path: Path, write_model: ModelWriter
) -> None:
    model = write_model(build_red_mean_model(batch=4))
    result = run_model(model, images_path, provider="cpu", batch_size=2, limits=LIMITS)
    assert result.batch_size == 4
    assert result.predictions.tolist() == expected_red_ages()


def test_symbolic_batch_takes_the_requested_batch_size(
    images_path: Path, write_model: ModelWriter
) -> None:
    seen: list[tuple[int, int]] = []
    model = write_model(build_red_mean_model())
    result = run_model(
        model,
        images_path,
        provider="cpu",
        batch_size=4,
        limits=LIMITS,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result.batch_size == 4
    assert result.predictions.tolist() == expected_red_ages()
    assert seen[-1] == (6, 6)
    assert seen == sorted(seen)


def test_column_output_is_flattened(images_path: Path, write_model: ModelWriter) -> None:
    model = write_model(build_red_mean_model(output_rank=2))
    result = run_model(model, images_path, provider="cpu", limits=LIMITS)
    assert result.predictions.shape == (6,)
    assert result.predictions.tolist() == expected_red_ages()


@pytest.mark.parametrize(
    ("preset", "channel", "expected"),
    [
        ("raw", 0, [float(r) for r in RED]),
        ("raw", 2, [float(b) for b in BLUE]),
        ("keras-resnet50", 0, [b - KERAS_RESNET50_MEAN_BGR[0] for b in BLUE]),
        ("keras-resnet50", 1, [g - KERAS_RESNET50_MEAN_BGR[1] for g in GREEN]),
        ("keras-resnet50", 2, [r - KERAS_RESNET50_MEAN_BGR[2] for r in RED]),
        ("imagenet", 0, [(r / 255 - IMAGENET_MEAN_RGB[0]) / IMAGENET_STD_RGB[0] for r in RED]),
        ("imagenet", 2, [(b / 255 - IMAGENET_MEAN_RGB[2]) / IMAGENET_STD_RGB[2] for b in BLUE]),
    ],
)
@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_presets_feed_the_documented_channel_values(
    images_path: Path,
    write_model: ModelWriter,
    preset: str,
    channel: int,
    expected: list[float],
    layout: Layout,
) -> None:
    model = write_model(models.channel_mean_model(channel, layout=layout))
    result = run_model(model, images_path, preset=preset, provider="cpu", limits=LIMITS)
    np.testing.assert_allclose(result.predictions, expected, rtol=0, atol=1e-4)


def test_output_scale_multiplies_every_prediction(
    images_path: Path, write_model: ModelWriter
) -> None:
    model = write_model(models.constant_shift_model(0.25))
    result = run_model(model, images_path, output_scale=100, provider="cpu", limits=LIMITS)
    assert result.predictions.tolist() == [25.0] * 6


@pytest.mark.parametrize("dtype", [TensorProto.FLOAT16, TensorProto.DOUBLE])
def test_float16_and_float64_outputs_become_float64(
    images_path: Path, write_model: ModelWriter, dtype: int
) -> None:
    model = write_model(models.constant_shift_model(0.5, dtype=dtype))
    result = run_model(model, images_path, output_scale=3, provider="cpu", limits=LIMITS)
    assert result.predictions.dtype == np.float64
    assert result.predictions.tolist() == [1.5] * 6


def test_check_model_returns_the_signature(write_model: ModelWriter) -> None:
    model = write_model(build_red_mean_model(layout="NCHW", dtype="float32", batch=1))
    signature = check_model(model, input_size=(224, 224), preset="imagenet", limits=LIMITS)
    assert signature.layout == "NCHW"
    assert signature.input_dtype == "float32"
    assert signature.batch_size == 1
    assert signature.model_bytes == model.stat().st_size


def test_check_model_rejects_a_preset_for_a_uint8_input(write_model: ModelWriter) -> None:
    model = write_model(build_red_mean_model())
    with pytest.raises(ModelRejected) as caught:
        check_model(model, preset="keras-resnet50", limits=LIMITS)
    assert str(caught.value) == PRESET_NEEDS_FLOAT.format(preset="keras-resnet50", name="image")


def test_run_checks_the_model_against_the_size_of_the_stored_images(
    images_path: Path, write_model: ModelWriter
) -> None:
    model = write_model(build_red_mean_model(input_size=(224, 224)))
    with pytest.raises(ModelRejected) as caught:
        run_model(model, images_path, provider="cpu", limits=LIMITS)
    assert str(caught.value) == INPUT_SIZE.format(
        name="image", shape="[N,224,224,3]", height=16, width=16
    )


def test_job_directory_is_private_and_removed(
    images_path: Path, write_model: ModelWriter, tmp_path: Path
) -> None:
    workdir = tmp_path / "jobs" / "42"
    seen: list[list[Path]] = []

    def look(done: int, total: int) -> None:
        seen.append(list(workdir.iterdir()))

    run_model(
        write_model(build_red_mean_model()),
        images_path,
        provider="cpu",
        limits=LIMITS,
        workdir=workdir,
        progress=look,
    )
    job_dir = seen[0][0]
    assert job_dir.name.startswith("fairboard-job-")
    assert list(workdir.iterdir()) == []


def test_cancel_kills_the_child_and_raises(images_path: Path, write_model: ModelWriter) -> None:
    cancel = threading.Event()
    timer = threading.Timer(1.5, cancel.set)
    timer.start()
    try:
        with pytest.raises(InferenceCancelled):
            run_model(
                write_model(models.infinite_loop_model()),
                images_path,
                provider="cpu",
                limits=InferenceLimits(wall_seconds=30, threads=1),
                cancel=cancel,
            )
    finally:
        timer.cancel()


def test_cuda_requested_without_a_cuda_build_is_an_operator_error(
    images_path: Path, write_model: ModelWriter
) -> None:
    pytest.importorskip("onnxruntime")
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime build has CUDA")
    with pytest.raises(InferenceError, match="CUDA was requested"):
        run_model(write_model(build_red_mean_model()), images_path, provider="cuda", limits=LIMITS)


def test_time_limit_counts_the_whole_job(images_path: Path, write_model: ModelWriter) -> None:
    tight = InferenceLimits(wall_seconds=0.05, threads=1)
    with pytest.raises(ModelRejected) as caught:
        run_model(write_model(build_red_mean_model()), images_path, provider="cpu", limits=tight)
    assert str(caught.value) == TIME_LIMIT.format(seconds=0.05)


def test_bad_arguments_are_programming_errors(images_path: Path, write_model: ModelWriter) -> None:
    model = write_model(build_red_mean_model())
    with pytest.raises(ValueError, match="unknown preprocessing preset"):
        run_model(model, images_path, preset="caffe")
    with pytest.raises(ValueError, match="unknown execution provider"):
        run_model(model, images_path, provider="tpu")
    with pytest.raises(ValueError, match="batch_size"):
        run_model(model, images_path, batch_size=0)
    with pytest.raises(ValueError, match="output_scale"):
        run_model(model, images_path, output_scale=float("nan"))
    with pytest.raises(FileNotFoundError):
        run_model(model.with_name("missing.onnx"), images_path)


def test_images_that_are_not_a_uint8_rgb_array_are_an_operator_error(
    tmp_path: Path, write_model: ModelWriter
) -> None:
    np.save(tmp_path / "gray.npy", np.zeros((2, 16, 16), np.uint8))
    with pytest.raises(InferenceError, match="uint8 N×H×W×3"):
        run_model(write_model(build_red_mean_model()), tmp_path / "gray.npy")


def test_a_relative_working_directory_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service passes its data directory, which may be relative to where it started."""
    build_red_mean_model(tmp_path / "model.onnx")
    images = np.zeros((2, 8, 8, 3), np.uint8)
    images[..., 0] = 90
    np.save(tmp_path / "images.npy", images)
    monkeypatch.chdir(tmp_path)
    result = run_model("model.onnx", "images.npy", provider="cpu", workdir="jobs")
    assert result.predictions.tolist() == [30.0, 30.0]
