"""The inference child process: ``python -m scoring.inference.child <job directory>``.

Started by :mod:`scoring.inference.sandbox` in a fresh process group, with a minimal
environment and the job directory as working directory. It reads ``job.json``, lowers its own
resource limits before touching the model, runs the checks and the model, and answers only
through files of the job directory (``progress.json``, ``predictions.npy``, then
``result.json`` last), each written atomically. Its stdout and stderr go to a log the
participant never sees.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from scoring.inference.contract import (
    JOB_FILE,
    PREDICTIONS_FILE,
    PROGRESS_FILE,
    RESULT_FILE,
    InferenceLimits,
    as_preset,
    as_provider,
)
from scoring.inference.errors import InferenceError, ModelRejected, memory_limit_message

CUDA_NOT_USED = "CUDA was requested but onnxruntime ran {provider}"


PROGRESS_INTERVAL_S = 0.1
"""Progress is rewritten at most this often (and after the last batch)."""

CPU_HARD_MARGIN_S = 5
"""Seconds between the CPU soft limit (SIGXCPU) and the hard one (SIGKILL)."""

_PR_SET_PDEATHSIG = 1


def main(argv: list[str] | None = None) -> int:
    """Run the job in the directory named by the first argument; always exit 0 with a result.

    Example:
        ``python -m scoring.inference.child /tmp/fairboard-job-x1y2`` (started by the sandbox)
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m scoring.inference.child <job directory>", file=sys.stderr)
        return 2
    job_dir = Path(args[0])
    job: dict[str, Any] = json.loads((job_dir / JOB_FILE).read_text())
    memory_bytes = int(job["limits"]["memory_bytes"])
    result: dict[str, Any]
    try:
        result = run_job(job, job_dir)
    except ModelRejected as exc:
        result = {"status": "rejected", "message": str(exc), "detail": exc.detail}
    except MemoryError:
        result = {"status": "rejected", "message": memory_limit_message(memory_bytes)}
    except InferenceError as exc:
        result = {"status": "error", "message": str(exc)}
    except Exception as exc:
        traceback.print_exc()
        result = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
    write_json_atomic(job_dir / RESULT_FILE, result)
    return 0


def run_job(job: dict[str, Any], job_dir: Path) -> dict[str, Any]:
    """Check (``task`` = ``check``) or run (``run``) the model; the ``ok`` result's fields.

    Example:
        Called by :func:`main` with the parsed ``job.json``.
    """
    _die_with_parent(int(job["parent_pid"]))
    # onnxruntime is trusted code, imported before the limits: whether CUDA is offered decides
    # the address-space limit (CUDA's libraries need far more than they use). Nothing of the
    # model is read before the limits.
    from scoring.inference import runtime
    from scoring.inference.preprocessing import BatchFeeder
    from scoring.inference.validation import read_model_bytes, validate_model

    limits = InferenceLimits.from_dict(job["limits"])
    threads = int(job["threads"])
    preset = as_preset(job["preset"])
    cuda = runtime.uses_cuda(as_provider(job["provider"]))

    images: np.ndarray[Any, np.dtype[np.uint8]] | None = None
    if job["task"] == "run":
        images = np.load(job["images_path"], mmap_mode="r", allow_pickle=False)
        input_size = (int(images.shape[1]), int(images.shape[2]))
    else:
        input_size = (int(job["input_size"][0]), int(job["input_size"][1]))

    apply_limits(limits, threads=threads)
    if not cuda:
        limit_address_space(limits)

    data = read_model_bytes(Path(job["model_path"]), max_bytes=limits.max_model_bytes)
    signature = validate_model(data, input_size=input_size, preset=preset)
    session = runtime.create_session(
        data, cuda=cuda, threads=threads, memory_bytes=limits.memory_bytes
    )
    del data
    provider = session.get_providers()[0]
    if cuda and provider != runtime.CUDA:
        if job["provider"] == "cuda":
            raise InferenceError(CUDA_NOT_USED.format(provider=provider))
        # CUDA was offered but could not start: the CPU run gets its memory limit after all.
        limit_address_space(limits)
    padded = signature.batch_size is not None or provider == runtime.CUDA
    batch_size = signature.batch_size or int(job["batch_size"])

    if images is None:
        # One blank image: the output's shape is checked before any test image is used.
        images = np.zeros((1, *input_size, 3), np.uint8)
        batch_size = signature.batch_size or 1
        padded = True
    feeder = BatchFeeder(
        images,
        layout=signature.layout,
        dtype=signature.input_dtype,
        preset=preset,
        batch_size=batch_size,
        pad=padded,
    )
    total = len(images)
    progress = _ProgressWriter(job_dir / PROGRESS_FILE, total=total)
    progress(0)
    started = time.perf_counter()
    checking = job["task"] == "check"
    predictions = runtime.predict(
        session,
        feeder,
        signature=signature,
        output_scale=1.0 if checking else float(job["output_scale"]),
        memory_bytes=limits.memory_bytes,
        on_batch=progress,
        # Whatever a model answers for a blank image is its business; only the shape counts.
        require_finite=not checking,
    )
    seconds = time.perf_counter() - started
    progress.flush()
    if not checking:
        tmp = job_dir / (PREDICTIONS_FILE + ".tmp")
        with open(tmp, "wb") as file:
            np.save(file, predictions, allow_pickle=False)
        os.replace(tmp, job_dir / PREDICTIONS_FILE)
    return {
        "status": "ok",
        "signature": signature.to_dict(),
        "execution_provider": provider,
        "batch_size": batch_size,
        "inference_seconds": seconds,
        "images": total,
    }


