"""A phase's settings, written once: the API body, the page form and the service's input.

Adding a setting touches the ``Phase`` model, its migration, :class:`PhaseSettings` and the
form template. Each validator raises :class:`app.errors.InvalidInput` with one of the message
constants below; pydantic lets that exception through, so the API and the pages answer with
the message word for word (422) instead of pydantic's generic one.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.db import DB_ID_MAX
from app.errors import InvalidInput
from app.models import EntrySelection, SubmissionKind, TiePolicy
from app.schema_examples import organizer as examples
from app.schemas import InputModel
from scoring.groups import SCORE_NAMES
from scoring.inference import PROVIDERS
from scoring.ladder import MAX_DECIMALS

NAME_REQUIRED = "the phase name must not be empty"
NAME_TOO_LONG = "the phase name must be at most 100 characters (got {length})"
NOT_A_MOMENT = "{field} must be a date and time such as 2026-03-01T09:00 (got {value!r})"
CLOSES_BEFORE_OPENS = "closes_at ({closes}) must be later than opens_at ({opens})"
LIMIT_NOT_POSITIVE = "{field} must be at least 1, or empty for no limit (got {value!r})"
POSITIVE_REQUIRED = "{field} must be a whole number of at least 1 (got {value!r})"
NUMBER_TOO_LARGE = "{field} must be at most {high} (got {value!r})"
SEED_NOT_NATURAL = "split_seed must be a whole number of at least 0 (got {value!r})"
FRACTION_OUT_OF_RANGE = (
    "public_fraction must be between 0 and 1 (exclusive), or empty for no private split "
    "(got {value!r})"
)
KINDS_EMPTY = "submission_kinds must name at least one of: predictions, model"
UNKNOWN_KIND = "unknown submission kind {kind!r}; expected predictions or model"
UNKNOWN_CHOICE = "{field} must be one of: {choices} (got {value!r})"
PREDICTIONS_NEED_INPUTS = (
    "a phase that accepts only prediction files must publish its test inputs "
    "(set inputs_public, or also accept models)"
)
TESTSET_NOT_FOUND = "test set {id} not found"
IMAGE_SIZE_OUT_OF_RANGE = "{field} must be between {low} and {high} pixels (got {value!r})"
UNKNOWN_FIELD = "unknown phase setting {field!r}"
INVALID_SETTING = "{field}: {problem}"
MODEL_INPUT_SIZE_INCOMPLETE = (
    "model_input_height and model_input_width go together: give both, or neither for the "
    "test set's stored image size"
)

THRESHOLD_OUT_OF_RANGE = "ladder_threshold must be a number from 0 to {high} (got {value!r})"
DECIMALS_OUT_OF_RANGE = (
    "public_decimals must be a whole number from 0 to {high}, or empty (got {value!r})"
)
ROUNDING_NEEDS_DECIMALS = "public_policy rounding needs public_decimals (e.g. 2)"
MAX_LADDER_THRESHOLD = 1000.0
PUBLIC_POLICIES = ("none", "ladder", "rounding")

MIN_MODEL_INPUT_SIDE, MAX_MODEL_INPUT_SIDE = 16, 1024
MAX_COUNT = DB_ID_MAX
"""The largest limit, seed or id a 32-bit database integer column holds."""
MAX_ID = DB_ID_MAX
BLANK_MEANS_NONE = (
    "testset_id",
    "opens_at",
    "closes_at",
    "daily_limit",
    "total_limit",
    "public_fraction",
    "model_input_height",
    "model_input_width",
    "public_decimals",
)
"""Settings an empty form field clears."""
CHECKBOXES = ("inputs_public", "leaderboard_public")


def whole_number(value: Any) -> int | None:
    """``value`` as an int when it is a whole number (``3``, ``3.0``, ``"3"``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text.startswith("-") else text
        # ASCII only: int() would also read other scripts' digits.
        if digits.isascii() and digits.isdigit() and len(digits) <= 40:
            return int(text)
    return None


def _bounded(value: Any, field: str, *, low: int, message: str, high: int = MAX_COUNT) -> int:
    number = whole_number(value)
    if number is None or number < low:
        raise InvalidInput(message.format(field=field, value=value), field=field)
    if number > high:
        raise InvalidInput(
            NUMBER_TOO_LARGE.format(field=field, high=high, value=value), field=field
        )
    return number


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    text = value.value if isinstance(value, EntrySelection | TiePolicy) else value
    if text not in choices:
        raise InvalidInput(
            UNKNOWN_CHOICE.format(field=field, choices=", ".join(choices), value=value),
            field=field,
        )
    return str(text)


class PhaseSettings(InputModel):
    """Every setting an organizer gives a phase, checked field by field and as a whole."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.EXAMPLE_PHASE_SETTINGS]}
    )

    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=100_000)
    testset_id: int | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    daily_limit: int | None = 5
    total_limit: int | None = None
    public_fraction: float | None = None
    split_seed: int | None = None
    """Random when not given: the split must not be reproducible from the code alone."""
    inputs_public: bool = True
    leaderboard_public: bool = True
    entry_selection: EntrySelection = EntrySelection.LATEST
    primary_column: str = "mae"
    tie_policy: TiePolicy = TiePolicy.DENSE
    submission_kinds: list[str] = Field(default_factory=lambda: [SubmissionKind.PREDICTIONS.value])
    execution_provider: str = "auto"
    model_time_limit_seconds: int = 900
    model_memory_limit_mb: int = 4096
    model_input_height: int | None = None
    model_input_width: int | None = None
    """Both, or neither for the test set's stored image size."""
    public_policy: str = "none"
    """What the public leaderboard reveals: ``none``, ``ladder`` or ``rounding`` (issue 13)."""
    ladder_threshold: float = 0.0
    """Ladder: a new public best shows only when it beats the previous one by more than this."""
    public_decimals: int | None = None
    """Public scores shown rounded to this many decimals (rounding; optional with ladder)."""

    @classmethod
    def check(cls, values: dict[str, Any]) -> PhaseSettings:
        """``values`` validated as a whole, or the first problem as ``InvalidInput``."""
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            if first["type"] == "extra_forbidden":
                raise InvalidInput(UNKNOWN_FIELD.format(field=field), field=field) from None
            message = INVALID_SETTING.format(field=field, problem=first["msg"])
            raise InvalidInput(message, field=field) from None

    @classmethod
    def from_form(cls, form: dict[str, Any]) -> dict[str, Any]:
        """A submitted settings form as settings: blanks clear, checkboxes are on or off."""
        values = {field: form[field] for field in cls.model_fields if field in form}
        for field in CHECKBOXES:
            values[field] = bool(form.get(field))
        for field in BLANK_MEANS_NONE:
            if str(values.get(field) or "").strip() == "":
                values[field] = None
        return values

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            return value  # not text: pydantic's own error says so
        name = (value or "").strip()
        if not name:
            raise InvalidInput(NAME_REQUIRED, field="name")
        if len(name) > 100:
            raise InvalidInput(NAME_TOO_LONG.format(length=len(name)), field="name")
        return name

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("testset_id", mode="before")
    @classmethod
    def _testset_id(cls, value: Any) -> int | None:
        if value is None:
            return None
        number = whole_number(value)
        if number is None or not 0 < number <= MAX_ID:
            raise InvalidInput(TESTSET_NOT_FOUND.format(id=value), field="testset_id")
        return number

    @field_validator("opens_at", "closes_at", mode="before")
    @classmethod
    def _moment(cls, value: Any, info: ValidationInfo) -> datetime | None:
        if value is None or value == "":
            return None
        field = str(info.field_name)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise InvalidInput(
                    NOT_A_MOMENT.format(field=field, value=value), field=field
                ) from None
        if not isinstance(value, datetime):
            raise InvalidInput(NOT_A_MOMENT.format(field=field, value=value), field=field)
        # Times without a zone are read as UTC, the zone every page shows.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("daily_limit", "total_limit", mode="before")
    @classmethod
    def _limit(cls, value: Any, info: ValidationInfo) -> int | None:
        if value is None or value == "":
            return None
        return _bounded(value, str(info.field_name), low=1, message=LIMIT_NOT_POSITIVE)

    @field_validator("model_time_limit_seconds", "model_memory_limit_mb", mode="before")
    @classmethod
    def _positive(cls, value: Any, info: ValidationInfo) -> int:
        return _bounded(value, str(info.field_name), low=1, message=POSITIVE_REQUIRED)

    @field_validator("split_seed", mode="before")
    @classmethod
    def _seed(cls, value: Any) -> int | None:
        if value is None:
            return None
        return _bounded(value, "split_seed", low=0, message=SEED_NOT_NATURAL)

    @field_validator("public_fraction", mode="before")
    @classmethod
    def _fraction(cls, value: Any) -> float | None:
        if value is None or value == "":
            return None
        try:
            fraction = float(value)
        except (TypeError, ValueError, OverflowError):
            fraction = math.nan
        if isinstance(value, bool) or not math.isfinite(fraction) or not 0.0 < fraction < 1.0:
            raise InvalidInput(FRACTION_OUT_OF_RANGE.format(value=value), field="public_fraction")
        return fraction

    @field_validator("ladder_threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> float:
        if value is None or value == "":
            return 0.0
        try:
            threshold = float(value)
        except (TypeError, ValueError, OverflowError):
            threshold = math.nan
        high = MAX_LADDER_THRESHOLD
        if isinstance(value, bool) or not math.isfinite(threshold) or not 0 <= threshold <= high:
            raise InvalidInput(
                THRESHOLD_OUT_OF_RANGE.format(high=high, value=value), field="ladder_threshold"
            )
        return threshold

    @field_validator("public_decimals", mode="before")
    @classmethod
    def _decimals(cls, value: Any) -> int | None:
        if value is None or value == "":
            return None
        number = whole_number(value)
        if number is None or not 0 <= number <= MAX_DECIMALS:
            raise InvalidInput(
                DECIMALS_OUT_OF_RANGE.format(high=MAX_DECIMALS, value=value),
                field="public_decimals",
            )
        return number

    @field_validator(
        "entry_selection",
        "tie_policy",
        "primary_column",
        "execution_provider",
        "public_policy",
        mode="before",
    )
    @classmethod
    def _one_of(cls, value: Any, info: ValidationInfo) -> str:
        field = str(info.field_name)
        choices: dict[str, tuple[str, ...]] = {
            "entry_selection": tuple(e.value for e in EntrySelection),
            "tie_policy": tuple(t.value for t in TiePolicy),
            "primary_column": SCORE_NAMES,
            "execution_provider": tuple(PROVIDERS),
            "public_policy": PUBLIC_POLICIES,
        }
        return _choice(value, field, choices[field])

    @field_validator("submission_kinds", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            value = [value]
        kinds: list[str] = []
        for kind in value:
            text = kind.value if isinstance(kind, SubmissionKind) else str(kind).strip().lower()
            if text not in (SubmissionKind.PREDICTIONS.value, SubmissionKind.MODEL.value):
                raise InvalidInput(UNKNOWN_KIND.format(kind=kind), field="submission_kinds")
            if text not in kinds:
                kinds.append(text)
        if not kinds:
            raise InvalidInput(KINDS_EMPTY, field="submission_kinds")
        return kinds

    @field_validator("model_input_height", "model_input_width", mode="before")
    @classmethod
    def _input_side(cls, value: Any, info: ValidationInfo) -> int | None:
        if value is None or value == "":
            return None
        field = str(info.field_name)
        number = whole_number(value)
        low, high = MIN_MODEL_INPUT_SIDE, MAX_MODEL_INPUT_SIDE
        if number is None or not low <= number <= high:
            raise InvalidInput(
                IMAGE_SIZE_OUT_OF_RANGE.format(field=field, low=low, high=high, value=value),
                field=field,
            )
        return number

    @model_validator(mode="after")
    def _consistent(self) -> PhaseSettings:
        opens, closes = self.opens_at, self.closes_at
        if opens is not None and closes is not None and closes <= opens:
            raise InvalidInput(
                CLOSES_BEFORE_OPENS.format(closes=closes.isoformat(), opens=opens.isoformat()),
                field="closes_at",
            )
        if self.submission_kinds == [SubmissionKind.PREDICTIONS.value] and not self.inputs_public:
            raise InvalidInput(PREDICTIONS_NEED_INPUTS, field="inputs_public")
        if (self.model_input_height is None) != (self.model_input_width is None):
            missing = (
                "model_input_width" if self.model_input_width is None else "model_input_height"
            )
            raise InvalidInput(MODEL_INPUT_SIZE_INCOMPLETE, field=missing)
        if self.public_policy == "rounding" and self.public_decimals is None:
            raise InvalidInput(ROUNDING_NEEDS_DECIMALS, field="public_decimals")
        return self


class PhasePatch(PhaseSettings):
    """Some of a phase's settings: only the fields sent change (null clears a limit or a date).

    Each field is checked as it arrives; the whole is checked once merged with the phase.
    """

    name: str = Field(default="", max_length=100)

    def _consistent(self) -> PhasePatch:  # type: ignore[override]
        return self
