"""The reference models: the demo's red-mean baseline and the benchmark's ResNet-50 shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from scoring.inference import run_model
from scoring.inference.builders import build_red_mean_model, build_resnet50_like_model
from scoring.inference.validation import validate_model
from tests.scoring.inference.conftest import LIMITS


def test_red_mean_model_recovers_the_age_signal_of_noisy_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ages = rng.uniform(1, 90, size=20)
    red_means = 30.0 + 2.0 * ages
    images = rng.integers(0, 256, size=(20, 24, 24, 3)).astype(np.uint8)
    # Red channel: each image's target mean, with +-10 noise that averages out exactly.
    noise = np.tile(np.array([-10, 10]), 24 * 24 // 2).reshape(24, 24)
    images[..., 0] = np.rint(red_means[:, None, None] + noise).clip(0, 255).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    build_red_mean_model(tmp_path / "baseline.onnx")
    result = run_model(
        tmp_path / "baseline.onnx", tmp_path / "images.npy", provider="cpu", limits=LIMITS
    )
    np.testing.assert_allclose(result.predictions, ages, atol=0.26)


def test_red_mean_model_writes_the_bytes_it_returns(tmp_path: Path) -> None:
    data = build_red_mean_model(tmp_path / "m.onnx", layout="NCHW", dtype="float32")
    assert (tmp_path / "m.onnx").read_bytes() == data


def test_resnet50_like_model_has_the_shape_and_size_of_resnet50() -> None:
    model = onnx.load_model_from_string(build_resnet50_like_model())
    parameters = sum(numpy_helper.to_array(t).size for t in model.graph.initializer)
    convolutions = sum(n.op_type == "Conv" for n in model.graph.node)
    # ResNet-50 has 25.6 M parameters, 2 M of them in its 1000-class head; this one has 1 unit.
    assert 23_000_000 < parameters < 24_000_000
    assert convolutions == 53  # stem + 16 blocks x 3 + 4 projection shortcuts
    signature = validate_model(
        model.SerializeToString(), input_size=(224, 224), preset="keras-resnet50"
    )
    assert signature.input_shape == ("N", 3, 224, 224)
    assert signature.output_shape == ("N", 1)


def test_small_resnet_variant_runs_in_the_sandbox_with_a_sigmoid_head(tmp_path: Path) -> None:
    build_resnet50_like_model(
        tmp_path / "r.onnx", input_size=(32, 32), base_width=4, blocks=(1, 1, 1, 1)
    )
    images = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    result = run_model(
        tmp_path / "r.onnx",
        tmp_path / "images.npy",
        preset="keras-resnet50",
        output_scale=100,
        provider="cpu",
        batch_size=2,
        limits=LIMITS,
    )
    assert result.predictions.shape == (5,)
    assert ((result.predictions > 0) & (result.predictions < 100)).all()
