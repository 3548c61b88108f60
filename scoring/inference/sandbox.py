"""The parent side of inference: start a sandboxed child, watch it, read its answer.

This module never imports onnx or onnxruntime; it is what the service calls from a background
job. Each call creates a private job directory, starts ``python -m scoring.inference.child``
in a new session (so its own process group) with a minimal environment, the job directory as
working directory and stdin closed, then polls: it forwards ``progress.json`` to the
``progress`` callback, kills the whole process group on the wall-time limit or on ``cancel``,
and after the child's exit reads ``result.json`` and ``predictions.npy``. Nothing comes back
through pipes; the child's stdout and stderr go to a log that only operators see (a short,
sanitised tail in :attr:`ModelRejected.detail` and in this module's logger).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import scoring
from scoring.inference.contract import (
    JOB_FILE,
    LOG_FILE,
    PREDICTIONS_FILE,
    PROGRESS_FILE,
    RESULT_FILE,
    InferenceLimits,
    InferenceResult,
    ModelSignature,
    as_preset,
    as_provider,
)
from scoring.inference.errors import (
    CPU_TIME_LIMIT,
    CRASHED,
    TIME_LIMIT,
    InferenceCancelled,
    InferenceError,
    ModelRejected,
    memory_limit_message,
    mentions_memory_exhaustion,
)

BAD_BATCH_SIZE = "batch_size must be >= 1, got {batch_size}"
OUTPUT_SCALE_NOT_FINITE = "output_scale must be finite, got {output_scale}"
CHILD_FAILED = "the inference process failed: {message}; log: {log}"
CANCELLED = "the model run was cancelled"
NO_SUCH_FILE = "no such file: {path}"
BAD_TEST_IMAGES = "the test images must be a uint8 N×H×W×3 array, got {dtype} {shape}"
BAD_CHILD_PREDICTIONS = (
    "the inference process returned {dtype} {shape} predictions for {count} images"
)
UNREADABLE_TEST_IMAGES = "cannot read the test images {name}: {exc}"
CHILD_NOT_STARTED = "could not start the inference process: {exc}"
NO_CHILD_PREDICTIONS = "the inference process left no readable predictions: {exc}"


logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]

CHILD_MODULE = "scoring.inference.child"
LOG_TAIL_BYTES = 16_384
DETAIL_CHARS = 2_000
_POLL_MIN_S = 0.002
_POLL_MAX_S = 0.05
_PASSED_ENV = (
    "LD_LIBRARY_PATH",
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_VISIBLE_DEVICES",
    "CUDA_HOME",
    "CUDA_PATH",
    "CUDA_MODULE_LOADING",
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def check_model(
    model_path: str | os.PathLike[str],
    *,
    input_size: tuple[int, int] = (224, 224),
    preset: str = "raw",
    limits: InferenceLimits = InferenceLimits(),
    workdir: str | os.PathLike[str] | None = None,
    cancel: threading.Event | None = None,
) -> ModelSignature:
    """Check an uploaded model against SPEC §5 in a sandboxed child; return its signature.

    The child reads the file (size limit), refuses the ORT format, non-ONNX bytes, external
    data and custom operator domains, checks the input/output signature for images of
    ``input_size`` (H, W) and the ``preset`` (non-``raw`` presets need a float32 input), runs
    the full ONNX checker, builds an onnxruntime session on the CPU and runs the model once on
    a blank image to check the output's shape. Raises :class:`ModelRejected` with a message for
    the participant, :class:`InferenceError` when the sandbox itself fails,
    :class:`InferenceCancelled` when ``cancel`` is set.

    Example:
        >>> import tempfile
        >>> from scoring.inference.builders import build_red_mean_model
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = build_red_mean_model(Path(tmp, "model.onnx"), layout="NCHW")
        ...     check_model(Path(tmp, "model.onnx"), input_size=(32, 32)).layout
        'NCHW'
    """
    preset = as_preset(preset)
    job = {
        "task": "check",
        "model_path": str(_existing_file(model_path)),
        "images_path": None,
        "input_size": [int(input_size[0]), int(input_size[1])],
        "preset": preset,
        "output_scale": 1.0,
        "provider": "cpu",
        "batch_size": 1,
    }
    with _Job(job, limits=limits, workdir=workdir) as running:
        result = running.wait(progress=None, cancel=cancel)
    return ModelSignature.from_dict(result["signature"])


def run_model(
    model_path: str | os.PathLike[str],
    images_path: str | os.PathLike[str],
    *,
    preset: str = "raw",
    output_scale: float = 1.0,
    provider: str = "auto",
    batch_size: int = 32,
    limits: InferenceLimits = InferenceLimits(),
    progress: ProgressCallback | None = None,
    workdir: str | os.PathLike[str] | None = None,
    cancel: threading.Event | None = None,
) -> InferenceResult:
    """Run a model over the test images in a sandboxed child; return one prediction per image.

    ``images_path`` is a ``.npy`` uint8 N×H×W×3 RGB array (``scoring.testset`` writes one);
    the child memory-maps it and feeds batches of ``batch_size`` (the model's own batch size
    when it is fixed), preprocessed by ``preset`` for float32 inputs. Outputs are multiplied by
    ``output_scale`` and must be finite. ``provider``: ``cpu``, ``cuda`` or ``auto`` (CUDA when
    this onnxruntime build has it); the provider actually used is in the result. Every check
    of :func:`check_model` is made again first, for images of the array's size.

    ``progress(done, total)`` is called from this thread as batches complete. ``workdir`` is
    where the private job directory is created (default: the system's temporary directory);
    it is removed afterwards. Setting ``cancel`` kills the child and raises
    :class:`InferenceCancelled`. A model that breaks a rule or a limit raises
    :class:`ModelRejected`; a failure of the sandbox itself :class:`InferenceError`.

    Example:
        >>> import tempfile
        >>> from scoring.inference.builders import build_red_mean_model
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = build_red_mean_model(Path(tmp, "model.onnx"), offset=30, slope=2)
        ...     images = np.zeros((3, 8, 8, 3), np.uint8); images[:, :, :, 0] = [[[50]], [[70]], [[90]]]
        ...     np.save(Path(tmp, "images.npy"), images)
        ...     result = run_model(Path(tmp, "model.onnx"), Path(tmp, "images.npy"), provider="cpu")
        >>> result.predictions.tolist(), result.execution_provider
        ([10.0, 20.0, 30.0], 'CPUExecutionProvider')
    """  # noqa: E501
    preset = as_preset(preset)
    provider = as_provider(provider)
    if batch_size < 1:
        raise ValueError(BAD_BATCH_SIZE.format(batch_size=batch_size))
    if not math.isfinite(output_scale):
        raise ValueError(OUTPUT_SCALE_NOT_FINITE.format(output_scale=output_scale))
    images = _existing_file(images_path)
    count = _image_count(images)
    job = {
        "task": "run",
        "model_path": str(_existing_file(model_path)),
        "images_path": str(images),
        "input_size": None,
        "preset": preset,
        "output_scale": float(output_scale),
        "provider": provider,
        "batch_size": int(batch_size),
    }
    started = time.perf_counter()
    with _Job(job, limits=limits, workdir=workdir) as running:
        result = running.wait(progress=progress, cancel=cancel)
        predictions = running.read_predictions(count)
    seconds = time.perf_counter() - started
    return InferenceResult(
        predictions=predictions,
        execution_provider=str(result["execution_provider"]),
        seconds=seconds,
        images_per_second=count / seconds if seconds > 0 else math.inf,
        signature=ModelSignature.from_dict(result["signature"]),
        batch_size=int(result["batch_size"]),
        inference_seconds=float(result["inference_seconds"]),
    )


class _Job:
    """One child process and its private directory, removed on exit (the child killed first)."""

    def __init__(
        self,
        job: dict[str, Any],
        *,
        limits: InferenceLimits,
        workdir: str | os.PathLike[str] | None,
    ) -> None:
        self.limits = limits
        self.threads = limits.resolved_threads()
        if workdir is not None:
            Path(workdir).mkdir(parents=True, exist_ok=True)
        # mkdtemp: a fresh directory readable by this user only.
        # Absolute: the child runs inside this directory and is handed its path.
        self.dir = Path(tempfile.mkdtemp(prefix="fairboard-job-", dir=workdir)).resolve()
        self.job = {
            **job,
            "threads": self.threads,
            "limits": limits.to_dict(),
            "parent_pid": os.getpid(),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _Job:
        try:
            (self.dir / JOB_FILE).write_text(json.dumps(self.job))
            with open(self.dir / LOG_FILE, "wb") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-B", "-s", "-m", CHILD_MODULE, str(self.dir)],
                    cwd=self.dir,
                    env=self._environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    close_fds=True,
                    start_new_session=True,
                )
        except OSError as exc:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise InferenceError(CHILD_NOT_STARTED.format(exc=exc)) from exc
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.process is not None and self.process.returncode is None:
                self._kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _environment(self) -> dict[str, str]:
        package_root = str(Path(scoring.__file__).resolve().parent.parent)
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "PYTHONPATH": package_root,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "HOME": str(self.dir),
            "TMPDIR": str(self.dir),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            # Only onnxruntime's own pool computes; idle BLAS/OpenMP pools would only hold
            # memory, and few malloc arenas keep the address space near what is used.
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "MALLOC_ARENA_MAX": "2",
        }
        env.update({key: os.environ[key] for key in _PASSED_ENV if key in os.environ})
        return env

    def wait(
        self, *, progress: ProgressCallback | None, cancel: threading.Event | None
    ) -> dict[str, Any]:
        """Watch the child to its end; return its ``ok`` result or raise."""
        assert self.process is not None
        pid = self.process.pid
        deadline = self.started + self.limits.wall_seconds
        delay = _POLL_MIN_S
        reported: tuple[int, int] | None = None
        while not _has_exited(pid):
            if progress is not None:
                reported = self._forward_progress(progress, reported)
            if cancel is not None and cancel.is_set():
                self._kill()
                raise InferenceCancelled(CANCELLED)
            if time.monotonic() >= deadline:
                self._kill()
                raise self._rejected(TIME_LIMIT.format(seconds=self.limits.wall_seconds))
            if cancel is not None:
                cancel.wait(delay)
            else:
                time.sleep(delay)
            delay = min(delay * 2, _POLL_MAX_S)
        # The exited child is still a zombie here, so its process group id cannot have been
        # reused: kill whatever it may have left behind, then reap it.
        self._kill()
        if progress is not None:
            self._forward_progress(progress, reported)
        return self._result()

    def read_predictions(self, count: int) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The child's predictions, checked to be float64 of the expected length."""
        try:
            predictions = np.load(self.dir / PREDICTIONS_FILE, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InferenceError(NO_CHILD_PREDICTIONS.format(exc=exc)) from exc
        if predictions.dtype != np.float64 or predictions.shape != (count,):
            raise InferenceError(
                BAD_CHILD_PREDICTIONS.format(
                    dtype=predictions.dtype, shape=predictions.shape, count=count
                )
            )
        return predictions

    def _kill(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def _forward_progress(
        self, progress: ProgressCallback, reported: tuple[int, int] | None
    ) -> tuple[int, int] | None:
        try:
            data = json.loads((self.dir / PROGRESS_FILE).read_bytes())
            current = (int(data["done"]), int(data["total"]))
        except (OSError, ValueError, KeyError, TypeError):
            return reported
        if current != reported:
            progress(*current)
        return current

    def _result(self) -> dict[str, Any]:
        assert self.process is not None
        try:
            result: dict[str, Any] = json.loads((self.dir / RESULT_FILE).read_bytes())
        except (OSError, ValueError):
            raise self._exit_without_result(self.process.returncode) from None
        status = result.get("status")
        if status == "ok":
            return result
        if status == "rejected":
            raise self._rejected(str(result["message"]), str(result.get("detail", "")))
        raise InferenceError(
            CHILD_FAILED.format(message=result.get("message"), log=self._log_tail())
        )

    def _exit_without_result(self, returncode: int) -> Exception:
        """Why the child died without a result: a signal, a limit or a native crash."""
        tail = self._log_tail()
        if returncode == -signal.SIGXCPU:
            seconds = self.limits.cpu_limit_seconds(threads=self.threads)
            return self._rejected(CPU_TIME_LIMIT.format(seconds=seconds), tail)
        # SIGKILL that the parent did not send: the kernel's out-of-memory killer.
        if returncode == -signal.SIGKILL or mentions_memory_exhaustion(tail):
            return self._rejected(memory_limit_message(self.limits.memory_bytes), tail)
        if returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = f"signal {-returncode}"
            return self._rejected(CRASHED.format(signal=name), tail)
        return InferenceError(
            f"the inference process exited with status {returncode} without a result; log: {tail}"
        )

    def _rejected(self, message: str, detail: str = "") -> ModelRejected:
        detail = detail or self._log_tail()
        logger.info("model rejected: %s (child log: %s)", message, detail)
        return ModelRejected(message, detail=detail)

    def _log_tail(self) -> str:
        """The end of the child's log, ANSI colours and this machine's paths removed."""
        try:
            with open(self.dir / LOG_FILE, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - LOG_TAIL_BYTES))
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        text = _ANSI.sub("", text).replace(str(self.dir), "<job>")
        text = text.strip()
        return text if len(text) <= DETAIL_CHARS else "..." + text[-DETAIL_CHARS:]


def _has_exited(pid: int) -> bool:
    """Whether the child has exited, without reaping it (WNOWAIT keeps the zombie)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # reaped by someone else's SIGCHLD handler: gone all the same
        return True


def _existing_file(path: str | os.PathLike[str]) -> Path:
    resolved = Path(path).resolve()
    if not resolved.is_file():
        raise FileNotFoundError(NO_SUCH_FILE.format(path=path))
    return resolved


def _image_count(images_path: Path) -> int:
    """Validate the test-image array's header (memory-mapped, nothing read) and count it."""
    try:
        images = np.load(images_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InferenceError(UNREADABLE_TEST_IMAGES.format(name=images_path.name, exc=exc)) from exc
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
        raise InferenceError(BAD_TEST_IMAGES.format(dtype=images.dtype, shape=images.shape))
    return int(images.shape[0])
