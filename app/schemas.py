"""Pydantic request and response models of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.db import DB_ID_MAX
from app.schema_examples import (
    EXAMPLE_COMPETITION,
    EXAMPLE_DELIVERY,
    EXAMPLE_LEADERBOARD_ROW,
    EXAMPLE_PHASE,
    EXAMPLE_REGISTER,
    EXAMPLE_SUBMISSION,
    EXAMPLE_TOKEN,
    EXAMPLE_TOKEN_IN,
    EXAMPLE_TOKEN_INFO,
    EXAMPLE_USER,
    EXAMPLE_WEBHOOK,
)
from app.schema_examples import organizer as examples

NUL_IN_TEXT = "text must not contain a NUL character (\\x00)"


class InputModel(BaseModel):
    """A request body. Text holding a NUL character is refused with a 422 that names the
    field: PostgreSQL cannot store it, and no real input needs it."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError(NUL_IN_TEXT)
        return value


class ErrorOut(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class RegisterIn(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_REGISTER]})
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    email: str = Field(max_length=254)


class TokenIn(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_TOKEN_IN]})
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    name: str = Field(default="api", max_length=100)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXAMPLE_PASSWORD_CHANGE]})
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class TokenOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_TOKEN]})
    token: str
    id: int
    name: str


class TokenInfoOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [EXAMPLE_TOKEN_INFO]}
    )
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [EXAMPLE_USER]})
    id: int
    username: str
    role: str
    created_at: datetime
    is_active: bool


class QuotaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    daily_limit: int | None
    used_today: int
    remaining_today: int | None
    total_limit: int | None
    used_total: int
    remaining_total: int | None
    resets_at: datetime


class PhaseOut(BaseModel):
    """A phase, read from ``presenters.PhaseAt`` (the phase as of now, with the quota)."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [EXAMPLE_PHASE]})
    id: int
    name: str
    description: str
    opens_at: datetime | None
    closes_at: datetime | None
    is_open: bool
    daily_limit: int | None
    total_limit: int | None
    inputs_public: bool
    leaderboard_public: bool
    public_fraction: float | None
    private_revealed: bool
    entry_selection: str
    tie_policy: str
    submission_kinds: list[str]
    testset_id: int | None
    n_items: int | None
    testset_is_synthetic: bool | None = None
    input_size: list[int] | None
    quota: QuotaOut | None = None
    public_policy: str = "none"
    """What the public leaderboard reveals: none, ladder or rounding (issue 13)."""
    ladder_threshold: float = 0.0
    public_decimals: int | None = None


class CompetitionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_COMPETITION]})
    id: int
    title: str
    description: str
    created_at: datetime
    joined: bool = False
    is_organizer: bool = False
    team_mode: str = "off"
    max_team_size: int = 4
    phases: list[PhaseOut] = []


class GroupOut(BaseModel):
    group: str
    size: int
    mae: float | None


class TimelineEventOut(BaseModel):
    """One change of a submission's status: when, by which process or person, and why."""

    at: datetime
    from_status: str | None
    status: str
    by: str
    reason: str


class SubmissionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_SUBMISSION]})
    id: int
    phase_id: int
    participant: str | None = None
    kind: str
    status: str
    error: str | None
    description: str
    filename: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    scores: dict[str, float | None] | None
    groups: dict[str, list[GroupOut]] | None
    split: str | None
    private_scores: dict[str, float | None] | None = None
    private_groups: dict[str, list[GroupOut]] | None = None
    scores_note: str | None = None
    """Set when stored scores exist but are unreadable: they show as null, with this reason."""
    intervals: dict[str, list[float] | None] | None = None
    """95% bootstrap interval [low, high] of each score in ``scores`` (same split); null when
    not available (see ``intervals_note``)."""
    private_intervals: dict[str, list[float] | None] | None = None
    interval_level: float = 0.95
    intervals_note: str | None = None
    rank_move: str | None = None
    """Why the participant's leaderboard position last changed, in one sentence."""
    progress: dict[str, int] | None = None
    queue_position: int | None = None
    timeline: list[TimelineEventOut] | None = None
    """Every transition, oldest first; only in the detail of one submission."""
    execution_provider: str | None = None
    scorer_version: str | None
    testset_fingerprint: str | None
    is_chosen: bool
    preset: str
    output_scale: float
    metadata: dict[str, str] = {}
    team: TeamRefOut | None = None
    """The team the submission was made for (team competitions)."""


class TeamRefOut(BaseModel):
    id: int
    name: str


class SubmissionPatch(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.EXAMPLE_SUBMISSION_PATCH]}
    )
    metadata: dict[str, Any] | None = None
    """Replaces the metadata: string keys to string values (checked by the service)."""


class LeaderboardRowOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_LEADERBOARD_ROW]})
    position: int
    participant: str
    entries: int
    last_entry_at: datetime
    ranking: float
    submission_id: int
    is_baseline: bool
    gender_bias: float | None
    gender_bias_rank: float
    expression_bias: float | None
    expression_bias_rank: float
    ethnicity_bias: float | None
    ethnicity_bias_rank: float
    age_bias: float | None
    age_bias_rank: float
    mae: float | None
    mae_rank: float
    note: str | None = None
    """Set when the entry's stored scores are unreadable: they show as null, ranked last."""
    members: list[str] | None = None
    """A team's members (team competitions); None for an individual or a baseline."""
    rank_interval: list[int] | None = None
    """95% interval [best, worst] of the position, computed in the background (null: not yet)."""
    tied_with_neighbour: bool = False
    """The position interval overlaps the row above's or below's: statistically tied."""


# --- Organizers: competitions, phases, test sets, moderation ---------------------------------


class CompetitionIn(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.EXAMPLE_COMPETITION_IN]}
    )
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=100_000)


class CompetitionPatch(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.EXAMPLE_COMPETITION_PATCH]}
    )
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=100_000)
    team_mode: Literal["off", "optional", "required"] | None = None
    max_team_size: int | None = Field(default=None, ge=1, le=50)


class TeamIn(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.EXAMPLE_TEAM_IN]}
    )
    name: str = Field(max_length=100)


class InviteIn(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.EXAMPLE_INVITE]}
    )
    invite_code: str = Field(max_length=64)


class TeamOut(BaseModel):
    """A team as its members and the competition's organizers see it."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXAMPLE_TEAM]})
    id: int
    competition_id: int
    name: str
    invite_code: str
    members: list[str]
    captain: str | None
    created_at: datetime
    frozen: bool
    """True once the team has submitted: its members can no longer change."""


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


class WebhookIn(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"url": EXAMPLE_WEBHOOK["url"], "events": EXAMPLE_WEBHOOK["events"]}]
        }
    )
    url: str = Field(max_length=2048, examples=["https://ci.example.org/fairboard-hook"])
    events: list[Annotated[str, Field(max_length=64)]] = Field(
        max_length=10, examples=[["submission.finished", "submission.failed"]]
    )


class WebhookOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [EXAMPLE_WEBHOOK]}
    )
    id: int
    url: str
    events: list[str]
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [EXAMPLE_WEBHOOK | {"secret": "whsec_" + "A" * 32}]},
    )
    secret: str
    """The signing secret (``whsec_...``), shown this once."""


class DeliveryOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [EXAMPLE_DELIVERY]}
    )
    id: int
    message_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_response_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
