"""Request and response models of the organizer API: phases' hidden settings, test sets,
co-organizers, moderation, re-scoring, audit and kits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.db import DB_ID_MAX
from app.schema_examples import organizer as examples
from app.schemas.core import (
    InputModel,
    PhaseOut,
)


class OrganizerPhaseOut(PhaseOut):
    """A phase with the settings only its organizers see."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXAMPLE_ORGANIZER_PHASE]})

    competition_id: int
    primary_column: str
    split_seed: int
    private_revealed_at: datetime | None
    execution_provider: str
    model_time_limit_seconds: int
    model_memory_limit_mb: int
    model_input_size: list[int] | None
    testset_fingerprint: str | None


class TestSetOut(BaseModel):
    """What an organizer sees of a test set (read from its record): the import report, never
    the labels."""

    __test__ = False  # not a pytest test class
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [examples.EXAMPLE_TESTSET]}
    )
    id: int
    name: str
    fingerprint: str
    layout: str
    n_items: int
    image_size: list[int]
    group_sizes: dict[str, dict[str, int]]
    source_image_sizes: dict[str, int]
    is_synthetic: bool
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_record(cls, record: Any) -> Any:
        if isinstance(record, dict):
            return record
        report = record.report or {}
        return {
            "id": record.id,
            "name": record.name,
            "fingerprint": record.fingerprint,
            "layout": record.layout,
            "n_items": record.n_items,
            "image_size": [record.image_height, record.image_width],
            "group_sizes": report.get("group_sizes", {}),
            "source_image_sizes": report.get("source_image_sizes", {}),
            "is_synthetic": record.is_synthetic,
            "created_at": record.created_at,
        }


class UsernameIn(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.EXAMPLE_USERNAME]}
    )
    username: str = Field(max_length=64)


class OrganizerOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [examples.EXAMPLE_ORGANIZER]}
    )
    username: str
    role: str
    added_at: datetime


class ReasonIn(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.EXAMPLE_REASON]}
    )
    reason: str = Field(default="", max_length=2000)


class ParticipantOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXAMPLE_PARTICIPANT]})
    username: str
    joined_at: datetime
    submissions: int
    disqualified: bool
    disqualified_at: datetime | None
    disqualified_reason: str | None


class ModerationSubmissionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [examples.EXAMPLE_MODERATION_SUBMISSION]}
    )
    id: int
    phase_id: int
    participant: str
    user_id: int
    kind: str
    status: str
    error: str | None
    description: str
    filename: str
    has_file: bool
    size_bytes: int
    sha256: str
    created_at: datetime
    finished_at: datetime | None
    attempts: int
    is_hidden: bool
    is_baseline: bool
    is_chosen: bool
    disqualified: bool
    testset_fingerprint: str | None
    execution_provider: str | None
    scores: dict[str, float | None] | None
    private_scores: dict[str, float | None] | None
    scores_note: str | None = None


class RescoreIn(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.EXAMPLE_RESCORE_IN]}
    )
    testset_id: Annotated[int, Field(ge=1, le=DB_ID_MAX)] | None = None
    include_failed: bool = False


class RescoreOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXAMPLE_RESCORE]})
    id: int
    phase_id: int
    created_at: datetime
    actor: str | None
    from_testset_id: int | None
    to_testset_id: int | None
    from_fingerprint: str | None
    to_fingerprint: str | None
    complete: bool
    counts: dict[str, int]
    changes: list[dict[str, Any]]


class AuditEntryOut(BaseModel):
    """An audit entry with its actor's name (None once the user is deleted)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXAMPLE_AUDIT_ENTRY]})
    id: int
    created_at: datetime
    actor: str | None
    action: str
    target: str
    details: dict[str, Any]


class KitOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXAMPLE_KIT]})
    kind: str
    filename: str
    size_bytes: int
    created_at: datetime
    url: str
