"""Metadata of a submission: key/value pairs such as ``model=resnet50`` or ``loss=weighted-l1``,
given at upload and editable by the submitter afterwards."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy.orm import Session

from app.errors import Forbidden, InvalidInput
from app.models import Submission, User
from scoring.errors import excerpt

MAX_PAIRS = 20
MAX_VALUE_CHARS = 200
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_.-]{0,31}")

METADATA_NOT_JSON = (
    'metadata is not valid JSON ({error}); send an object such as {{"model": "resnet50"}}'
)
METADATA_NOT_OBJECT = "metadata must be a JSON object of string keys to string values, got {kind}"
METADATA_TOO_MANY = "metadata has {count} pairs; at most 20 are allowed"
METADATA_BAD_KEY = (
    "metadata key {key!r} is not allowed: a key starts with a lower-case letter, then up to 31 "
    "lower-case letters, digits, '_', '.' or '-'"
)
METADATA_VALUE_NOT_TEXT = "metadata value of {key!r} must be a string, got {kind}"
METADATA_VALUE_TOO_LONG = (
    "metadata value of {key!r} has {length} characters; at most 200 are allowed"
)
METADATA_VALUE_NUL = "metadata value of {key!r} must not contain a NUL character (\\x00)"
NOT_THE_SUBMITTER = "only the participant who made submission {id} may change its metadata"


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def validate(metadata: Any) -> dict[str, str]:
    """The metadata as stored, or the 422 naming the first pair that is wrong."""
    if not isinstance(metadata, dict):
        raise InvalidInput(METADATA_NOT_OBJECT.format(kind=_kind(metadata)), field="metadata")
    if len(metadata) > MAX_PAIRS:
        raise InvalidInput(METADATA_TOO_MANY.format(count=len(metadata)), field="metadata")
    for key, value in metadata.items():
        if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
            raise InvalidInput(METADATA_BAD_KEY.format(key=excerpt(str(key))), field="metadata")
        if not isinstance(value, str):
            raise InvalidInput(
                METADATA_VALUE_NOT_TEXT.format(key=key, kind=_kind(value)), field="metadata"
            )
        if len(value) > MAX_VALUE_CHARS:
            raise InvalidInput(
                METADATA_VALUE_TOO_LONG.format(key=key, length=len(value)), field="metadata"
            )
        if "\x00" in value:
            raise InvalidInput(METADATA_VALUE_NUL.format(key=key), field="metadata")
    return {key: value.strip() for key, value in metadata.items()}


def parse_field(text: str | None) -> dict[str, str]:
    """The multipart ``metadata`` field (a JSON object); empty means none."""
    if text is None or not text.strip():
        return {}
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise InvalidInput(
            METADATA_NOT_JSON.format(error=excerpt(str(error))), field="metadata"
        ) from None
    return validate(parsed)


def parse_lines(text: str) -> dict[str, str]:
    """The page form's ``key=value`` lines (blank lines skipped) as validated metadata."""
    pairs: dict[str, Any] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if line.strip():
            pairs[key.strip()] = value.strip() if sep else value
    return validate(pairs)


def stored_metadata(stored: Any) -> dict[str, str]:
    """A submission's stored metadata; pairs that are not text to text are left out."""
    if not isinstance(stored, dict):
        return {}
    return {k: v for k, v in stored.items() if isinstance(k, str) and isinstance(v, str)}


def update(session: Session, submission: Submission, actor: User, metadata: Any) -> None:
    """Replace a submission's metadata (its submitter only)."""
    if submission.user_id != actor.id:
        raise Forbidden(NOT_THE_SUBMITTER.format(id=submission.id))
    submission.meta = validate(metadata)
    session.flush()