def apply_limits(limits: InferenceLimits, *, threads: int) -> None:
    """Lower this process's resource limits (soft and hard: the model cannot raise them).

    No core dumps; files written at most ``max_output_bytes`` (a write past it fails with
    EFBIG instead of killing the process); ``max_open_files`` descriptors; CPU time, with
    SIGXCPU at the soft limit. The address space is :func:`limit_address_space`'s.

    Example:
        Called at the start of :func:`run_job`, before the model's bytes are read.
    """
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    _lower(resource.RLIMIT_CORE, 0)
    _lower(resource.RLIMIT_FSIZE, limits.max_output_bytes)
    _lower(resource.RLIMIT_NOFILE, limits.max_open_files)
    cpu = limits.cpu_limit_seconds(threads=threads)
    _lower(resource.RLIMIT_CPU, cpu, hard=cpu + CPU_HARD_MARGIN_S)


def limit_address_space(limits: InferenceLimits) -> None:
    """Cap the address space at ``memory_bytes`` (CPU runs only: CUDA's driver reserves far
    more address space than it uses, so on CUDA the GPU arena limit is the memory limit).

    Example:
        Called by :func:`run_job` before the model's bytes are read, for a CPU run.
    """
    _lower(resource.RLIMIT_AS, limits.memory_bytes)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to a temporary sibling, then rename it over ``path``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     write_json_atomic(Path(tmp, "p.json"), {"done": 1})
        ...     Path(tmp, "p.json").read_text()
        '{"done": 1}'
    """
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


class _ProgressWriter:
    """Rewrites ``progress.json`` after a batch, at most every :data:`PROGRESS_INTERVAL_S`."""

    def __init__(self, path: Path, *, total: int) -> None:
        self.path = path
        self.total = total
        self.done = 0
        self.written = -1
        self.last = 0.0

    def __call__(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self.last >= PROGRESS_INTERVAL_S or done == self.total:
            self.flush()
            self.last = now

    def flush(self) -> None:
        if self.done != self.written:
            write_json_atomic(self.path, {"done": self.done, "total": self.total})
            self.written = self.done


def _lower(limit: int, soft: int, *, hard: int | None = None) -> None:
    _, current_hard = resource.getrlimit(limit)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
    resource.setrlimit(limit, (min(soft, hard), hard))


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process if the parent dies; exit if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent_pid:
        os._exit(1)


if __name__ == "__main__":
    sys.exit(main())
