"""The transition table of a submission's status, on the test database (SQLite by default,
PostgreSQL in the second pass of scripts/test.sh): every allowed and refused transition, and
claimers racing for the same jobs."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.db import utcnow
from app.jobs import board_versions, state
from app.models import LeaderboardVersion, Submission, SubmissionEvent, SubmissionStatus
from app.services import competitions
from app.services import submissions as submission_service
from tests.app.conftest import World, prediction_csv

Q, R, F, X = (
    SubmissionStatus.QUEUED,
    SubmissionStatus.RUNNING,
    SubmissionStatus.FINISHED,
    SubmissionStatus.FAILED,
)
TOKEN = "holder"
GOOD_SCORES = {
    "mae": 5.0,
    "age_bias": 1.0,
    "gender_bias": None,
    "ethnicity_bias": 0.5,
    "expression_bias": 0.25,
}


def new_submission(world: World, username: str = "alice") -> int:
    truth = world.truth()
    values = truth.age + np.random.default_rng(0).normal(0, 2, len(truth))
    upload = submission_service.Upload("p.csv", io.BytesIO(prediction_csv(truth.ids, values)))
    user = world.user(username)
    with world.db.transaction() as session:
        phase = competitions.get_phase(session, world.phase_id)
        return submission_service.create_submission(
            session, world.settings, phase=phase, user=user, upload=upload, now=utcnow()
        ).id


def put_in(world: World, submission_id: int, status: SubmissionStatus) -> None:
    """Force a status for the test's set-up (the one place a test writes it directly)."""
    with world.db.transaction() as session:
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(
                status=status,
                job_token=TOKEN if status is R else None,
                lease_expires_at=utcnow() - timedelta(seconds=1),
            )
        )


def status_of(world: World, submission_id: int) -> SubmissionStatus:
    with world.db.sessionmaker() as session:
        found = session.scalar(select(Submission.status).where(Submission.id == submission_id))
        assert found is not None
        return found


Attempt = Callable[[Session, int], object]

ATTEMPTS: dict[state.Transition, Attempt] = {
    state.Transition.CLAIM: lambda s, i: state.claim(
        s, i, token="new", worker="w", lease_seconds=30
    ),
    state.Transition.FINISH: lambda s, i: state.finish(
        s, i, TOKEN, scores=[GOOD_SCORES], values={}, worker="w"
    ),
    state.Transition.FAIL: lambda s, i: state.fail(s, i, TOKEN, "broken", worker="w"),
    state.Transition.REJECT: lambda s, i: state.reject(
        s, i, "bad file", actor="upload check", now=utcnow()
    ),
    state.Transition.LEASE_LOST: lambda s, i: state.take_back(
        s, i, expect=(), reason="lease expired", actor="sweeper"
    ),
    state.Transition.RERUN: lambda s, i: state.rerun(
        s, i, testset_id=None, actor="lecturer", reason="re-run"
    ),
}
"""How each transition is asked for (GIVE_UP is LEASE_LOST's outcome after MAX_ATTEMPTS)."""

CASES = [(transition, source) for transition in ATTEMPTS for source in SubmissionStatus]


@pytest.mark.parametrize(("transition", "source"), CASES)
def test_each_transition_happens_from_its_sources_and_is_refused_from_every_other_status(
    world: World, transition: state.Transition, source: SubmissionStatus
) -> None:
    submission_id = new_submission(world)
    put_in(world, submission_id, source)
    rule = state.TRANSITIONS[transition]

    with world.db.transaction() as session:
        outcome = ATTEMPTS[transition](session, submission_id)

    if source in rule.sources:
        assert outcome not in (False, None)
        assert status_of(world, submission_id) is rule.target
    else:
        assert outcome in (False, None)
        assert status_of(world, submission_id) is source


def board_stamp(world: World) -> str | None:
    with world.db.sessionmaker() as session:
        return board_versions.current(session, world.phase_id)


def board_version(world: World) -> int:
    with world.db.sessionmaker() as session:
        found = session.scalar(
            select(LeaderboardVersion.version).where(LeaderboardVersion.phase_id == world.phase_id)
        )
        return int(found or 0)


def test_a_batched_write_raises_the_version_once_per_transaction(world: World) -> None:
    """The upload path's several changes announce themselves with one bump per commit."""
    start = board_version(world)
    with world.db.sessionmaker() as session, board_versions.batched(session):
        board_versions.bump(session, world.phase_id)
        board_versions.bump(session, world.phase_id)
        session.commit()
        assert board_version(world) == start + 1
        board_versions.bump(session, world.phase_id)  # a later transaction: raised again
        session.commit()
    assert board_version(world) == start + 2


def test_an_upload_raises_the_board_version_its_entries_count_shows(world: World) -> None:
    before = board_stamp(world)
    new_submission(world)
    assert board_stamp(world) != before


