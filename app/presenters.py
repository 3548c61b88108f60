"""Turning models into what the API returns and the pages render.

The one place that decides which scores a viewer may see: private-split scores reach a
participant only after the phase's reveal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import NotFound
from app.models import (
    Competition,
    Phase,
    Split,
    Submission,
    SubmissionScore,
    SubmissionStatus,
    Team,
    User,
)
from app.schemas import CompetitionOut, InputsFileOut, InputsOut, OrganizerPhaseOut, PhaseOut
from app.services import competitions, public_scores, standings, submissions, teams
from app.services.competitions import Quota
from app.services.inputs import ARCHIVE, ARRAY, BuiltFile, InputsFormat, InputsState
from app.services.intervals import INTERVAL_LEVEL, read_intervals
from app.services.stored_scores import NOT_AVAILABLE, read_report, read_scores
from app.services.submission_metadata import stored_metadata
from scoring.groups import SCORE_NAMES


class PhaseAt:
    """A phase as of ``now``, with the viewer's quota: the attributes ``PhaseOut`` (and
    ``OrganizerPhaseOut``) read; the phase's own columns are read through it unchanged."""

    def __init__(self, phase: Phase, now: datetime, quota: Quota | None = None) -> None:
        self._phase, self._now, self.quota = phase, now, quota
        self.testset = phase.testset

    def __getattr__(self, name: str) -> Any:
        return getattr(self._phase, name)

    @property
    def is_open(self) -> bool:
        return self._phase.is_open(self._now)

    @property
    def private_revealed(self) -> bool:
        phase = self._phase
        return phase.public_fraction is not None and phase.private_is_revealed(self._now)

    @property
    def n_items(self) -> int | None:
        return self.testset.n_items if self.testset else None

    @property
    def testset_is_synthetic(self) -> bool | None:
        return self.testset.is_synthetic if self.testset else None

    @property
    def testset_fingerprint(self) -> str | None:
        return self.testset.fingerprint if self.testset else None

    @property
    def input_size(self) -> list[int] | None:
        return list(self._phase.effective_input_size(self.testset)) if self.testset else None

    @property
    def model_input_size(self) -> list[int] | None:
        height, width = self._phase.model_input_height, self._phase.model_input_width
        return None if height is None or width is None else [height, width]


def phase_out(phase: Phase, *, now: datetime, quota: Quota | None = None) -> PhaseOut:
    """A phase as everyone sees it, with the viewer's quota when they have joined."""
    return PhaseOut.model_validate(PhaseAt(phase, now, quota))


def inputs_out(phase_id: int, state: InputsState) -> InputsOut:
    """The test inputs' two downloads of a phase, with the size and sha256 of those built."""

    def described(fmt: InputsFormat, built: BuiltFile | None) -> InputsFileOut:
        return InputsFileOut(
            url=f"/api/v1/phases/{phase_id}/{fmt.url_path}",
            format=fmt.label.lower(),
            ready=built is not None,
            bytes=built.bytes if built else None,
            sha256=built.sha256 if built else None,
        )

    return InputsOut(archive=described(ARCHIVE, state.archive), array=described(ARRAY, state.array))


def organizer_phase_out(phase: Phase, *, now: datetime) -> OrganizerPhaseOut:
    """A phase with the settings only its organizers see (split seed, model limits...)."""
    return OrganizerPhaseOut.model_validate(PhaseAt(phase, now))


def _scores(stored: dict[str, Any]) -> dict[str, float | None] | None:
    report = read_report(stored).report
    return report.scores() if report else None


def _groups(stored: dict[str, Any]) -> dict[str, list[dict[str, Any]]] | None:
    report = read_report(stored).report
    if report is None:
        return None
    return {
        attribute.attribute: [
            {"group": g.group, "size": g.size, "mae": g.mae} for g in attribute.groups
        ]
        for attribute in report.attributes
    }


