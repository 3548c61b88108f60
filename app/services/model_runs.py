"""ONNX model submissions: the contract check at upload and inference for a claimed job.

The web process never loads a model: both steps run ``scoring.inference`` in a fresh,
resource-limited child process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from app.config import Settings
from app.models import Phase, Submission, TestSetVersion
from app.services import testsets
from app.services.submissions import stored_file
from scoring.inference import (
    InferenceLimits,
    InferenceResult,
    ModelRejected,
    check_model,
    run_model,
)
from scoring.inference.errors import RUNTIME_LOAD_FAILED

log = logging.getLogger("fairboard.model_runs")

MODEL_NOT_LOADABLE = (
    "The model could not be loaded for inference: it uses an operator, a data type or an "
    "opset version that Fairboard's runtime does not support. Check that it loads with "
    "onnxruntime on your machine, exported with a standard opset."
)
UPLOAD_CHECK_SECONDS = 60.0
PROGRESS_INTERVAL_SECONDS = 0.5
MIB = 1024 * 1024


def participant_message(exc: ModelRejected) -> str:
    """Fairboard's words for a rejected model: the runtime's own text is never shown."""
    if str(exc).startswith(RUNTIME_LOAD_FAILED.format(reason="")):
        log.info("model not loadable: %s (%s)", exc, exc.detail)
        return MODEL_NOT_LOADABLE
    return str(exc)


def inference_limits(
    settings: Settings, phase: Phase, *, wall_seconds: float | None = None
) -> InferenceLimits:
    """The phase's limits for one inference child."""
    return InferenceLimits(
        wall_seconds=float(wall_seconds or phase.model_time_limit_seconds),
        memory_bytes=phase.model_memory_limit_mb * MIB,
        max_model_bytes=settings.max_model_file_bytes,
        threads=settings.inference_threads,
    )


def check_uploaded_model(settings: Settings, submission: Submission, phase: Phase) -> str | None:
    """Check a just-uploaded model against SPEC §5; the participant-facing problem, or None."""
    path = stored_file(settings, submission)
    testset = phase.testset
    if path is None or testset is None:
        return "the model could not be checked: the phase has no test set"
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    try:
        check_model(
            path,
            input_size=phase.effective_input_size(testset),
            preset=submission.preset,
            limits=inference_limits(
                settings,
                phase,
                wall_seconds=min(UPLOAD_CHECK_SECONDS, phase.model_time_limit_seconds),
            ),
            workdir=settings.jobs_dir,
        )
    except ModelRejected as exc:
        return participant_message(exc)
    return None


def run_model_submission(
    settings: Settings,
    submission: Submission,
    phase: Phase,
    testset: TestSetVersion,
    path: Path,
    *,
    progress: Callable[[int, int], None],
) -> InferenceResult:
    """Run a model over the phase's test images; ``progress`` hears (done, total), throttled."""
    last_report = 0.0

    def throttled(done: int, total: int) -> None:
        nonlocal last_report
        now = time.monotonic()
        if done == total or now - last_report >= PROGRESS_INTERVAL_SECONDS:
            last_report = now
            progress(done, total)

    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    result = run_model(
        path,
        testsets.images_for_size(settings, testset, phase.effective_input_size(testset)),
        preset=submission.preset,
        output_scale=submission.output_scale,
        provider=phase.execution_provider,
        batch_size=settings.inference_batch_size,
        limits=inference_limits(settings, phase),
        progress=throttled,
        workdir=settings.jobs_dir,
    )
    log.info(
        "model ran on %s: %.1f images/s over %.2f s",
        result.execution_provider,
        result.images_per_second,
        result.seconds,
    )
    return result
