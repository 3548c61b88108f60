"""Pydantic request and response models of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorOut(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class RegisterIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    email: str = Field(max_length=254)


class TokenIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    name: str = Field(default="api", max_length=100)


class TokenOut(BaseModel):
    token: str
    id: int
    name: str


class TokenInfoOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    role: str
    created_at: datetime


class QuotaOut(BaseModel):
    daily_limit: int | None
    used_today: int
    remaining_today: int | None
    total_limit: int | None
    used_total: int
    remaining_total: int | None
    resets_at: datetime


class PhaseOut(BaseModel):
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
    input_size: list[int] | None
    quota: QuotaOut | None = None


class CompetitionOut(BaseModel):
    id: int
    title: str
    description: str
    created_at: datetime
    joined: bool = False
    is_organizer: bool = False
    phases: list[PhaseOut] = []


class GroupOut(BaseModel):
    group: str
    size: int
    mae: float | None


class SubmissionOut(BaseModel):
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
    progress: dict[str, int] | None = None
    queue_position: int | None = None
    execution_provider: str | None = None
    scorer_version: str | None
    testset_fingerprint: str | None
    is_chosen: bool
    preset: str
    output_scale: float


class LeaderboardRowOut(BaseModel):
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


class LeaderboardOut(BaseModel):
    phase_id: int
    split: str
    tie_policy: str
    entry_selection: str
    columns: list[str]
    rows: list[LeaderboardRowOut]
