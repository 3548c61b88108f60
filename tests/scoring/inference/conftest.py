"""Fixtures of the inference tests: a tiny test-image array and a model writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from scoring.inference import InferenceLimits, run_model
from scoring.inference.builders import build_red_mean_model
from tests.scoring.inference.models import SIZE

RED = (40, 60, 80, 100, 120, 140)
"""The red value of every pixel of each test image: mean red = 30 + 2 * age."""
GREEN = (10, 20, 30, 40, 50, 60)
BLUE = (250, 200, 150, 100, 50, 0)

LIMITS = InferenceLimits(wall_seconds=60, memory_bytes=2 * 1024**3, threads=1)
"""Generous limits for models that should succeed, even on a loaded 2-core machine."""

ModelWriter = Callable[..., Path]


def make_images() -> np.ndarray:
    images = np.empty((len(RED), SIZE, SIZE, 3), np.uint8)
    images[..., 0] = np.array(RED, np.uint8)[:, None, None]
    images[..., 1] = np.array(GREEN, np.uint8)[:, None, None]
    images[..., 2] = np.array(BLUE, np.uint8)[:, None, None]
    return images


def expected_red_ages(offset: float = 30.0, slope: float = 2.0) -> list[float]:
    return [(r - offset) / slope for r in RED]


@pytest.fixture(scope="session")
def images_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six 16x16 images, each of one colour, as the test set's uint8 N×H×W×3 .npy file."""
    path = tmp_path_factory.mktemp("testset") / "images.npy"
    np.save(path, make_images())
    return path


@pytest.fixture
def write_model(tmp_path: Path) -> ModelWriter:
    """``write_model(data, name="model.onnx")``: the model bytes as a file of this test."""

    def write(data: bytes, name: str = "model.onnx") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    return write


@pytest.fixture(scope="session")
def assert_sandbox_works(
    tmp_path_factory: pytest.TempPathFactory, images_path: Path
) -> Callable[[], None]:
    """Runs the baseline model through the sandbox and checks its predictions."""
    model = tmp_path_factory.mktemp("baseline") / "baseline.onnx"
    build_red_mean_model(model)

    def check() -> None:
        result = run_model(model, images_path, provider="cpu", limits=LIMITS)
        assert result.predictions.tolist() == expected_red_ages()

    return check
