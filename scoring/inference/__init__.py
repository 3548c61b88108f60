"""ONNX model submissions (SPEC §5): checks and inference in a sandboxed child process.

The only package of Fairboard that uses onnxruntime, and only in the child process: importing
``scoring.inference`` (the parent-side API below) loads neither onnx nor onnxruntime.

Example:
    >>> from scoring.inference import run_model, InferenceLimits
    >>> limits = InferenceLimits(wall_seconds=120, memory_bytes=4 * 1024**3)
    >>> # result = run_model("model.onnx", "testset/images.npy", preset="keras-resnet50",
    >>> #                    output_scale=100, limits=limits)
"""

from scoring.inference.contract import (
    PRESETS,
    PROVIDERS,
    InferenceLimits,
    InferenceResult,
    ModelSignature,
    Preset,
    Provider,
)
from scoring.inference.errors import InferenceCancelled, InferenceError, ModelRejected
from scoring.inference.sandbox import check_model, run_model

__all__ = [
    "PRESETS",
    "PROVIDERS",
    "InferenceCancelled",
    "InferenceError",
    "InferenceLimits",
    "InferenceResult",
    "ModelRejected",
    "ModelSignature",
    "Preset",
    "Provider",
    "check_model",
    "run_model",
]