def submission_dict(
    session: Session,
    submission: Submission,
    phase: Phase,
    *,
    organizer: bool,
    now: datetime,
    participant: str | None = None,
    with_timeline: bool = False,
) -> dict[str, Any]:
    scores = submissions.scores_of(session, submission.id)
    public = scores.get(Split.PUBLIC.value)
    private = scores.get(Split.PRIVATE.value)
    show_private = private is not None and (organizer or phase.private_is_revealed(now))
    body: dict[str, Any] = {
        "id": submission.id,
        "phase_id": submission.phase_id,
        "participant": participant,
        "kind": submission.kind.value,
        "status": submission.status.value,
        "error": submission.error,
        "description": submission.description,
        "filename": submission.filename,
        "created_at": submission.created_at,
        "started_at": submission.started_at,
        "finished_at": submission.finished_at,
        "scores": _scores(public.report) if public else None,
        "groups": _groups(public.report) if public else None,
        "split": (None if public is None else ("public" if private is not None else "full")),
        "private_scores": _scores(private.report) if show_private and private else None,
        "private_groups": _groups(private.report) if show_private and private else None,
        "progress": None,
        "queue_position": None,
        "execution_provider": submission.execution_provider,
        "scorer_version": submission.scorer_version,
        "testset_fingerprint": submission.testset_fingerprint,
        "is_chosen": submission.is_chosen,
        "hidden": submission.is_hidden,
        "hidden_reason": submission.hidden_reason if submission.is_hidden else None,
        "preset": submission.preset,
        "output_scale": submission.output_scale,
        "scores_note": scores_note(public, private if show_private else None),
        "metadata": stored_metadata(submission.meta),
        "team": _team(session, submission.team_id),
    }
    if submission.kind.value == "model" or submission.progress_total:
        body["progress"] = {"done": submission.progress_done, "total": submission.progress_total}
    if submission.status == SubmissionStatus.QUEUED:
        body["queue_position"] = submissions.queue_position(session, submission)
    body |= _intervals(public, private if show_private else None)
    policy = None if organizer else public_scores.policy_of(phase)
    if policy is not None and public is not None:
        body |= _withheld(session, phase, policy, submission)
    if with_timeline:
        body["timeline"] = submissions.timeline_of(session, submission)
        body["rank_move"] = rank_move(session, phase, submission.user_id, now=now)
    return body


def _team(session: Session, team_id: int | None) -> dict[str, Any] | None:
    team = session.get(Team, team_id) if team_id is not None else None
    return None if team is None else {"id": team.id, "name": team.name}


PUBLIC_WITHHELD = "this phase's public leaderboard shows only what its {policy} reveals"


def _intervals(public: SubmissionScore | None, private: SubmissionScore | None) -> dict[str, Any]:
    """The stored 95% intervals of each shown split; unreadable ones are n/a with a reason."""
    read = read_intervals(public.intervals) if public else None
    body: dict[str, Any] = {
        "interval_level": INTERVAL_LEVEL,
        "intervals": read.intervals if read else None,
        "private_intervals": read_intervals(private.intervals).intervals if private else None,
        "intervals_note": read.note if read else None,
    }
    return body


def _withheld(
    session: Session, phase: Phase, policy: public_scores.PublicScorePolicy, submission: Submission
) -> dict[str, Any]:
    """A participant's own public scores as the leaderboard reveals them, nothing finer."""
    revealed = public_scores.revealed(session, phase, policy, {submission.user_id})
    note = NOT_AVAILABLE.format(reason=PUBLIC_WITHHELD.format(policy=phase.public_policy))
    return {
        "scores": revealed.get(submission.id),
        "groups": None,
        "intervals": None,
        "intervals_note": note,
    }


def rank_move(session: Session, phase: Phase, user_id: int, *, now: datetime) -> str | None:
    """Why the participant's position last changed on the board they can see."""
    revealed = phase.public_fraction is not None and phase.private_is_revealed(now)
    split = Split.PRIVATE if revealed else Split.PUBLIC
    return standings.latest_move(session, phase.id, split, user_id)


def scores_note(*stored: SubmissionScore | None) -> str | None:
    """Why a submission's stored scores show as n/a, if any of the given splits is unreadable."""
    for score in stored:
        if score is None:
            continue
        note = read_report(score.report).note or read_scores(_columns(score)).note
        if note:
            return note
    return None


def _columns(score: SubmissionScore) -> dict[str, Any]:
    return {name: getattr(score, name) for name in SCORE_NAMES}


def competition_out(
    session: Session, competition_id: int, viewer: User | None, *, now: datetime
) -> CompetitionOut:
    """A competition with its phases (loaded with their test sets up front) and, for a viewer
    who joined, their quota in each."""
    competition = session.scalar(
        select(Competition)
        .where(Competition.id == competition_id)
        .options(selectinload(Competition.phases).selectinload(Phase.testset))
        # Objects already in the session may lack the phases or test sets this response shows.
        .execution_options(populate_existing=True)
    )
    if competition is None:
        raise NotFound(competitions.COMPETITION_NOT_FOUND.format(id=competition_id))
    joined = viewer is not None and (
        competitions.get_participation(session, competition.id, viewer.id) is not None
    )
    return CompetitionOut(
        id=competition.id,
        title=competition.title,
        description=competition.description,
        evaluation=competition.evaluation,
        terms=competition.terms,
        data=competition.data,
        created_at=competition.created_at,
        joined=joined,
        is_organizer=competitions.is_organizer(session, competition.id, viewer),
        team_mode=competition.team_mode.value,
        max_team_size=competition.max_team_size,
        phases=[
            phase_out(
                phase,
                now=now,
                quota=teams.quota_for(session, competition, phase, viewer.id, now)
                if joined and viewer is not None
                else None,
            )
            for phase in competition.phases
        ],
    )
