"""What can go wrong with an ONNX model submission, and the message the participant reads.

Every message is a module constant, formatted with ``str.format`` and asserted word for word
by the tests. Messages never quote the inference process's own output: it is operator-facing
(``ModelRejected.detail``) because it may hold paths of this machine or, echoed through an
error of a hostile model, values of the hidden test images.
"""

from __future__ import annotations

from scoring.errors import ScoringError

# --- the file --------------------------------------------------------------------------------
MODEL_TOO_LARGE = "The model file is {size_mib:.1f} MiB; the limit is {limit_mib:.1f} MiB."
NOT_ONNX = "The file is not an ONNX model: it could not be read as an ONNX protobuf."
ORT_FORMAT = "The file is in onnxruntime's ORT format; upload the original .onnx model instead."
EXTERNAL_DATA = (
    "The model keeps tensor '{tensor}' in an external file ('{location}'); external data is not "
    "allowed: save the model with all its weights inside the .onnx file."
)
CUSTOM_DOMAIN = (
    "The model uses the operator domain '{domain}' ({where}); only the standard ONNX domains "
    "'' (ai.onnx) and 'ai.onnx.ml' are allowed."
)
INVALID_MODEL = "The model is not a valid ONNX model: {reason}"
RUNTIME_LOAD_FAILED = "onnxruntime could not load the model: {reason}"

# --- the signature (SPEC §5) -----------------------------------------------------------------
INPUT_COUNT = "The model must have exactly one input; it has {count}{names}."
INPUT_DTYPE = (
    "The model input '{name}' has element type {found}; expected uint8 (raw RGB 0-255) or float32."
)
INPUT_RANK = (
    "The model input '{name}' has shape {shape}; expected rank 4: [N,H,W,3] (NHWC) or "
    "[N,3,H,W] (NCHW)."
)
INPUT_CHANNELS = (
    "The model input '{name}' has shape {shape}; expected 3 colour channels on axis 3 (NHWC "
    "[N,H,W,3]) or axis 1 (NCHW [N,3,H,W])."
)
INPUT_SIZE = (
    "The model input '{name}' has shape {shape}; the images of this phase are {height}x{width}, "
    "so H and W must be {height} and {width} or symbolic."
)
INPUT_BATCH = (
    "The model input '{name}' has shape {shape}; the batch dimension must be symbolic or a "
    "positive size."
)
OUTPUT_COUNT = "The model must have exactly one output; it has {count}{names}."
OUTPUT_DTYPE = (
    "The model output '{name}' has element type {found}; expected float32, float16 or float64."
)
OUTPUT_SHAPE = "The model output '{name}' has shape {shape}; expected [N] or [N,1]."
PRESET_NEEDS_FLOAT = (
    "The preprocessing preset '{preset}' applies to float32 inputs, but the model input '{name}' "
    "is uint8; choose the preset 'raw' or export the model with a float32 input."
)

# --- the run ---------------------------------------------------------------------------------
OUTPUT_LENGTH = (
    "The model returned an output of shape {shape} for a batch of {batch} images; expected "
    "[{batch}] or [{batch},1]."
)
NON_FINITE = (
    "The model produced {count} non-finite outputs (NaN or infinity) for {total} images; the "
    "first is for image {index}."
)
OUT_OF_RANGE = (
    "The model produced {count} outputs beyond ±10,000 years (after the output scale {scale:g}) "
    "for {total} images; the first is for image {index}. Check the output scale."
)
RUNTIME_FAILURE = (
    "The model failed while running on the test images: onnxruntime reported an error in the "
    "{op} node '{node}'."
)
RUNTIME_FAILURE_UNLOCATED = "The model failed while running on the test images."
TIME_LIMIT = "The model exceeded the time limit of {seconds:g} s."
CPU_TIME_LIMIT = "The model exceeded the CPU time limit of {seconds:g} s."
MEMORY_LIMIT = "The model exceeded the memory limit of {limit_gib:g} GiB."
CRASHED = "The model crashed the inference process ({signal})."


MEMORY_PATTERNS = (
    "MemoryError",
    "bad_alloc",
    "Failed to allocate memory",
    "Cannot allocate memory",
    "out of memory",
    "OUT_OF_MEMORY",
    "CUDNN_STATUS_ALLOC_FAILED",
    "cudaErrorMemoryAllocation",
)
"""Substrings by which Python, onnxruntime, the C++ runtime and CUDA say memory ran out."""


def mentions_memory_exhaustion(text: str) -> bool:
    """Whether an error text or a log says that an allocation failed.

    Example:
        >>> mentions_memory_exhaustion("BFCArena: Failed to allocate memory for requested buffer")
        True
    """
    return any(pattern in text for pattern in MEMORY_PATTERNS)


def memory_limit_message(memory_bytes: int) -> str:
    """:data:`MEMORY_LIMIT` for a limit of ``memory_bytes``, in GiB rounded to 2 decimals.

    Example:
        >>> memory_limit_message(8 * 1024**3)
        'The model exceeded the memory limit of 8 GiB.'
    """
    return MEMORY_LIMIT.format(limit_gib=round(memory_bytes / 1024**3, 2))


class ModelRejected(ScoringError):
    """The submitted model breaks the rules of SPEC §5; the message is for the participant.

    ``detail`` carries operator-facing context (a truncated, sanitised excerpt of the
    inference process's log) that must not be shown to the participant.
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class InferenceError(RuntimeError):
    """The sandbox itself failed (no CUDA, unreadable images, a bug): not the model's fault."""


class InferenceCancelled(RuntimeError):
    """The run was cancelled through its ``cancel`` event; the child process was killed."""
