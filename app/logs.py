"""Logging set-up: plain lines for a terminal, JSON lines for log collectors.

Every record made while a submission is being handled carries its id (``submission_id``).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from typing import Any

current_submission: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "current_submission", default=None
)


class _SubmissionFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        setattr(record, "submission_id", current_submission.get())  # noqa: B010
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        submission_id = getattr(record, "submission_id", None)
        if submission_id is not None:
            body["submission_id"] = submission_id
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        submission_id = getattr(record, "submission_id", None)
        return f"{line} [submission={submission_id}]" if submission_id is not None else line


_configured = False


def configure_logging(
    *, json_lines: bool = False, level: int = logging.INFO, everything: bool = False
) -> None:
    """Log Fairboard's records to stderr; ``everything``: every library's too (Celery workers)."""
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_SubmissionFilter())
    handler.setFormatter(
        _JsonFormatter()
        if json_lines
        else _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logger = logging.getLogger() if everything else logging.getLogger("fairboard")
    logger.addHandler(handler)
    logger.setLevel(level)
    if not everything:
        logger.propagate = False
    _configured = True
