"""The parent-side contract: what the web process may import, limits, serialisable values."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scoring.inference import InferenceLimits, ModelSignature
from scoring.inference.errors import memory_limit_message, mentions_memory_exhaustion


def test_importing_the_parent_api_loads_neither_onnx_nor_onnxruntime() -> None:
    code = (
        "import sys, scoring.inference, scoring.inference.sandbox; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'onnxruntime')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_default_limits_fit_a_resnet50_over_the_course_test_set() -> None:
    limits = InferenceLimits()
    assert limits.wall_seconds == 600
    assert limits.memory_bytes == 8 * 1024**3
    assert limits.max_model_bytes == 512 * 1024**2
    assert limits.resolved_threads() >= 1


def test_cpu_limit_defaults_to_wall_time_per_thread_plus_a_margin() -> None:
    assert InferenceLimits(wall_seconds=60).cpu_limit_seconds(threads=4) == 250
    assert InferenceLimits(wall_seconds=60, cpu_seconds=12.5).cpu_limit_seconds(threads=4) == 13


@pytest.mark.parametrize(
    "bad",
    [
        {"wall_seconds": 0},
        {"wall_seconds": float("inf")},
        {"memory_bytes": -1},
        {"max_model_bytes": 0},
        {"max_model_bytes": 2 * 1024**3},
        {"threads": 0},
        {"cpu_seconds": 0},
        {"max_open_files": 3},
    ],
)
def test_nonsensical_limits_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="InferenceLimits"):
        InferenceLimits(**bad)  # type: ignore[arg-type]


def test_limits_survive_the_job_file() -> None:
    limits = InferenceLimits(wall_seconds=5, memory_bytes=2**30, threads=3, cpu_seconds=9)
    assert InferenceLimits.from_dict(limits.to_dict()) == limits


def test_signature_survives_json() -> None:
    signature = ModelSignature(
        "image",
        "float32",
        "NCHW",
        ("batch", 3, 224, 224),
        None,
        "age",
        "float16",
        ("batch", 1),
        17,
        1234,
    )
    assert ModelSignature.from_dict(signature.to_dict()) == signature


def test_memory_message_rounds_the_limit_in_gib() -> None:
    assert memory_limit_message(1536 * 1024**2) == "The model exceeded the memory limit of 1.5 GiB."


@pytest.mark.parametrize(
    "text",
    [
        "MemoryError",
        "terminate called after throwing an instance of 'std::bad_alloc'",
        "BFCArena::AllocateRawInternal Failed to allocate memory for requested buffer of size 8",
        "CUDA failure 2: out of memory",
    ],
)
def test_memory_exhaustion_is_recognised_in_every_dialect(text: str) -> None:
    assert mentions_memory_exhaustion(text)