@pytest.mark.parametrize("transition", list(ATTEMPTS))
def test_a_transition_a_board_shows_raises_its_version_on_its_own(
    world: World, transition: state.Transition
) -> None:
    """Queued and running look alike on a board; every other change must reach it."""
    submission_id = new_submission(world)
    source = min(state.TRANSITIONS[transition].sources)
    put_in(world, submission_id, source)
    before = board_stamp(world)

    with world.db.transaction() as session:
        assert ATTEMPTS[transition](session, submission_id) not in (False, None)

    raised = board_stamp(world) != before
    assert raised is (transition not in state.UNSEEN_BY_BOARDS)


def test_the_table_allows_exactly_the_issues_state_machine() -> None:
    allowed = {(a, b) for a in SubmissionStatus for b in SubmissionStatus if state.allowed(a, b)}

    assert allowed == {
        (Q, R),
        (R, F),
        (R, X),
        (Q, X),
        (R, Q),
        (Q, Q),
        (F, Q),
        (X, Q),
    }


def test_every_transition_and_the_upload_are_on_the_timeline(world: World) -> None:
    submission_id = new_submission(world)
    with world.db.transaction() as session:
        assert state.claim(session, submission_id, token="a", worker="w-1", lease_seconds=30)
        state.take_back(
            session, submission_id, expect=(), reason="lease expired on w-1", actor="sweeper"
        )
        assert state.claim(session, submission_id, token="b", worker="w-2", lease_seconds=30)
        assert (
            state.finish(session, submission_id, "b", scores=[GOOD_SCORES], values={}, worker="w-2")
            is F
        )

    with world.db.sessionmaker() as session:
        events = state.timeline(session, submission_id)
    assert [(e.from_status, e.to_status, e.actor, e.reason) for e in events] == [
        (None, Q, "alice", "submitted"),
        (Q, R, "w-1", "started on w-1"),
        (R, Q, "sweeper", "lease expired on w-1"),
        (Q, R, "w-2", "started on w-2"),
        (R, F, "w-2", "scored"),
    ]


@pytest.mark.parametrize(
    ("scores", "problem"),
    [
        ({**GOOD_SCORES, "mae": float("nan")}, "mae is nan"),
        ({**GOOD_SCORES, "mae": None}, "mae is None"),
        ({**GOOD_SCORES, "age_bias": float("inf")}, "age_bias is inf"),
        ({k: v for k, v in GOOD_SCORES.items() if k != "mae"}, "mae is None"),
    ],
)
def test_a_run_without_five_valid_scores_fails_instead_of_finishing(
    world: World, scores: dict[str, float | None], problem: str
) -> None:
    submission_id = new_submission(world)
    put_in(world, submission_id, R)

    with world.db.transaction() as session:
        outcome = state.finish(
            session, submission_id, TOKEN, scores=[GOOD_SCORES, scores], values={}, worker="w"
        )

    assert outcome is X
    with world.db.sessionmaker() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        assert submission.status is X
        assert submission.error == state.INVALID_SCORES.format(problems=problem)


def test_only_the_leases_that_expired_are_taken_back(world: World) -> None:
    live, dead = new_submission(world, "alice"), new_submission(world, "bob")
    with world.db.transaction() as session:
        for submission_id in (live, dead):
            state.claim(
                session, submission_id, token=f"t{submission_id}", worker="w", lease_seconds=30
            )
        session.execute(
            update(Submission)
            .where(Submission.id == dead)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
        assert state.release_expired(session, actor="sweeper") == [dead]
    assert (status_of(world, live), status_of(world, dead)) == (R, Q)


def test_a_renewal_extends_only_the_holders_lease(world: World) -> None:
    submission_id = new_submission(world)
    with world.db.transaction() as session:
        state.claim(session, submission_id, token="mine", worker="w", lease_seconds=1)
        assert state.renew(session, submission_id, "mine", lease_seconds=60, progress=(3, 9))
        assert not state.renew(session, submission_id, "theirs", lease_seconds=60)
    with world.db.sessionmaker() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None and submission.lease_expires_at is not None
        assert submission.lease_expires_at > utcnow() + timedelta(seconds=50)
        assert (submission.progress_done, submission.progress_total) == (3, 9)


def test_concurrent_claimers_each_get_a_different_job_and_every_job_is_claimed_once(
    world: World,
) -> None:
    ids = [new_submission(world, f"user{i}") for i in range(6)]
    claimers = 4
    won: dict[int, list[int]] = {n: [] for n in range(claimers)}
    start = threading.Barrier(claimers)

    def claimer(n: int) -> None:
        start.wait()
        for submission_id in ids:
            for _ in range(50):  # SQLite may refuse a concurrent writer: ask again
                try:
                    with world.db.transaction() as session:
                        if state.claim(
                            session, submission_id, token=f"c{n}", worker=f"c{n}", lease_seconds=30
                        ):
                            won[n].append(submission_id)
                    break
                except OperationalError:
                    time.sleep(0.01)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    claimed = sorted(i for wins in won.values() for i in wins)
    assert claimed == ids
    with world.db.sessionmaker() as session:
        events = session.scalars(
            select(SubmissionEvent).where(SubmissionEvent.to_status == R)
        ).all()
        assert sorted(e.submission_id for e in events) == claimed
        for n, wins in won.items():
            for submission_id in wins:
                assert session.get(Submission, submission_id).job_token == f"c{n}"  # type: ignore[union-attr]
