"""Hostile and broken models through the real sandbox: each is rejected with its message, and
the next, normal model still runs (the parent is unaffected)."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from scoring.inference import InferenceError, InferenceLimits, ModelRejected, check_model, run_model
from scoring.inference import sandbox as sandbox_module
from scoring.inference.errors import (
    CPU_TIME_LIMIT,
    CRASHED,
    CUSTOM_DOMAIN,
    EXTERNAL_DATA,
    INVALID_MODEL,
    MODEL_TOO_LARGE,
    NON_FINITE,
    NOT_ONNX,
    ORT_FORMAT,
    OUT_OF_RANGE,
    OUTPUT_LENGTH,
    RUNTIME_FAILURE,
    TIME_LIMIT,
    memory_limit_message,
)
from tests.scoring.inference import models
from tests.scoring.inference.conftest import LIMITS, ModelWriter

SandboxCheck = Callable[[], None]

TIGHT = InferenceLimits(wall_seconds=3, memory_bytes=1024**3, threads=1)
"""Limits for the models that must hit one: short enough to keep the suite fast."""


@pytest.fixture(autouse=True)
def sandbox_still_works(assert_sandbox_works: SandboxCheck) -> Iterator[None]:
    """After every hostile case, a normal model still runs fine in a fresh child."""
    yield
    assert_sandbox_works()


def rejected_by_run(model: Path, images: Path, limits: InferenceLimits = LIMITS) -> ModelRejected:
    with pytest.raises(ModelRejected) as caught:
        run_model(model, images, provider="cpu", limits=limits)
    return caught.value


def rejected_by_check(model: Path, limits: InferenceLimits = LIMITS) -> ModelRejected:
    with pytest.raises(ModelRejected) as caught:
        check_model(model, input_size=(models.SIZE, models.SIZE), limits=limits)
    return caught.value


# --- not a model -----------------------------------------------------------------------------


def test_random_bytes(write_model: ModelWriter) -> None:
    model = write_model(np.random.default_rng(1).bytes(10_000))
    assert str(rejected_by_check(model)) == NOT_ONNX


def test_ort_format_file(write_model: ModelWriter) -> None:
    assert str(rejected_by_check(write_model(models.ort_format_file()))) == ORT_FORMAT


def test_model_in_ort_format(write_model: ModelWriter, images_path: Path) -> None:
    model = write_model(models.real_ort_format_file())
    assert str(rejected_by_run(model, images_path)) == ORT_FORMAT


def test_model_over_the_size_limit(write_model: ModelWriter) -> None:
    model = write_model(models.slow_model() + b"\0" * 2 * 1024**2)
    small = InferenceLimits(max_model_bytes=1024**2, threads=1)
    message = str(rejected_by_check(model, small))
    assert message == MODEL_TOO_LARGE.format(size_mib=model.stat().st_size / 1024**2, limit_mib=1)


# --- reaching outside the file ---------------------------------------------------------------


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the model's directory holding a valid ``offset`` (float32 30.0): the
    external-data models below would load and run if their data were followed."""
    path = tmp_path / "secret.bin"
    path.write_bytes(struct.pack("<f", 30.0))
    return path


@pytest.mark.parametrize("kind", ["parent", "absolute", "symlink"])
def test_external_data_pointing_outside(
    write_model: ModelWriter, tmp_path: Path, secret: Path, kind: str
) -> None:
    model_dir = tmp_path / "upload"
    model_dir.mkdir()
    if kind == "parent":
        location = "../secret.bin"
    elif kind == "absolute":
        location = str(secret)
    else:
        os.symlink(secret, model_dir / "weights.bin")
        location = "weights.bin"
    model = write_model(models.external_data_model(location), "upload/model.onnx")
    assert str(rejected_by_check(model)) == EXTERNAL_DATA.format(tensor="offset", location=location)


