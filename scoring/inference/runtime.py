"""The onnxruntime side of inference: sessions, providers, the batch loop.

Imported only by the inference child process (and the benchmark's bare baseline): the web
process must never load onnxruntime. Every function here takes bytes or arrays, never
paths, so that a model cannot make onnxruntime open files.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from scoring.inference.contract import ModelSignature, Provider
from scoring.inference.errors import (
    NON_FINITE,
    OUT_OF_RANGE,
    OUTPUT_LENGTH,
    RUNTIME_FAILURE,
    RUNTIME_FAILURE_UNLOCATED,
    RUNTIME_LOAD_FAILED,
    InferenceError,
    ModelRejected,
    memory_limit_message,
    mentions_memory_exhaustion,
)
from scoring.inference.preprocessing import BatchFeeder
from scoring.inference.validation import short_reason
from scoring.numbers import MAX_ABS_PREDICTION

CUDA_UNAVAILABLE = (
    "CUDA was requested but does not work here (onnxruntime offers {providers}; "
    "see the inference log)"
)


CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"

_FAILED_NODE = re.compile(r"running (\w+) node\. Name:'([^']{0,100})")
_DETAIL_CHARS = 2000


def cuda_available() -> bool:
    """Whether this onnxruntime build offers the CUDA execution provider (not that it works).

    Example:
        >>> isinstance(cuda_available(), bool)
        True
    """
    return CUDA in ort.get_available_providers()


def cuda_works() -> bool:
    """Whether a trivial model really runs on CUDA here (GPU, driver and libraries present).

    A GPU build on a machine without a usable GPU either fails to create a CUDA session or
    quietly runs it on the CPU; this probe, made before any model of a participant is read,
    keeps such failures from being blamed on the model. Costs nothing on a CPU-only build.

    Example:
        >>> cuda_works() in (True, False)
        True
    """
    if not cuda_available():
        return False
    from scoring.inference.builders import build_red_mean_model

    try:
        session = ort.InferenceSession(
            build_red_mean_model(),
            session_options(1),
            providers=[CUDA, CPU],
            enable_fallback=0,
        )
    except Exception as exc:  # onnxruntime's pybind errors derive from Exception only
        print(f"CUDA probe failed: {exc}", file=sys.stderr)
        return False
    return bool(session.get_providers()[0] == CUDA)


def uses_cuda(provider: Provider) -> bool:
    """Whether ``provider`` means CUDA here; ``cuda`` where CUDA does not work is an error.

    Example:
        >>> uses_cuda("cpu")
        False
    """
    if provider == "cpu":
        return False
    works = cuda_works()
    if provider == "cuda" and not works:
        raise InferenceError(
            CUDA_UNAVAILABLE.format(providers=", ".join(ort.get_available_providers()))
        )
    return works


def session_options(threads: int) -> ort.SessionOptions:
    """The session options of every Fairboard inference (the benchmark's baseline uses them).

    All graph optimisations; ``threads`` intra-op threads that sleep rather than spin when
    idle; one inter-op thread, sequential execution; the ONNX format forced (never ORT).

    Example:
        >>> session_options(2).intra_op_num_threads
        2
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.add_session_config_entry("session.load_model_format", "ONNX")
    return options


def create_session(
    model: bytes, *, cuda: bool, threads: int, memory_bytes: int
) -> ort.InferenceSession:
    """Create a session from model bytes on CUDA (with CPU fallback per node) or the CPU.

    ``memory_bytes`` caps the CUDA arena; on the CPU the child's address-space limit does.
    A model onnxruntime refuses raises :class:`ModelRejected`.

    Example:
        >>> from scoring.inference.builders import build_red_mean_model
        >>> session = create_session(build_red_mean_model(), cuda=False, threads=1,
        ...                          memory_bytes=2**30)
        >>> session.get_providers()[0]
        'CPUExecutionProvider'
    """
    providers: list[str | tuple[str, dict[str, str]]] = [CPU]
    if cuda:
        providers.insert(0, (CUDA, {"gpu_mem_limit": str(memory_bytes)}))
    try:
        # No silent retry on the CPU after a CUDA error (it would escape the memory limit), and
        # no session configuration read from the model's metadata.
        session = ort.InferenceSession(
            model,
            session_options(threads),
            providers=providers,
            enable_fallback=0,
            read_config_from_model=0,
        )
    except Exception as exc:  # onnxruntime's pybind errors derive from Exception only
        text = str(exc)
        if mentions_memory_exhaustion(text):
            raise ModelRejected(memory_limit_message(memory_bytes), detail=_detail(text)) from exc
        raise ModelRejected(
            RUNTIME_LOAD_FAILED.format(reason=short_reason(text)), detail=_detail(text)
        ) from exc
    return session


def predict(
    session: ort.InferenceSession,
    feeder: BatchFeeder,
    *,
    signature: ModelSignature,
    output_scale: float = 1.0,
    memory_bytes: int,
    on_batch: Callable[[int], None] | None = None,
    require_finite: bool = True,
) -> npt.NDArray[np.float64]:
    """Run every batch of ``feeder``; return the float64 outputs times ``output_scale``.

    Each batch's output must have shape ``[B]`` or ``[B,1]`` for the ``B`` rows fed, and
    (with ``require_finite``) every final value must be finite. ``on_batch(done)`` is called
    after each batch.

    Example:
        >>> from scoring.inference.builders import build_red_mean_model
        >>> from scoring.inference.validation import validate_model
        >>> data = build_red_mean_model()
        >>> sig = validate_model(data, input_size=(2, 2))
        >>> session = create_session(data, cuda=False, threads=1, memory_bytes=2**30)
        >>> images = np.full((3, 2, 2, 3), 130, np.uint8)
        >>> feeder = BatchFeeder(images, layout="NHWC", dtype="uint8", preset="raw",
        ...                      batch_size=2)
        >>> predict(session, feeder, signature=sig, memory_bytes=2**30).tolist()
        [50.0, 50.0, 50.0]
    """
    predictions = np.empty(len(feeder.images), dtype=np.float64)
    run = session.run
    outputs = [signature.output_name]
    name = signature.input_name
    for batch in feeder:
        try:
            (output,) = run(outputs, {name: batch.array})
        except Exception as exc:  # onnxruntime's pybind errors derive from Exception only
            raise runtime_failure(exc, memory_bytes=memory_bytes) from exc
        fed = len(batch.array)
        if not isinstance(output, np.ndarray) or output.shape not in ((fed,), (fed, 1)):
            shape = getattr(output, "shape", type(output).__name__)
            raise ModelRejected(OUTPUT_LENGTH.format(shape=_format_shape(shape), batch=fed))
        predictions[batch.start : batch.start + batch.count] = output.reshape(fed)[: batch.count]
        if on_batch is not None:
            on_batch(batch.start + batch.count)
    if output_scale != 1.0:
        with np.errstate(over="ignore"):  # an overflow becomes inf, refused just below
            predictions *= output_scale
    if require_finite:
        check_outputs(predictions, output_scale=output_scale)
    return predictions


def check_outputs(predictions: npt.NDArray[np.float64], *, output_scale: float = 1.0) -> None:
    """Reject NaN, infinite and out-of-range outputs (SPEC §5), with the count and first index.

    ``predictions`` are the outputs after ``output_scale`` (named in the message only).

    Example:
        >>> check_outputs(np.array([1.0, np.nan, np.inf]))
        Traceback (most recent call last):
        ...
        scoring.inference.errors.ModelRejected: The model produced 2 non-finite outputs (NaN or infinity) for 3 images; the first is for image 1.
        >>> check_outputs(np.array([50.0, 0.5, 2e4]) * 100, output_scale=100)
        Traceback (most recent call last):
        ...
        scoring.inference.errors.ModelRejected: The model produced 1 outputs beyond ±10,000 years (after the output scale 100) for 3 images; the first is for image 2. Check the output scale.
    """  # noqa: E501
    finite = np.isfinite(predictions)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ModelRejected(
            NON_FINITE.format(count=len(bad), total=len(predictions), index=int(bad[0]))
        )
    beyond = np.abs(predictions) > MAX_ABS_PREDICTION
    if beyond.any():
        bad = np.flatnonzero(beyond)
        raise ModelRejected(
            OUT_OF_RANGE.format(
                count=len(bad), scale=output_scale, total=len(predictions), index=int(bad[0])
            )
        )


def runtime_failure(exc: BaseException, *, memory_bytes: int) -> ModelRejected:
    """The participant-facing rejection for an error onnxruntime raised while running.

    Only the failing node's type and name are quoted: the rest of the text may carry values
    computed from the hidden test images (a Reshape's requested shape, say).

    Example:
        >>> str(runtime_failure(RuntimeError("... while running Reshape node. Name:'r' ..."),
        ...                     memory_bytes=2**30))
        "The model failed while running on the test images: onnxruntime reported an error in the Reshape node 'r'."
    """  # noqa: E501
    text = str(exc)
    if isinstance(exc, MemoryError) or mentions_memory_exhaustion(text):
        return ModelRejected(memory_limit_message(memory_bytes), detail=_detail(text))
    located = _FAILED_NODE.search(text)
    if located is None:
        return ModelRejected(RUNTIME_FAILURE_UNLOCATED, detail=_detail(text))
    op_type, node = located.groups()
    node = "".join(c if c.isprintable() else "?" for c in node)
    return ModelRejected(RUNTIME_FAILURE.format(op=op_type, node=node), detail=_detail(text))


def _format_shape(shape: object) -> str:
    if isinstance(shape, tuple):
        return "[" + ",".join(str(d) for d in shape) + "]"
    return str(shape)


def _detail(text: str) -> str:
    return text[:_DETAIL_CHARS]
