"""Pydantic request and response models of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.schema_examples import (
    EXAMPLE_COMPETITION,
    EXAMPLE_LEADERBOARD_ROW,
    EXAMPLE_PHASE,
    EXAMPLE_REGISTER,
    EXAMPLE_SUBMISSION,
    EXAMPLE_TOKEN,
    EXAMPLE_TOKEN_IN,
    EXAMPLE_TOKEN_INFO,
    EXAMPLE_USER,
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


class PasswordChangeIn(InputModel):
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


class InputsFileOut(BaseModel):
    """One download of a phase's test inputs: where, how big, its sha256, and whether it is
    built yet (until then ``bytes`` and ``sha256`` are null and the URL answers 503)."""

    url: str
    format: str
    """``zip`` or ``npz``."""
    ready: bool
    bytes: int | None
    sha256: str | None


class InputsOut(BaseModel):
    """The test inputs: ``archive`` (ids.csv, README.txt, images/*.png) and, optional, ``array``
    (the same pixels as one uint8 N x H x W x 3 array in an .npz)."""

    archive: InputsFileOut
    array: InputsFileOut


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
    inputs: InputsOut | None = None
    """In ``GET /phases/{id}`` for a caller who may download the test inputs; else null."""


class CompetitionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_COMPETITION]})
    id: int
    title: str
    description: str
    evaluation: str = ""
    terms: str = ""
    data: str = ""
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
    evaluation: str | None = Field(default=None, max_length=100_000)
    terms: str | None = Field(default=None, max_length=100_000)
    data: str | None = Field(default=None, max_length=100_000)
    team_mode: Literal["off", "optional", "required"] | None = None
    max_team_size: int | None = Field(default=None, ge=1, le=50)


class TeamIn(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.EXAMPLE_TEAM_IN]}
    )
    name: str = Field(max_length=100)


class JoinIn(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.EXAMPLE_JOIN_IN]}
    )
    accept_terms: bool = False
    """Required (true) when the competition has terms."""


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