def test_external_data_inside_an_if_branch(write_model: ModelWriter, secret: Path) -> None:
    model = write_model(models.external_data_model(str(secret), where="subgraph"))
    assert str(rejected_by_check(model)) == EXTERNAL_DATA.format(
        tensor="offset_inner", location=str(secret)
    )


def test_custom_operator_domain(write_model: ModelWriter, images_path: Path) -> None:
    model = write_model(models.custom_domain_model("com.microsoft"))
    assert str(rejected_by_run(model, images_path)) == CUSTOM_DOMAIN.format(
        domain="com.microsoft", where="in its opset imports"
    )


def test_initializer_lying_about_its_size(write_model: ModelWriter) -> None:
    message = str(rejected_by_check(write_model(models.lying_initializer_model())))
    assert message.startswith(INVALID_MODEL.format(reason=""))
    assert "raw_data size (8 bytes)" in message


# --- limits ----------------------------------------------------------------------------------


def test_infinite_loop_is_killed_at_the_time_limit(
    write_model: ModelWriter, images_path: Path
) -> None:
    rejection = rejected_by_run(write_model(models.infinite_loop_model()), images_path, TIGHT)
    assert str(rejection) == TIME_LIMIT.format(seconds=3)
    assert str(rejection) == "The model exceeded the time limit of 3 s."


def test_slow_model_is_killed_at_the_time_limit_of_check_model(write_model: ModelWriter) -> None:
    rejection = rejected_by_check(write_model(models.slow_model()), TIGHT)
    assert str(rejection) == TIME_LIMIT.format(seconds=3)


def test_slow_model_is_stopped_by_the_cpu_time_limit(
    write_model: ModelWriter, images_path: Path
) -> None:
    limits = InferenceLimits(wall_seconds=30, cpu_seconds=2, threads=1)
    rejection = rejected_by_run(write_model(models.slow_model()), images_path, limits)
    assert str(rejection) == CPU_TIME_LIMIT.format(seconds=2)


def test_memory_bomb_sized_by_the_pixels_passes_the_check_and_fails_the_run(
    write_model: ModelWriter, images_path: Path
) -> None:
    model = write_model(models.memory_bomb_model())
    one_gib = InferenceLimits(wall_seconds=60, memory_bytes=1024**3, threads=1)
    check_model(model, input_size=(models.SIZE, models.SIZE), limits=one_gib)
    rejection = rejected_by_run(model, images_path, one_gib)
    assert str(rejection) == memory_limit_message(1024**3)
    assert str(rejection) == "The model exceeded the memory limit of 1 GiB."


# --- outputs ---------------------------------------------------------------------------------


def test_nan_outputs_are_counted_and_located(write_model: ModelWriter, images_path: Path) -> None:
    # The images' mean pixel values are 100, 93.3, 86.7, 80, 73.3, 66.7: log(mean - 85) is NaN
    # for the last three.
    model = write_model(models.log_model(85.0))
    # The upload check runs a blank image (NaN here too): only the output's shape counts there.
    check_model(model, input_size=(models.SIZE, models.SIZE), limits=LIMITS)
    assert str(rejected_by_run(model, images_path)) == NON_FINITE.format(count=3, total=6, index=3)


def test_outputs_beyond_ten_thousand_years_after_the_scale_are_rejected(
    write_model: ModelWriter, images_path: Path
) -> None:
    # 0.25 for every image: 12,500 years once multiplied by the participant's scale of 50,000.
    model = write_model(models.constant_shift_model(0.25))
    with pytest.raises(ModelRejected) as caught:
        run_model(model, images_path, output_scale=50_000, provider="cpu", limits=LIMITS)
    assert str(caught.value) == OUT_OF_RANGE.format(count=6, scale=50_000, total=6, index=0)
    assert str(caught.value) == (
        "The model produced 6 outputs beyond ±10,000 years (after the output scale 50000) for 6 "
        "images; the first is for image 0. Check the output scale."
    )


