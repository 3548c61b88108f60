"""Domain errors: each carries its HTTP status and a stable machine-readable code.

Services raise them; one handler (``app.main``) renders them as JSON for the API and as an
HTML page for the site.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar


class AppError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def headers(self) -> dict[str, str] | None:
        return None


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"}


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class InvalidInput(AppError):
    status_code = 422
    code = "invalid_input"


class PhaseClosed(AppError):
    status_code = 403
    code = "phase_closed"


class NotJoined(AppError):
    status_code = 403
    code = "not_joined"


class Disqualified(AppError):
    status_code = 403
    code = "disqualified"


class SubmissionKindNotAllowed(AppError):
    status_code = 422
    code = "submission_kind_not_allowed"


class InvalidSubmissionFile(AppError):
    """The uploaded file was rejected; the failed submission record is kept."""

    status_code = 422
    code = "invalid_submission_file"


class FileTooLarge(AppError):
    status_code = 413
    code = "file_too_large"


class SubmissionLimitReached(AppError):
    status_code = 429
    code = "submission_limit_reached"

    def __init__(self, message: str, *, resets_at: datetime | None, **details: Any) -> None:
        super().__init__(message, resets_at=resets_at.isoformat() if resets_at else None, **details)
        self.resets_at = resets_at

    def headers(self) -> dict[str, str] | None:
        if self.resets_at is None:
            return None
        from app.timeutil import seconds_until

        return {
            "Retry-After": str(max(1, seconds_until(self.resets_at))),
            "X-Quota-Remaining": "0",
            "X-Quota-Reset": self.resets_at.isoformat(),
        }


class SendAgainLater(AppError):
    """An upload refused before its body is read, to be sent again after ``Retry-After``
    seconds (nothing was stored)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


class ServerBusy(SendAgainLater):
    """Too many submissions in progress in the server process."""

    status_code = 503
    code = "server_busy"


class SubmissionsInProgress(SendAgainLater):
    """Too many submissions in progress from the one caller (their share of the places)."""

    status_code = 429
    code = "submissions_in_progress"


class InvalidTestSet(AppError):
    status_code = 422
    code = "invalid_testset"


class TeamRequired(AppError):
    status_code = 403
    code = "team_required"
