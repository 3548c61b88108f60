"""The values exchanged between the service, the sandbox and the inference child process.

Everything here is plain data (no onnx, no onnxruntime) so that the web process can import it.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

UNKNOWN_PRESET = "unknown preprocessing preset {value!r}; expected one of {expected}"
UNKNOWN_PROVIDER = "unknown execution provider {value!r}; expected one of {expected}"
TOO_FEW_OPEN_FILES = "InferenceLimits.max_open_files must be >= 32, got {max_open_files}"
TOO_FEW_THREADS = "InferenceLimits.threads must be >= 1, got {threads}"
CPU_SECONDS_NOT_POSITIVE = "InferenceLimits.cpu_seconds must be positive, got {cpu_seconds}"
MODEL_BYTES_TOO_LARGE = "InferenceLimits.max_model_bytes must be under 2 GiB (protobuf)"
LIMIT_NOT_POSITIVE = "InferenceLimits.{name} must be positive, got {value!r}"


Preset = Literal["raw", "keras-resnet50", "imagenet"]
Provider = Literal["auto", "cpu", "cuda"]
Layout = Literal["NHWC", "NCHW"]
InputDType = Literal["uint8", "float32"]

PRESETS: tuple[Preset, ...] = ("raw", "keras-resnet50", "imagenet")
"""Pixel preprocessing presets a participant may pick for a float32 input (SPEC §5)."""

PROVIDERS: tuple[Provider, ...] = ("auto", "cpu", "cuda")
"""``auto`` takes CUDA when onnxruntime offers it, else the CPU."""

MIB = 1024**2
GIB = 1024**3

# The files of a job directory, shared by the parent (sandbox) and the child.
JOB_FILE = "job.json"
"""Written by the parent: what to run, with which limits."""
RESULT_FILE = "result.json"
"""Written last by the child, atomically: ``status`` ok, rejected or error."""
PREDICTIONS_FILE = "predictions.npy"
"""float64 [N], written by the child before the result."""
PROGRESS_FILE = "progress.json"
"""``{"done": d, "total": n}``, rewritten atomically by the child as batches complete."""
LOG_FILE = "child.log"
"""The child's stdout and stderr, for operators only."""