def test_infinite_outputs_are_rejected(write_model: ModelWriter, images_path: Path) -> None:
    # log(mean - 80): -inf for image 3 (mean exactly 80), NaN for images 4 and 5.
    model = write_model(models.log_model(80.0))
    assert str(rejected_by_run(model, images_path)) == (
        "The model produced 3 non-finite outputs (NaN or infinity) for 6 images; the first is "
        "for image 3."
    )


def test_output_of_the_wrong_length(write_model: ModelWriter, images_path: Path) -> None:
    model = write_model(models.doubled_output_model())
    assert str(rejected_by_run(model, images_path)) == OUTPUT_LENGTH.format(shape="[12]", batch=6)


def test_wrong_output_length_is_caught_by_check_model(write_model: ModelWriter) -> None:
    message = str(rejected_by_check(write_model(models.doubled_output_model())))
    assert message == OUTPUT_LENGTH.format(shape="[2]", batch=1)


def test_error_at_run_time_names_the_node_only(write_model: ModelWriter, images_path: Path) -> None:
    rejection = rejected_by_run(write_model(models.runtime_error_model()), images_path)
    assert str(rejection) == RUNTIME_FAILURE.format(op="Reshape", node="bad_reshape")
    assert "requested shape" in rejection.detail


# --- deaths only a fake child can stage ------------------------------------------------------


@pytest.fixture
def fake_child(monkeypatch: pytest.MonkeyPatch, write_model: ModelWriter) -> Callable[[str], Path]:
    """Makes the sandbox start ``tests.scoring.inference.fake_child``; returns a writer of the
    "model" file naming the misbehaviour."""
    monkeypatch.setattr(sandbox_module, "CHILD_MODULE", "tests.scoring.inference.fake_child")
    return lambda behaviour: write_model(behaviour.encode())


def test_native_crash_is_reported_by_signal(
    fake_child: Callable[[str], Path], images_path: Path
) -> None:
    rejection = rejected_by_run(fake_child("segfault"), images_path)
    assert str(rejection) == CRASHED.format(signal="SIGSEGV")


def test_kill_by_the_system_reads_as_the_memory_limit(
    fake_child: Callable[[str], Path], images_path: Path
) -> None:
    assert str(rejected_by_run(fake_child("oom-killed"), images_path)) == memory_limit_message(
        LIMITS.memory_bytes
    )


def test_abort_on_bad_alloc_reads_as_the_memory_limit(
    fake_child: Callable[[str], Path], images_path: Path
) -> None:
    rejection = rejected_by_run(fake_child("bad-alloc-abort"), images_path)
    assert str(rejection) == memory_limit_message(LIMITS.memory_bytes)
    assert "std::bad_alloc" in rejection.detail


def test_cpu_limit_signal_reads_as_the_cpu_time_limit(
    fake_child: Callable[[str], Path], images_path: Path
) -> None:
    assert str(rejected_by_run(fake_child("cpu-limit"), images_path)) == CPU_TIME_LIMIT.format(
        seconds=LIMITS.cpu_limit_seconds(threads=1)
    )


def test_exit_without_result_is_a_sandbox_error_with_a_sanitised_log(
    fake_child: Callable[[str], Path], images_path: Path
) -> None:
    with pytest.raises(InferenceError) as caught:
        run_model(fake_child("exit-without-result"), images_path, limits=LIMITS)
    assert "exited with status 3" in str(caught.value)
    assert "something broke in <job>" in str(caught.value)
    assert "fairboard-job-" not in str(caught.value)


def test_predictions_of_the_wrong_length_are_a_sandbox_error(
    fake_child: Callable[[str], Path], images_path: Path
) -> None:
    with pytest.raises(InferenceError, match=r"returned float64 \(2,\) predictions for 6 images"):
        run_model(fake_child("short-predictions"), images_path, limits=LIMITS)


def test_child_internal_error_is_a_sandbox_error(
    fake_child: Callable[[str], Path], images_path: Path
) -> None:
    with pytest.raises(InferenceError, match="the inference process failed: KeyError"):
        run_model(fake_child("internal-error"), images_path, limits=LIMITS)
