"""The phase leaderboard of SPEC §6: one entry per participant, ranked by average column rank."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from app.errors import Forbidden
from app.models import (
    EntrySelection,
    Participation,
    Phase,
    Split,
    Submission,
    SubmissionScore,
    SubmissionStatus,
    User,
)
from scoring.groups import SCORE_NAMES
from scoring.ranking import LEADERBOARD_COLUMNS, RankEntry, rank_entries

PRIVATE_NOT_REVEALED = "the private leaderboard of phase {phase!r} has not been revealed yet"
LEADERBOARD_HIDDEN = "the leaderboard of phase {phase!r} is visible to its organizers only"

COLUMN_ORDER: tuple[str, ...] = tuple(column.name for column in LEADERBOARD_COLUMNS)
"""SPEC §6 order: gender, expression, ethnicity, age (biases), MAE."""


@dataclass(frozen=True)
class LeaderboardRow:
    position: int
    participant: str
    user_id: int
    submission_id: int
    entries: int
    last_entry_at: datetime
    ranking: float
    scores: dict[str, float | None]
    ranks: dict[str, float]
    is_baseline: bool = False

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "position": self.position,
            "participant": self.participant,
            "entries": self.entries,
            "last_entry_at": self.last_entry_at.isoformat(),
            "ranking": self.ranking,
            "submission_id": self.submission_id,
            "is_baseline": self.is_baseline,
        }
        for name in COLUMN_ORDER:
            row[name] = self.scores[name]
            row[f"{name}_rank"] = self.ranks[name]
        return row


@dataclass(frozen=True)
class Leaderboard:
    phase_id: int
    split: Split
    tie_policy: str
    entry_selection: str
    rows: list[LeaderboardRow]
    best: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase_id": self.phase_id,
            "split": self.split.value,
            "tie_policy": self.tie_policy,
            "entry_selection": self.entry_selection,
            "columns": list(COLUMN_ORDER),
            "rows": [row.to_dict() for row in self.rows],
        }


def check_visible(phase: Phase, split: Split, *, organizer: bool, now: datetime) -> None:
    """Refuse a leaderboard the viewer may not see; organizers see everything."""
    if organizer:
        return
    if not phase.leaderboard_public:
        raise Forbidden(LEADERBOARD_HIDDEN.format(phase=phase.name))
    if split is Split.PRIVATE and not phase.private_is_revealed(now):
        raise Forbidden(PRIVATE_NOT_REVEALED.format(phase=phase.name))


@dataclass
class _Candidate:
    submission_id: int
    created_at: datetime
    is_chosen: bool
    scores: dict[str, float | None]
    primary: float | None
    description: str


def build_leaderboard(session: Session, phase: Phase, *, split: Split) -> Leaderboard:
    """Select each participant's entry by the phase's rule, then rank the entries.

    ``best`` selects on the public split even for the private board, as participants only
    ever saw public scores. Without a private split the public split is the whole test set.
    """
    if phase.public_fraction is None:
        split = Split.PUBLIC
    shown = aliased(SubmissionScore)
    public = aliased(SubmissionScore)
    primary_column = getattr(public, phase.primary_column)
    disqualified = select(Participation.user_id).where(
        Participation.competition_id == phase.competition_id,
        Participation.disqualified_at.is_not(None),
    )
    rows = session.execute(
        select(
            Submission.id,
            Submission.user_id,
            Submission.created_at,
            Submission.status,
            Submission.is_chosen,
            Submission.is_hidden,
            Submission.is_baseline,
            Submission.description,
            User.username,
            primary_column,
            *(getattr(shown, name) for name in SCORE_NAMES),
            shown.id.is_not(None),
        )
        .join(User, User.id == Submission.user_id)
        .outerjoin(shown, and_(shown.submission_id == Submission.id, shown.split == split))
        .outerjoin(
            public, and_(public.submission_id == Submission.id, public.split == Split.PUBLIC)
        )
        .where(Submission.phase_id == phase.id, Submission.user_id.not_in(disqualified))
    ).all()

    entries_count: dict[int, int] = defaultdict(int)
    last_entry: dict[int, datetime] = {}
    usernames: dict[int, str] = {}
    candidates: dict[int, list[_Candidate]] = defaultdict(list)
    baselines: list[tuple[int, str, _Candidate]] = []
    for row in rows:
        (
            sid,
            user_id,
            created_at,
            status,
            chosen,
            hidden,
            baseline,
            description,
            username,
            primary,
            *score_values,
            has_score,
        ) = row
        candidate = None
        if status == SubmissionStatus.FINISHED and not hidden and has_score:
            candidate = _Candidate(
                sid,
                created_at,
                chosen,
                dict(zip(SCORE_NAMES, score_values, strict=True)),
                primary,
                description,
            )
        if baseline:
            if candidate is not None:
                baselines.append((user_id, username, candidate))
            continue
        usernames[user_id] = username
        entries_count[user_id] += 1
        if user_id not in last_entry or created_at > last_entry[user_id]:
            last_entry[user_id] = created_at
        if candidate is not None:
            candidates[user_id].append(candidate)

    selected: list[tuple[int, str, _Candidate, bool]] = []
    for user_id, options in candidates.items():
        selected.append(
            (user_id, usernames[user_id], _select(options, phase.entry_selection), False)
        )
    for user_id, username, candidate in baselines:
        label = f"Baseline: {candidate.description or username}"
        selected.append((user_id, label, candidate, True))

    by_key = {item[2].submission_id: item for item in selected}
    ranked = rank_entries(
        [
            RankEntry(key=c.submission_id, scores=c.scores, order=(c.created_at, c.submission_id))
            for _, _, c, _ in selected
        ],
        ties=phase.tie_policy.value,
    )
    board_rows = []
    for entry in ranked:
        user_id, label, candidate, is_baseline = by_key[cast(int, entry.key)]
        board_rows.append(
            LeaderboardRow(
                position=entry.position,
                participant=label,
                user_id=user_id,
                submission_id=candidate.submission_id,
                entries=1 if is_baseline else entries_count[user_id],
                last_entry_at=candidate.created_at if is_baseline else last_entry[user_id],
                ranking=entry.ranking,
                scores=candidate.scores,
                ranks=dict(entry.ranks),
                is_baseline=is_baseline,
            )
        )
    best = {
        name: min((v for r in board_rows if (v := r.scores[name]) is not None), default=None)
        for name in COLUMN_ORDER
    }
    return Leaderboard(
        phase_id=phase.id,
        split=split,
        tie_policy=phase.tie_policy.value,
        entry_selection=phase.entry_selection.value,
        rows=board_rows,
        best=best,
    )


def _select(options: list[_Candidate], rule: EntrySelection) -> _Candidate:
    latest = max(options, key=lambda c: (c.created_at, c.submission_id))
    if rule is EntrySelection.LATEST:
        return latest
    if rule is EntrySelection.CHOSEN:
        return next((c for c in options if c.is_chosen), latest)
    scored = [c for c in options if c.primary is not None]
    if not scored:
        return latest
    return min(scored, key=lambda c: (c.primary, c.created_at, c.submission_id))