def available_threads() -> int:
    """The number of CPUs this process may run on (its affinity mask, not the whole machine).

    Example:
        >>> available_threads() >= 1
        True
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class InferenceLimits:
    """Resource limits of one inference child process.

    ``wall_seconds`` counts from the start of the child (interpreter start-up, model checks and
    session creation included) and is enforced by the parent, which kills the child's whole
    process group. The others are ``setrlimit`` limits of the child: ``memory_bytes`` is its
    address space (``RLIMIT_AS``, not applied on CUDA, whose driver maps far more address space
    than it uses), ``cpu_seconds`` its CPU time over all threads (default: a backstop of
    ``wall_seconds`` times the threads, plus 10 s), ``max_output_bytes`` the size of any file it
    writes, ``max_open_files`` its descriptors. ``threads`` is onnxruntime's intra-op thread
    count (default: every CPU this process may use).

    Example:
        >>> InferenceLimits(wall_seconds=60).cpu_limit_seconds(threads=4)
        250
    """

    wall_seconds: float = 600.0
    memory_bytes: int = 8 * GIB
    max_model_bytes: int = 512 * MIB
    max_output_bytes: int = 64 * MIB
    max_open_files: int = 256
    threads: int | None = None
    cpu_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("wall_seconds", "memory_bytes", "max_model_bytes", "max_output_bytes"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(LIMIT_NOT_POSITIVE.format(name=name, value=value))
        if self.max_model_bytes >= 2 * GIB:
            raise ValueError(MODEL_BYTES_TOO_LARGE)
        if self.max_open_files < 32:
            raise ValueError(TOO_FEW_OPEN_FILES.format(max_open_files=self.max_open_files))
        if self.threads is not None and self.threads < 1:
            raise ValueError(TOO_FEW_THREADS.format(threads=self.threads))
        if self.cpu_seconds is not None and not self.cpu_seconds > 0:
            raise ValueError(CPU_SECONDS_NOT_POSITIVE.format(cpu_seconds=self.cpu_seconds))

    def resolved_threads(self) -> int:
        """The intra-op thread count the child will use.

        Example:
            >>> InferenceLimits(threads=3).resolved_threads()
            3
        """
        return self.threads if self.threads is not None else available_threads()

    def cpu_limit_seconds(self, *, threads: int) -> int:
        """The child's ``RLIMIT_CPU`` (whole seconds) when it runs ``threads`` threads.

        Example:
            >>> InferenceLimits(wall_seconds=10, cpu_seconds=7.2).cpu_limit_seconds(threads=8)
            8
        """
        if self.cpu_seconds is not None:
            return math.ceil(self.cpu_seconds)
        return math.ceil(self.wall_seconds * threads + 10)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as written into the job file.

        Example:
            >>> InferenceLimits(threads=2).to_dict()["threads"]
            2
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InferenceLimits:
        """Inverse of :meth:`to_dict`.

        Example:
            >>> limits = InferenceLimits(wall_seconds=5)
            >>> InferenceLimits.from_dict(limits.to_dict()) == limits
            True
        """
        return cls(**data)


Dim = int | str
"""A tensor dimension: its size, or the name of a symbolic dimension (``"?"`` when unnamed)."""


@dataclass(frozen=True)
class ModelSignature:
    """What a model accepted by :func:`scoring.inference.check_model` looks like.

    ``batch_size`` is the fixed batch dimension of the input, or ``None`` when it is symbolic.

    Example:
        >>> sig = ModelSignature("image", "uint8", "NHWC", ("N", 224, 224, 3), None,
        ...                      "age", "float32", ("N",), 17, 1234)
        >>> ModelSignature.from_dict(sig.to_dict()) == sig
        True
    """

    input_name: str
    input_dtype: InputDType
    layout: Layout
    input_shape: tuple[Dim, ...]
    batch_size: int | None
    output_name: str
    output_dtype: str
    output_shape: tuple[Dim, ...]
    opset: int
    model_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (tuples become lists).

        Example:
            >>> ModelSignature("x", "float32", "NCHW", ("N", 3, 32, 32), None, "y",
            ...                "float32", ("N", 1), 17, 99).to_dict()["input_shape"]
            ['N', 3, 32, 32]
        """
        data = asdict(self)
        data["input_shape"] = list(self.input_shape)
        data["output_shape"] = list(self.output_shape)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSignature:
        """Inverse of :meth:`to_dict`.

        Example:
            >>> ModelSignature.from_dict({"input_name": "x", "input_dtype": "uint8",
            ...     "layout": "NHWC", "input_shape": [1, 8, 8, 3], "batch_size": 1,
            ...     "output_name": "y", "output_dtype": "float32", "output_shape": [1],
            ...     "opset": 17, "model_bytes": 10}).batch_size
            1
        """
        fields = dict(data)
        fields["input_shape"] = tuple(fields["input_shape"])
        fields["output_shape"] = tuple(fields["output_shape"])
        return cls(**fields)


@dataclass(frozen=True, eq=False)
class InferenceResult:
    """The outputs of one model over the test images, in image order.

    ``seconds`` runs from the start of the job (child start-up included) to the predictions in
    the parent's hands; ``images_per_second`` is the number of images over ``seconds``.
    ``execution_provider`` is the provider onnxruntime actually ran, e.g.
    ``"CPUExecutionProvider"``; ``batch_size`` the batch actually fed; ``inference_seconds``
    the child's time in the batch loop alone (preprocessing and onnxruntime), the rest of
    ``seconds`` being start-up, checks, session creation and the hand-over.

    Example:
        >>> sig = ModelSignature("image", "uint8", "NHWC", ("N", 224, 224, 3), None,
        ...                      "age", "float32", ("N",), 17, 1234)
        >>> r = InferenceResult(np.zeros(3), "CPUExecutionProvider", 1.5, 2.0, sig, 32, 0.2)
        >>> r.predictions.dtype, len(r.predictions)
        (dtype('float64'), 3)
    """

    predictions: npt.NDArray[np.float64]
    execution_provider: str
    seconds: float
    images_per_second: float
    signature: ModelSignature
    batch_size: int
    inference_seconds: float


def as_preset(value: str) -> Preset:
    """Validate a preset name (a programming error when unknown: the service offers a choice).

    Example:
        >>> as_preset("imagenet")
        'imagenet'
    """
    if value not in PRESETS:
        raise ValueError(UNKNOWN_PRESET.format(value=value, expected=PRESETS))
    return cast(Preset, value)


def as_provider(value: str) -> Provider:
    """Validate an execution provider choice.

    Example:
        >>> as_provider("cpu")
        'cpu'
    """
    if value not in PROVIDERS:
        raise ValueError(UNKNOWN_PROVIDER.format(value=value, expected=PROVIDERS))
    return cast(Provider, value)
