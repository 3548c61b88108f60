"""Recomputing a phase's rank intervals and position history (issue 13).

:func:`recompute` runs only in the background (``app.jobs.phase_jobs``), after a change of
the leaderboard: a paired bootstrap of every entry's position (``scoring.uncertainty``) on
each split, stored per phase and split with when it was computed, and a ``RankChange`` for
every entry whose position moved, with the change that moved it. Views only read
(``app.services.standings``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.jobs import board_versions
from app.models import (
    Phase,
    PhaseRanking,
    RankChange,
    Split,
    Submission,
    SubmissionScore,
    SubmissionStatus,
    TestSetVersion,
)
from app.services import interval_process, intervals, leaderboard, testsets
from app.services.evaluation import split_truth
from app.services.public_scores import policy_of
from scoring.uncertainty import interval_seed, rank_intervals


def _entry_key(row: leaderboard.LeaderboardRow) -> str:
    return f"baseline:{row.submission_id}" if row.is_baseline else f"user:{row.user_id}"


def recompute(
    session: Session, settings: Settings, phase_id: int, *, cause: str, now: datetime
) -> None:
    """Missing score intervals, then rank intervals and moved positions of every split of a
    phase (background only). Everything is computed before the first write, so the write
    lock (SQLite's is the whole database) is held for the writes alone."""
    phase = session.get(Phase, phase_id)
    if phase is None:
        return
    filled = _missing_score_intervals(session, settings, phase)
    splits = [Split.PUBLIC] if phase.public_fraction is None else [Split.PUBLIC, Split.PRIVATE]
    boards = []
    for split in splits:
        board = leaderboard.build_leaderboard(session, phase, split=split)
        # Under a public-score policy the public positions' intervals would be read from the
        # exact scores the policy withholds, so that board shows none.
        hide = split is Split.PUBLIC and policy_of(phase) is not None
        entries = {} if hide else _rank_intervals(session, settings, phase, split, board)
        boards.append((split, board, entries, _last_moves(session, phase.id, split)))
    for score_id, stored in filled:
        # By row id: a rescore that replaced the row meanwhile is left for its own run.
        session.execute(
            update(SubmissionScore).where(SubmissionScore.id == score_id).values(intervals=stored)
        )
    for split, board, entries, last in boards:
        _store(session, phase.id, split, entries, now)
        _record_moves(session, phase.id, split, board, last, cause, now)
    board_versions.bump(session, phase.id)
    session.flush()


def _missing_score_intervals(
    session: Session, settings: Settings, phase: Phase
) -> list[tuple[int, dict[str, Any]]]:
    """``(score row id, stored intervals)`` for every finished submission's split without."""
    missing = session.execute(
        select(SubmissionScore.id, SubmissionScore.split, Submission.id, Submission.testset_id)
        .join(Submission, Submission.id == SubmissionScore.submission_id)
        .where(
            Submission.phase_id == phase.id,
            Submission.status == SubmissionStatus.FINISHED,
            SubmissionScore.intervals.is_(None),
        )
        .order_by(Submission.id)
    ).all()
    filled: list[tuple[int, dict[str, Any]]] = []
    for score_id, split, submission_id, testset_id in missing:
        testset = session.get(TestSetVersion, testset_id or -1)
        stored: dict[str, Any] = intervals.UNAVAILABLE
        if testset is not None:
            truth = testsets.load_truth(settings, testset)
            predictions = intervals.load_predictions(settings, submission_id, len(truth))
            if predictions is not None:
                items, index = split_truth(settings, phase, testset, truth, split)
                values = predictions if index is None else predictions[index]
                stored = intervals.compute(items, values, submission_id=submission_id)
        filled.append((score_id, stored))
    return filled


def _rank_intervals(
    session: Session,
    settings: Settings,
    phase: Phase,
    split: Split,
    board: leaderboard.Leaderboard,
) -> dict[str, Any]:
    testset = session.get(TestSetVersion, phase.testset_id or -1)
    if testset is None or not board.rows:
        return {}
    fingerprints = dict(
        session.execute(
            select(Submission.id, Submission.testset_fingerprint).where(
                Submission.id.in_([row.submission_id for row in board.rows])
            )
        ).all()
    )
    truth = testsets.load_truth(settings, testset)
    items, index = split_truth(settings, phase, testset, truth, split)
    keys, rows = [], []
    for row in board.rows:
        if row.note is not None or fingerprints.get(row.submission_id) != testset.fingerprint:
            continue  # unreadable, or scored on another test-set version: no interval
        predictions = intervals.load_predictions(settings, row.submission_id, len(truth))
        if predictions is None:
            continue
        keys.append(row.submission_id)
        rows.append(predictions if index is None else predictions[index])
    if not rows:
        return {}
    results = interval_process.call(
        rank_intervals,
        interval_process.Labels.of(items),
        np.stack(rows),
        keys=keys,
        seed=interval_seed(f"phase:{phase.id}:{split.value}", testset.fingerprint),
        ties=phase.tie_policy.value,
    )
    return {
        str(result.key): {
            "rank_interval": list(result.position_interval),
            "tied_with_neighbour": result.tied_with_neighbour,
        }
        for result in results
    }


def _store(
    session: Session, phase_id: int, split: Split, entries: dict[str, Any], now: datetime
) -> None:
    ranking = session.scalar(
        select(PhaseRanking).where(PhaseRanking.phase_id == phase_id, PhaseRanking.split == split)
    )
    if ranking is None:
        session.add(PhaseRanking(phase_id=phase_id, split=split, entries=entries, computed_at=now))
    else:
        ranking.entries = entries
        ranking.computed_at = now


def _last_moves(session: Session, phase_id: int, split: Split) -> dict[str, RankChange]:
    newest = (
        select(func.max(RankChange.id))
        .where(RankChange.phase_id == phase_id, RankChange.split == split)
        .group_by(RankChange.entry)
    )
    return {
        change.entry: change
        for change in session.scalars(select(RankChange).where(RankChange.id.in_(newest)))
    }


def _record_moves(
    session: Session,
    phase_id: int,
    split: Split,
    board: leaderboard.Leaderboard,
    last: dict[str, RankChange],
    cause: str,
    now: datetime,
) -> None:
    for row in board.rows:
        key = _entry_key(row)
        before = last.get(key)
        if before is not None and before.position == row.position:
            continue
        session.add(
            RankChange(
                phase_id=phase_id,
                split=split,
                entry=key,
                user_id=None if row.is_baseline else row.user_id,
                submission_id=row.submission_id,
                position=row.position,
                previous_position=None if before is None else before.position,
                previous_submission_id=None if before is None else before.submission_id,
                cause=cause,
                at=now,
            )
        )
