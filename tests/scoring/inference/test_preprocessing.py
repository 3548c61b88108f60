"""What each layout, dtype and preset feeds the model, compared with the textbook formulas."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.inference.contract import Layout
from scoring.inference.preprocessing import (
    IMAGENET_MEAN_RGB,
    IMAGENET_STD_RGB,
    KERAS_RESNET50_MEAN_BGR,
    BatchFeeder,
)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, size=(5, 4, 6, 3), dtype=np.uint8)


def feed_all(feeder: BatchFeeder) -> np.ndarray:
    return np.concatenate([b.array[: b.count].copy() for b in feeder])


def test_uint8_nhwc_raw_feeds_the_images_unchanged(images: np.ndarray) -> None:
    feeder = BatchFeeder(images, layout="NHWC", dtype="uint8", preset="raw", batch_size=2)
    fed = feed_all(feeder)
    assert fed.dtype == np.uint8
    np.testing.assert_array_equal(fed, images)


def test_uint8_nchw_raw_feeds_the_transposed_images(images: np.ndarray) -> None:
    feeder = BatchFeeder(images, layout="NCHW", dtype="uint8", preset="raw", batch_size=3)
    np.testing.assert_array_equal(feed_all(feeder), images.transpose(0, 3, 1, 2))


def test_float32_raw_feeds_pixel_values_0_to_255(images: np.ndarray) -> None:
    feeder = BatchFeeder(images, layout="NCHW", dtype="float32", preset="raw", batch_size=4)
    fed = feed_all(feeder)
    assert fed.dtype == np.float32
    np.testing.assert_array_equal(fed, images.transpose(0, 3, 1, 2).astype(np.float32))


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_keras_resnet50_preset_is_bgr_minus_imagenet_means(
    images: np.ndarray, layout: Layout
) -> None:
    feeder = BatchFeeder(
        images,
        layout=layout,
        dtype="float32",
        preset="keras-resnet50",
        batch_size=2,
    )
    expected = images[..., ::-1].astype(np.float64) - np.array(KERAS_RESNET50_MEAN_BGR)
    if layout == "NCHW":
        expected = expected.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(feed_all(feeder), expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_imagenet_preset_is_scaled_to_unit_then_standardised(
    images: np.ndarray, layout: Layout
) -> None:
    feeder = BatchFeeder(images, layout=layout, dtype="float32", preset="imagenet", batch_size=5)
    expected = (images / 255.0 - np.array(IMAGENET_MEAN_RGB)) / np.array(IMAGENET_STD_RGB)
    if layout == "NCHW":
        expected = expected.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(feed_all(feeder), expected, rtol=0, atol=1e-5)


def test_last_batch_is_shorter_without_padding(images: np.ndarray) -> None:
    feeder = BatchFeeder(images, layout="NHWC", dtype="uint8", preset="raw", batch_size=2)
    assert [(b.start, b.count, len(b.array)) for b in feeder] == [(0, 2, 2), (2, 2, 2), (4, 1, 1)]
    assert len(feeder) == 3


def test_last_batch_keeps_its_full_size_with_padding(images: np.ndarray) -> None:
    feeder = BatchFeeder(images, layout="NHWC", dtype="uint8", preset="raw", batch_size=4, pad=True)
    batches = [(b.start, b.count, len(b.array)) for b in feeder]
    assert batches == [(0, 4, 4), (4, 1, 4)]


def test_batches_reuse_one_buffer(images: np.ndarray) -> None:
    feeder = BatchFeeder(images, layout="NCHW", dtype="float32", preset="raw", batch_size=2)
    buffers = {b.array.__array_interface__["data"][0] for b in feeder}
    assert buffers == {feeder.buffer.__array_interface__["data"][0]}


def test_float_preset_on_uint8_input_is_a_programming_error(images: np.ndarray) -> None:
    with pytest.raises(ValueError, match="needs a float32 input"):
        BatchFeeder(images, layout="NHWC", dtype="uint8", preset="imagenet", batch_size=2)


def test_images_other_than_uint8_rgb_are_refused() -> None:
    with pytest.raises(ValueError, match="uint8 N×H×W×3"):
        BatchFeeder(
            np.zeros((2, 4, 4, 4), np.uint8),
            layout="NHWC",
            dtype="uint8",
            preset="raw",
            batch_size=2,
        )
