"""Admission control for submission uploads: a bounded number in progress per process.

Past the bound an upload is answered 503 with ``Retry-After`` before its body is read, so a
deadline rush degrades into short, honest waits (the CLI retries them) rather than requests
queued behind each other until clients time out. Counted in the event loop's thread (the
upload guard is ASGI middleware), so no lock is needed.
"""

from __future__ import annotations

import math
import time

from app.errors import ServerBusy

SERVER_BUSY = (
    "the server is handling {count} submissions already; nothing was stored: "
    "send it again in {seconds} s"
)
MAX_RETRY_AFTER = 30
"""The longest wait suggested, in seconds."""
SMOOTHING = 0.2
"""Weight of the newest upload in the running mean of how long one takes."""


class Admission:
    """How many submissions are in progress, and how long one takes (a running mean)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_progress = 0
        self.mean_seconds = 0.05

    def enter(self) -> float:
        """Take a place, or raise ``ServerBusy``; the start time, for :meth:`leave`."""
        if self.in_progress >= self.limit:
            seconds = self.retry_after()
            message = SERVER_BUSY.format(count=self.in_progress, seconds=seconds)
            raise ServerBusy(message, retry_after=seconds)
        self.in_progress += 1
        return time.monotonic()

    def leave(self, started: float) -> None:
        self.in_progress -= 1
        took = time.monotonic() - started
        self.mean_seconds += SMOOTHING * (took - self.mean_seconds)

    def retry_after(self) -> int:
        """Whole seconds until a place is likely free (1 to 30): by Little's law, with the
        bound reached, places free up about one mean upload time apart in aggregate, and the
        whole set in progress turns over within one mean upload time."""
        return max(1, min(MAX_RETRY_AFTER, math.ceil(self.mean_seconds)))
