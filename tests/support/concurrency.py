"""Simultaneous submissions against a live server, for the quota-under-concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from app.config import Settings


def all_in_flight(settings: Settings, per_caller: int) -> Settings:
    """The settings with ``per_caller`` uploads of one caller let in at once: past a caller's
    share of the upload places (``app.admission``) some would be turned away before the quota,
    which is what these tests put under load, decides."""
    return settings.model_copy(update={"max_concurrent_submissions_per_user": per_caller})


def submit_simultaneously(
    base_url: str, phase_id: int, content: bytes, headers: Sequence[dict[str, str]], attempts: int
) -> list[int]:
    """Post ``attempts`` prediction files at one moment (a barrier), taking turns through
    ``headers``; the status codes in the order of the attempts."""
    start = threading.Barrier(attempts)

    def attempt(index: int) -> int:
        with httpx.Client(base_url=base_url, timeout=120.0) as client:
            start.wait()
            response = client.post(
                f"/api/v1/phases/{phase_id}/submissions",
                files={"file": (f"p{index}.csv", content, "text/csv")},
                headers=headers[index % len(headers)],
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        return list(pool.map(attempt, range(attempts)))
