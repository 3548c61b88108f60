"""The phase leaderboard of SPEC §6: one entry per competitor (a participant, or a team), ranked
by average column rank."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Select, and_, bindparam, case, func, select
from sqlalchemy.orm import Session, aliased

from app.errors import Forbidden, InvalidInput
from app.models import (
    EntrySelection,
    Participation,
    Phase,
    Split,
    Submission,
    SubmissionScore,
    SubmissionStatus,
    Team,
    User,
)
from app.services import public_scores, standings, teams
from app.services.stored_scores import NOT_AVAILABLE, ReadReport, read_report, read_scores
from scoring.groups import ATTRIBUTES, ATTRIBUTES_BY_NAME, SCORE_NAMES
from scoring.metrics import AttributeResult, GroupResult, ScoreReport
from scoring.ranking import LEADERBOARD_COLUMNS, RankEntry, rank_entries

PRIVATE_NOT_REVEALED = "the private leaderboard of phase {phase!r} has not been revealed yet"
GROUPS_WITHHELD = NOT_AVAILABLE.format(
    reason="per-group MAEs are withheld by this phase's public-score policy"
)
LEADERBOARD_HIDDEN = "the leaderboard of phase {phase!r} is visible to its organizers only"

COLUMN_ORDER: tuple[str, ...] = tuple(column.name for column in LEADERBOARD_COLUMNS)
"""SPEC §6 order: gender, expression, ethnicity, age (biases), MAE."""

COLUMN_LABELS: dict[str, str] = {
    "gender_bias": "Gender (bias)",
    "expression_bias": "Expression (bias)",
    "ethnicity_bias": "Ethnicity (bias)",
    "age_bias": "Age (bias)",
    "mae": "MAE",
}
"""The SPEC §6 header of each score column, for pages and exports alike."""


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
    note: str | None = None
    """Why the entry's scores are shown as n/a (unreadable stored scores); it is ranked last."""
    team_id: int | None = None
    members: list[str] | None = None
    """A team's members; the participant is then the team's name."""
    member_ids: tuple[int, ...] = ()
    rank_interval: tuple[int, int] | None = None
    """95% interval of the position (best, worst), from the last background computation."""
    tied_with_neighbour: bool = False

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "position": self.position,
            "participant": self.participant,
            "entries": self.entries,
            "last_entry_at": self.last_entry_at.isoformat(),
            "ranking": self.ranking,
            "submission_id": self.submission_id,
            "is_baseline": self.is_baseline,
            "note": self.note,
            "members": self.members,
            "rank_interval": None if self.rank_interval is None else list(self.rank_interval),
            "tied_with_neighbour": self.tied_with_neighbour,
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
    intervals_computed_at: datetime | None = None
    """When the rank intervals shown were computed (None: not yet)."""
    public_policy: str = "none"
    """The public-score policy applied to this board's scores (``none`` on private boards)."""


def check_visible(phase: Phase, split: Split, *, organizer: bool, now: datetime) -> None:
    """Refuse a leaderboard the viewer may not see; organizers see everything."""
    if organizer:
        return
    if not phase.leaderboard_public:
        raise Forbidden(LEADERBOARD_HIDDEN.format(phase=phase.name))
    if split is Split.PRIVATE and not phase.private_is_revealed(now):
        raise Forbidden(PRIVATE_NOT_REVEALED.format(phase=phase.name))


def is_public(phase: Phase, split: Split, *, now: datetime) -> bool:
    """Whether anyone, logged in or not, may see this board (then it is the same for all)."""
    try:
        check_visible(phase, split, organizer=False, now=now)
    except Forbidden:
        return False
    return True


COMPETITOR = case((Submission.team_id.is_not(None), -Submission.team_id), else_=Submission.user_id)
"""Who competes with a submission: its team (negative ids) or, without one, its submitter."""


@dataclass(frozen=True)
class _Entry:
    user_id: int
    team_id: int | None
    label: str
    submission_id: int
    created_at: datetime
    scores: dict[str, float | None]
    is_baseline: bool
    note: str | None


