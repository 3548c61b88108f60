"""ONNX model submissions: the contract check at upload and inference for a claimed job.

The web process never loads a model: both steps run ``scoring.inference`` in a fresh,
resource-limited child process.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from app.config import Settings
from app.db import Database
from app.models import Phase, Submission, TestSetVersion
from app.services.submissions import stored_file
from scoring.inference import (
    InferenceLimits,
    InferenceResult,
    ModelRejected,
    check_model,
    run_model,
)

if TYPE_CHECKING:
    from app.services.evaluation import Claim

log = logging.getLogger("fairboard.models")

UPLOAD_CHECK_SECONDS = 60.0
PROGRESS_INTERVAL_SECONDS = 0.5
MIB = 1024 * 1024


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
        return str(exc)
    return None


def run_model_submission(
    db: Database,
    settings: Settings,
    claim: Claim,
    submission: Submission,
    phase: Phase,
    testset: TestSetVersion,
    path: Path,
) -> InferenceResult:
    """Run a claimed model over the phase's test images, reporting progress to the database."""
    from app.services import testsets
    from app.services.evaluation import report_progress

    last_report = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last_report
        now = time.monotonic()
        if done == total or now - last_report >= PROGRESS_INTERVAL_SECONDS:
            last_report = now
            report_progress(db, claim, done, total)

    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    result = run_model(
        path,
        testsets.images_for_size(settings, testset, phase.effective_input_size(testset)),
        preset=submission.preset,
        output_scale=submission.output_scale,
        provider=phase.execution_provider,
        batch_size=settings.inference_batch_size,
        limits=inference_limits(settings, phase),
        progress=progress,
        workdir=settings.jobs_dir,
    )
    log.info(
        "model ran on %s: %.1f images/s over %.2f s",
        result.execution_provider,
        result.images_per_second,
        result.seconds,
    )
    return result
