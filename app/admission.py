"""Admission control for submission uploads: a bounded number in progress per process.

Past the bound an upload is answered 503 with ``Retry-After`` before its body is read, so a
deadline rush degrades into short, honest waits (the CLI retries them) rather than requests
queued behind each other until clients time out. Each caller has a share of the places too
(429 past it, once the caller is known and still before the body is read), so that one
participant trickling many uploads cannot hold every place. Counted in the event loop's thread
(the upload guard is ASGI middleware), so no lock is needed.
"""

from __future__ import annotations

import math
import time

from app.errors import ServerBusy, SubmissionsInProgress

SERVER_BUSY = (
    "the server is handling {count} submissions already; nothing was stored: "
    "send it again in {seconds} s"
)
IN_PROGRESS = (
    "you have {count} submissions in progress already (the most at once is {limit}); "
    "nothing was stored: send it again in {seconds} s"
)
MAX_RETRY_AFTER = 30
"""The longest wait suggested, in seconds."""
SMOOTHING = 0.2
"""Weight of the newest upload in the running mean of how long one takes."""


class Admission:
    """How many submissions are in progress, in all and per caller, and how long one takes (a
    running mean)."""

    def __init__(self, limit: int, per_user: int) -> None:
        self.limit = limit
        self.per_user = per_user
        self.in_progress = 0
        self.by_user: dict[int, int] = {}
        """Each caller's submissions in progress; a caller with none has no entry."""
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

    def enter_user(self, user_id: int) -> None:
        """Take one of the caller's places, or raise ``SubmissionsInProgress``."""
        count = self.by_user.get(user_id, 0)
        if count >= self.per_user:
            seconds = self.retry_after()
            message = IN_PROGRESS.format(count=count, limit=self.per_user, seconds=seconds)
            raise SubmissionsInProgress(message, retry_after=seconds)
        self.by_user[user_id] = count + 1

    def leave_user(self, user_id: int) -> None:
        count = self.by_user.pop(user_id) - 1
        if count:
            self.by_user[user_id] = count

    def retry_after(self) -> int:
        """Whole seconds until a place is likely free (1 to 30): by Little's law, with the
        bound reached, places free up about one mean upload time apart in aggregate, and the
        whole set in progress turns over within one mean upload time."""
        return max(1, min(MAX_RETRY_AFTER, math.ceil(self.mean_seconds)))