def build_leaderboard(session: Session, phase: Phase, *, split: Split) -> Leaderboard:
    """Select each participant's entry by the phase's rule, then rank the entries.

    ``best`` selects on the public split even for the private board, as participants only
    ever saw public scores. Without a private split the public split is the whole test set.
    An entry whose stored scores are unreadable (``stored_scores``) has five undefined scores,
    so it ranks after every readable entry, with a note saying why.
    The selection runs in the database (a window over each participant's scored
    submissions), so a phase with many submissions per participant returns one row each.
    """
    if phase.public_fraction is None:
        split = Split.PUBLIC
    # The statements are built once (building one costs more than running it) and bound here.
    params = {"phase_id": phase.id, "competition_id": phase.competition_id, "split": split}
    entries = _participant_entries(session, phase, params)
    policy = public_scores.policy_of(phase) if split is Split.PUBLIC else None
    if policy is not None:
        entries = _revealed(session, phase, policy, entries)
    entries += _baseline_entries(session, params)
    activity = _activity(session, params)
    members = teams.member_ids_and_names(
        session, (e.team_id for e in entries if e.team_id is not None)
    )
    stored = standings.stored_rank_intervals(session, phase.id, split)

    by_key = {entry.submission_id: entry for entry in entries}
    ranked = rank_entries(
        [
            RankEntry(key=e.submission_id, scores=e.scores, order=(e.created_at, e.submission_id))
            for e in entries
        ],
        ties=phase.tie_policy.value,
    )
    board_rows = []
    for ranked_entry in ranked:
        entry = by_key[cast(int, ranked_entry.key)]
        count, last = (1, entry.created_at) if entry.is_baseline else activity[_key(entry)]
        interval, tied = stored.entries.get(entry.submission_id, (None, False))
        board_rows.append(
            LeaderboardRow(
                position=ranked_entry.position,
                participant=entry.label,
                user_id=entry.user_id,
                submission_id=entry.submission_id,
                entries=count,
                last_entry_at=last,
                ranking=ranked_entry.ranking,
                scores=entry.scores,
                ranks=dict(ranked_entry.ranks),
                is_baseline=entry.is_baseline,
                note=entry.note,
                team_id=entry.team_id,
                members=[name for _, name in members[entry.team_id]]
                if entry.team_id is not None
                else None,
                member_ids=tuple(i for i, _ in members.get(entry.team_id or 0, [])),
                rank_interval=interval,
                tied_with_neighbour=tied,
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
        intervals_computed_at=stored.computed_at,
        public_policy=phase.public_policy if policy is not None else "none",
    )


def _revealed(
    session: Session, phase: Phase, policy: public_scores.PublicScorePolicy, entries: list[_Entry]
) -> list[_Entry]:
    """Participants' entries with the public scores the policy reveals, not the exact ones."""
    shown = public_scores.revealed(session, phase, policy, {e.user_id for e in entries})
    return [replace(e, scores=shown.get(e.submission_id, e.scores)) for e in entries]


def _disqualified() -> Any:
    """The competition's disqualified participants (a select of user ids)."""
    return select(Participation.user_id).where(
        Participation.competition_id == bindparam("competition_id"),
        Participation.disqualified_at.is_not(None),
    )


def _scored_submissions() -> Select[Any]:
    """The phase's finished, visible submissions with their scores on the split (a select)."""
    shown = aliased(SubmissionScore)
    return (
        select(
            Submission.id,
            Submission.user_id,
            Submission.team_id,
            Submission.created_at,
            Submission.description,
            User.username,
            Team.name.label("team_name"),
            *(getattr(shown, name) for name in SCORE_NAMES),
        )
        .join(User, User.id == Submission.user_id)
        .outerjoin(Team, Team.id == Submission.team_id)
        .join(shown, and_(shown.submission_id == Submission.id, shown.split == bindparam("split")))
        .where(
            Submission.phase_id == bindparam("phase_id"),
            Submission.status == SubmissionStatus.FINISHED,
            Submission.is_hidden.is_(False),
        )
    )


@cache
def _participants_statement(selection: EntrySelection, primary_column: str) -> Select[Any]:
    """Each competitor's entry by the rule and their latest one (the rule's fallback)."""
    public = aliased(SubmissionScore)
    primary = getattr(public, primary_column)
    newest_first = (Submission.created_at.desc(), Submission.id.desc())
    if selection is EntrySelection.BEST:
        rule_order: tuple[Any, ...] = (
            primary.is_(None),
            primary,
            Submission.created_at,
            Submission.id,
        )
    elif selection is EntrySelection.CHOSEN:
        rule_order = (Submission.is_chosen.desc(), *newest_first)
    else:
        rule_order = newest_first
    ranked = (
        _scored_submissions()
        .add_columns(
            primary.label("primary"),
            COMPETITOR.label("competitor"),
            func.row_number().over(partition_by=COMPETITOR, order_by=rule_order).label("by_rule"),
            func.row_number().over(partition_by=COMPETITOR, order_by=newest_first).label("by_age"),
        )
        .outerjoin(
            public, and_(public.submission_id == Submission.id, public.split == Split.PUBLIC)
        )
        .where(Submission.is_baseline.is_(False), Submission.user_id.not_in(_disqualified()))
        .subquery()
    )
    return select(ranked).where((ranked.c.by_rule == 1) | (ranked.c.by_age == 1))


def _participant_entries(session: Session, phase: Phase, params: dict[str, Any]) -> list[_Entry]:
    statement = _participants_statement(phase.entry_selection, phase.primary_column)
    rows = session.execute(statement, params).all()
    chosen: dict[int, Any] = {}
    latest: dict[int, Any] = {}
    for row in rows:
        if row.by_rule == 1:
            chosen[row.competitor] = row
        if row.by_age == 1:
            latest[row.competitor] = row
    entries = []
    for competitor, row in chosen.items():
        if phase.entry_selection is EntrySelection.BEST and row.primary is None:
            row = latest[competitor]  # nothing scored on the primary column: fall back to latest
        entries.append(_entry(row, label=row.team_name or row.username, is_baseline=False))
    return entries


BASELINES = _scored_submissions().where(Submission.is_baseline.is_(True))
ACTIVITY = (
    select(COMPETITOR, func.count(), func.max(Submission.created_at))
    .where(
        Submission.phase_id == bindparam("phase_id"),
        Submission.is_baseline.is_(False),
        Submission.user_id.not_in(_disqualified()),
    )
    .group_by(COMPETITOR)
)


def _baseline_entries(session: Session, params: dict[str, Any]) -> list[_Entry]:
    """Each of the organizers' visible baselines is an entry of its own."""
    rows = session.execute(BASELINES, params).all()
    return [
        _entry(row, label=f"Baseline: {row.description or row.username}", is_baseline=True)
        for row in rows
    ]


def _entry(row: Any, *, label: str, is_baseline: bool) -> _Entry:
    read = read_scores({name: getattr(row, name) for name in SCORE_NAMES})
    return _Entry(
        user_id=row.user_id,
        team_id=None if is_baseline else row.team_id,
        label=label,
        submission_id=row.id,
        created_at=row.created_at,
        scores=read.scores,
        is_baseline=is_baseline,
        note=read.note,
    )


def _activity(session: Session, params: dict[str, Any]) -> dict[int, tuple[int, datetime]]:
    """Entries (every submission, failed ones included) and the newest one, per competitor."""
    rows = session.execute(ACTIVITY, params).all()
    return {competitor: (int(count), _as_utc(last)) for competitor, count, last in rows}


def _key(entry: _Entry) -> int:
    """The entry's competitor, as ``COMPETITOR`` numbers it."""
    return -entry.team_id if entry.team_id is not None else entry.user_id


def _as_utc(value: datetime | str) -> datetime:
    """Aggregates bypass the column type on SQLite, which returns ``max()`` as text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UNKNOWN_GROUP_ATTRIBUTE = (
    "unknown attribute {name!r} for the per-group table; expected one of: {expected}"
)


@dataclass(frozen=True)
class GroupBreakdownRow:
    """One leaderboard entry's MAE and size for each group of an attribute, and its bias."""

    submission_id: int
    groups: tuple[GroupResult, ...]
    bias: float | None
    note: str | None = None
    """Why the entry's groups are shown as n/a (an unreadable stored report)."""


@dataclass(frozen=True)
class GroupBreakdown:
    """SPEC §1 "go deeper": per-group MAEs of every entry of a board for one attribute.

    ``rows`` follow the board's rows; ``groups`` are the attribute's groups in SPEC §3 order,
    and every row's ``groups`` is aligned to them.
    """

    attribute: str
    split: Split
    groups: tuple[str, ...]
    rows: list[GroupBreakdownRow]


def group_attribute(name: str) -> str:
    """The attribute a per-group table is asked for, or the 422 that lists the valid ones."""
    attribute = name.strip().lower()
    if attribute not in ATTRIBUTES_BY_NAME:
        raise InvalidInput(
            UNKNOWN_GROUP_ATTRIBUTE.format(
                name=name, expected=", ".join(a.name for a in ATTRIBUTES)
            )
        )
    return attribute


def group_breakdown(session: Session, board: Leaderboard, *, attribute: str) -> GroupBreakdown:
    """Per-group MAEs of the board's entries on the board's split, from their stored reports.

    Loads the reports in one query, of the board's own split only: the board was built after
    ``check_visible`` allowed that split, so nothing the viewer may not see is read.
    """
    name = group_attribute(attribute)
    groups = ATTRIBUTES_BY_NAME[name].groups
    submission_ids = [row.submission_id for row in board.rows]
    reports: dict[int, dict[str, Any]] = {}
    if submission_ids and board.public_policy == "none":
        reports = {
            submission_id: report
            for submission_id, report in session.execute(
                select(SubmissionScore.submission_id, SubmissionScore.report).where(
                    SubmissionScore.submission_id.in_(submission_ids),
                    SubmissionScore.split == board.split,
                )
            )
        }
    rows = []
    for submission_id in submission_ids:
        read = read_report(reports.get(submission_id))
        if board.public_policy != "none":
            # Per-group MAEs would give away the exact public scores the policy withholds.
            read = ReadReport(None, GROUPS_WITHHELD)
        result = _attribute_result(read.report, name)
        by_group = {group.group: group for group in result.groups} if result else {}
        rows.append(
            GroupBreakdownRow(
                submission_id=submission_id,
                groups=tuple(by_group.get(group, GroupResult(group, 0, None)) for group in groups),
                bias=result.bias if result else None,
                note=read.note,
            )
        )
    return GroupBreakdown(attribute=name, split=board.split, groups=groups, rows=rows)


def _attribute_result(report: ScoreReport | None, attribute: str) -> AttributeResult | None:
    if report is None:
        return None
    return next((a for a in report.attributes if a.attribute == attribute), None)
