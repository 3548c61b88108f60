"""The client's connection: where the server is, the stored token, and the HTTP calls.

Every failure becomes a ``ClientError`` carrying the exit code the command ends with.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from platformdirs import user_config_path

DEFAULT_URL = "http://127.0.0.1:8000"
CREDENTIALS_FILE = "credentials.json"
TIMEOUT = httpx.Timeout(60.0, connect=10.0)

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_REJECTED = 2
EXIT_LIMIT = 3
EXIT_NOT_ALLOWED = 4

NOT_LOGGED_IN = "not logged in: run `fairboard login` or set FAIRBOARD_TOKEN"
UNREACHABLE = "cannot reach the Fairboard server at {url}: {reason}"
NOT_JSON = "the server at {url} answered {status} without a JSON body; is it a Fairboard server?"
LIMIT_RESETS = "{message} (resets at {reset})"
BUSY = "the server is busy (nothing was stored): sending again in {seconds} s"
IN_PROGRESS = (
    "you have the most submissions in progress at once already (nothing was stored): "
    "sending again in {seconds} s"
)
BUSY_RETRIES = 5
"""Times a call refused with 503 ``server_busy`` or 429 ``submissions_in_progress`` is sent
again, each after its Retry-After."""
WAITS = {(503, "server_busy"): BUSY, (429, "submissions_in_progress"): IN_PROGRESS}
"""The refusals that end soon by themselves (nothing stored), with the note printed for each."""
MAX_BUSY_WAIT = 60


class ClientError(Exception):
    """A command's failure: the message for the user, the exit code, the server's error."""

    def __init__(
        self,
        message: str,
        exit_code: int,
        *,
        http_status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.http_status = http_status
        self.code = code

    def to_dict(self) -> dict[str, Any]:
        error = {"message": self.message, "status": self.http_status, "code": self.code}
        return {"error": error}


def exit_code_for(status: int) -> int:
    """The pinned exit codes: 2 rejected input, 3 quota or limit, 4 not authenticated or not
    allowed, 1 anything else."""
    if status == 422:
        return EXIT_REJECTED
    if status == 429:
        return EXIT_LIMIT
    if status in (401, 403):
        return EXIT_NOT_ALLOWED
    return EXIT_OTHER


def credentials_path() -> Path:
    """``credentials.json`` in the user's config directory (XDG on Linux)."""
    return user_config_path("fairboard") / CREDENTIALS_FILE


def load_credentials() -> dict[str, Any]:
    path = credentials_path()
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


def save_credentials(credentials: dict[str, Any]) -> Path:
    """Write the token file readable by its owner alone (0600, created so from the start)."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(credentials, handle)
    os.chmod(path, 0o600)
    return path


def forget_credentials() -> bool:
    path = credentials_path()
    if path.exists():
        path.unlink()
        return True
    return False


def server_url(explicit: str | None = None) -> str:
    """``--url``, else ``FAIRBOARD_URL``, else the stored one, else the local default."""
    url = explicit or os.environ.get("FAIRBOARD_URL") or load_credentials().get("url")
    return str(url or DEFAULT_URL).rstrip("/")


def stored_token() -> str | None:
    """``FAIRBOARD_TOKEN``, else the token saved by ``fairboard login``."""
    token = os.environ.get("FAIRBOARD_TOKEN") or load_credentials().get("token")
    return str(token) if token else None


class ProgressReader:
    """A file wrapper that reports bytes read (httpx reads uploads in chunks)."""

    def __init__(self, handle: BinaryIO, advance: Callable[[int], None]) -> None:
        self._handle = handle
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._advance(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def fileno(self) -> int:
        return self._handle.fileno()


@dataclass
class Api:
    """Calls to one server's ``/api/v1``; ``token`` None for anonymous calls."""

    url: str
    token: str | None

    @classmethod
    def from_environment(cls, url: str | None = None, *, login: bool = True) -> Api:
        token = stored_token()
        if login and token is None:
            raise ClientError(NOT_LOGGED_IN, EXIT_NOT_ALLOWED)
        return cls(server_url(url), token)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @contextmanager
    def stream(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Iterator[httpx.Response]:
        """A streamed response after its status was checked (downloads)."""
        try:
            with httpx.stream(
                method,
                f"{self.url}/api/v1{path}",
                headers=self._headers() | (headers or {}),
                timeout=TIMEOUT,
                **kwargs,
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._error(response)
                yield response
        except httpx.HTTPError as exc:
            raise ClientError(UNREACHABLE.format(url=self.url, reason=exc), EXIT_OTHER) from exc

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a 4xx or 5xx answer raises ``ClientError`` with the server's message.

        A server at its bound of submissions in progress, in all (503 ``server_busy``) or from
        this caller (429 ``submissions_in_progress``), refused before the body was read, is
        asked again after the Retry-After it gives, a few times.
        """
        for attempt in range(BUSY_RETRIES + 1):
            response = self._send(method, path, **kwargs)
            wait = _busy_wait(response)
            if wait is None or attempt == BUSY_RETRIES:
                break
            seconds, note = wait
            print(note.format(seconds=seconds), file=sys.stderr)
            time.sleep(seconds)
            _rewind(kwargs.get("files"))
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return httpx.request(
                method,
                f"{self.url}/api/v1{path}",
                headers=self._headers(),
                timeout=TIMEOUT,
                **kwargs,
            )
        except httpx.HTTPError as exc:
            raise ClientError(UNREACHABLE.format(url=self.url, reason=exc), EXIT_OTHER) from exc

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ClientError(
                NOT_JSON.format(url=self.url, status=response.status_code), EXIT_OTHER
            ) from exc

    def _error(self, response: httpx.Response) -> ClientError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict) or "message" not in body:
            body = {"message": f"the server answered {status} {response.reason_phrase}"}
        message = str(body["message"])
        if status == 429:
            details = body.get("details") if isinstance(body.get("details"), dict) else {}
            reset = response.headers.get("x-quota-reset") or (details or {}).get("resets_at")
            if reset:
                message = LIMIT_RESETS.format(message=message, reset=reset)
        return ClientError(
            message, exit_code_for(status), http_status=status, code=body.get("code")
        )


def _busy_wait(response: httpx.Response) -> tuple[int, str] | None:
    """Seconds to wait before sending again, and the note to print, when the server said it
    is busy (one of :data:`WAITS`); else None."""
    if not any(response.status_code == status for status, _ in WAITS):
        return None
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    note = WAITS.get((response.status_code, code))
    if note is None:
        return None
    text = response.headers.get("retry-after", "")
    seconds = int(text) if text.isascii() and text.isdigit() else 1
    return max(1, min(MAX_BUSY_WAIT, seconds)), note


def _rewind(files: Any) -> None:
    """Put the files of a multipart upload back at their start, to send them again."""
    if not isinstance(files, dict):
        return
    for value in files.values():
        handle = value[1] if isinstance(value, tuple) and len(value) > 1 else value
        if hasattr(handle, "seek"):
            handle.seek(0)
