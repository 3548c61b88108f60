"""Turning stored test images (uint8, N×H×W×3, RGB) into the batches a model expects.

Each preset is a channel order plus a per-channel affine map ``x * scale + bias`` applied in
float32; a batch is written into one preallocated buffer with a single casting copy (which
also transposes to NCHW and reorders channels through strides) and at most two in-place
operations, so preprocessing costs little next to the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.inference.contract import InputDType, Layout, Preset

UNKNOWN_PRESET = "unknown preprocessing preset {preset!r}"
BAD_IMAGES = "images must be uint8 N×H×W×3, got {dtype} {shape}"
BAD_BATCH_SIZE = "batch_size must be >= 1, got {batch_size}"
PRESET_NEEDS_FLOAT32 = "preset {preset!r} needs a float32 input"


KERAS_RESNET50_MEAN_BGR = (103.939, 116.779, 123.68)
"""``keras.applications.resnet50.preprocess_input`` ("caffe" mode): BGR means, no scaling."""
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PixelTransform:
    """What a preset does to a raw RGB pixel: reorder channels, then ``x * scale + bias``.

    Example:
        >>> PixelTransform.for_preset("keras-resnet50").bgr
        True
    """

    bgr: bool
    scale: tuple[float, float, float] | None
    bias: tuple[float, float, float] | None

    @classmethod
    def for_preset(cls, preset: Preset) -> PixelTransform:
        """The transform of a preset of SPEC §5.

        ``imagenet`` computes ``(x / 255 - mean) / std`` as ``x * (1 / (255 std)) - mean / std``,
        equal up to float32 rounding.

        Example:
            >>> t = PixelTransform.for_preset("imagenet")
            >>> round(255 * t.scale[0] + t.bias[0], 6) == round((1 - 0.485) / 0.229, 6)
            True
        """
        if preset == "raw":
            return cls(bgr=False, scale=None, bias=None)
        if preset == "keras-resnet50":
            mean = KERAS_RESNET50_MEAN_BGR
            return cls(bgr=True, scale=None, bias=(-mean[0], -mean[1], -mean[2]))
        if preset == "imagenet":
            scale = tuple(1.0 / (255.0 * s) for s in IMAGENET_STD_RGB)
            bias = tuple(-m / s for m, s in zip(IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, strict=True))
            return cls(bgr=False, scale=scale, bias=bias)  # type: ignore[arg-type]
        raise ValueError(UNKNOWN_PRESET.format(preset=preset))


@dataclass(frozen=True)
class Batch:
    """One batch ready to feed: images ``start .. start+count`` of the test set in ``array``.

    ``array`` has ``len(array) >= count`` rows; the rows past ``count`` are padding whose
    outputs are dropped.
    """

    start: int
    count: int
    array: npt.NDArray[np.generic]


class BatchFeeder:
    """Yields the model's input batch by batch from an N×H×W×3 uint8 image array.

    The same buffer is reused for every batch: consume each batch before asking for the next.
    With ``pad`` (a fixed-batch model, or CUDA where fixed shapes avoid re-planning), the last
    batch keeps the full ``batch_size`` rows; otherwise it is a shorter view of the buffer.

    Example:
        >>> images = np.arange(5 * 2 * 2 * 3, dtype=np.uint8).reshape(5, 2, 2, 3)
        >>> feeder = BatchFeeder(images, layout="NCHW", dtype="float32", preset="raw",
        ...                      batch_size=2)
        >>> [(b.start, b.count, b.array.shape) for b in feeder]
        [(0, 2, (2, 3, 2, 2)), (2, 2, (2, 3, 2, 2)), (4, 1, (1, 3, 2, 2))]
    """

    def __init__(
        self,
        images: npt.NDArray[np.uint8],
        *,
        layout: Layout,
        dtype: InputDType,
        preset: Preset,
        batch_size: int,
        pad: bool = False,
    ) -> None:
        if images.ndim != 4 or images.shape[3] != 3 or images.dtype != np.uint8:
            raise ValueError(BAD_IMAGES.format(dtype=images.dtype, shape=tuple(images.shape)))
        if batch_size < 1:
            raise ValueError(BAD_BATCH_SIZE.format(batch_size=batch_size))
        transform = PixelTransform.for_preset(preset)
        if dtype == "uint8" and (transform.scale is not None or transform.bias is not None):
            raise ValueError(PRESET_NEEDS_FLOAT32.format(preset=preset))
        self.images = images
        self.layout = layout
        self.batch_size = batch_size
        self.pad = pad
        self.bgr = transform.bgr
        _, height, width, _ = images.shape
        shape = (
            (batch_size, height, width, 3) if layout == "NHWC" else (batch_size, 3, height, width)
        )
        self.buffer: npt.NDArray[np.generic] = np.zeros(shape, dtype=np.dtype(dtype))
        channel_shape = (3,) if layout == "NHWC" else (3, 1, 1)
        self.scale = (
            None
            if transform.scale is None
            else np.asarray(transform.scale, np.float32).reshape(channel_shape)
        )
        self.bias = (
            None
            if transform.bias is None
            else np.asarray(transform.bias, np.float32).reshape(channel_shape)
        )

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        total = len(self.images)
        for start in range(0, total, self.batch_size):
            count = min(self.batch_size, total - start)
            yield Batch(start, count, self.fill(start, count))

    def fill(self, start: int, count: int) -> npt.NDArray[np.generic]:
        """Write images ``start .. start+count`` into the buffer; return what to feed.

        Example:
            >>> images = np.full((1, 1, 1, 3), 255, np.uint8)
            >>> feeder = BatchFeeder(images, layout="NHWC", dtype="float32",
            ...                      preset="keras-resnet50", batch_size=1)
            >>> [round(float(v), 3) for v in feeder.fill(0, 1).ravel()]
            [151.061, 138.221, 131.32]
        """
        source = self.images[start : start + count]
        if self.bgr:
            source = source[..., ::-1]
        if self.layout == "NCHW":
            source = source.transpose(0, 3, 1, 2)
        target = self.buffer[:count]
        np.copyto(target, source, casting="unsafe")
        if self.scale is not None:
            np.multiply(target, self.scale, out=target)
        if self.bias is not None:
            np.add(target, self.bias, out=target)
        return self.buffer if self.pad else target
