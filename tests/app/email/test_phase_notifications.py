"""Phase e-mails (opened, closing soon, closed): opt-in, at most once per person and date, sent
by a tick of the job runners on an injected clock, received by a real SMTP server."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select, update

from app.config import PHASE_CLOSING_NOTICE_INVALID, Settings
from app.db import Database, utcnow
from app.mailer import Mail, read_outbox
from app.main import create_app
from app.models import Phase, PhaseEvent, PhaseNotice, User
from app.phase_notifications import (
    LATE_LIMIT,
    PHASE_CLOSED,
    PHASE_CLOSED_BODY,
    PHASE_CLOSES_AT,
    PHASE_CLOSING_SOON,
    PHASE_CLOSING_SOON_BODY,
    PHASE_NEVER_CLOSES,
    PHASE_OPENED,
    PHASE_OPENED_BODY,
    DueNotice,
    due_notices,
    send_phase_notices,
    written_out,
)
from app.services import moderation
from tests.app.conftest import World
from tests.app.email.conftest import Inbox, body_of
from tests.app.test_pages import csrf_of, log_in

TITLE = "Age estimation"
OPENS = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
CLOSES = datetime(2030, 3, 18, 17, 0, tzinfo=UTC)
OPENS_WORDS = "Monday 4 March 2030 at 09:00 UTC"
CLOSES_WORDS = "Monday 18 March 2030 at 17:00 UTC"
LEAD = timedelta(hours=24)


@pytest.fixture
def phase_world(world: World) -> World:
    """The world's phase "Task 1" opening and closing on fixed dates, long after everyone joined."""
    world.update_phase(opens_at=OPENS, closes_at=CLOSES)
    return world


@pytest.fixture
def alice_in(phase_world: World) -> World:
    """``phase_world`` with alice joined and opted in to phase e-mails."""
    opt_in_to_phases(phase_world, phase_world.user("alice"))
    return phase_world


def opt_in_to_phases(world: World, *users: User) -> None:
    with world.db.transaction() as session:
        session.execute(
            update(User).where(User.id.in_([u.id for u in users])).values(notify_phases=True)
        )


def tick(world: World, settings: Settings, at: datetime) -> int:
    return send_phase_notices(world.db, settings, now=at)


def mailed_once(world: World, settings: Settings, inbox: Inbox, at: datetime) -> EmailMessage:
    """The one message a tick at ``at`` sends, to alice."""
    assert tick(world, settings, at) == 1
    [message] = inbox.messages
    assert message["To"] == "alice@example.org"
    return message


def received(inbox: Inbox) -> list[tuple[str, str]]:
    return [(str(m["To"]), str(m["Subject"])) for m in inbox.messages]


def test_times_are_written_out_in_utc() -> None:
    assert written_out(OPENS) == OPENS_WORDS
    assert written_out(datetime(2030, 3, 4, 10, 30, tzinfo=UTC)) == (
        "Monday 4 March 2030 at 10:30 UTC"
    )


H = timedelta(hours=1)
RULE = [
    # (hours after OPENS the tick runs, the phase's closing (hours after OPENS), due events)
    (-1, 24 * 14, []),
    (0, 24 * 14, [PhaseEvent.OPENED]),
    (23.9, 24 * 14, [PhaseEvent.OPENED]),
    (24, 24 * 14, []),  # an opening a day late is no longer news
    (24 * 13 - 0.1, 24 * 14, []),
    (24 * 13, 24 * 14, [PhaseEvent.CLOSING_SOON]),
    (24 * 14 - 0.1, 24 * 14, [PhaseEvent.CLOSING_SOON]),  # late, but still true
    (24 * 14, 24 * 14, [PhaseEvent.CLOSED]),
    (24 * 15 - 0.1, 24 * 14, [PhaseEvent.CLOSED]),
    (24 * 15, 24 * 14, []),
    (1, 6, [PhaseEvent.OPENED]),  # open for less than the lead: no closing-soon mail
    (6, 6, [PhaseEvent.CLOSED]),
    (0, None, [PhaseEvent.OPENED]),
    (24 * 400, None, []),
]


@pytest.mark.parametrize(("hours", "closes_after", "events"), RULE)
def test_the_rule_says_which_mails_are_due(
    hours: float, closes_after: float | None, events: list[PhaseEvent]
) -> None:
    closes = None if closes_after is None else OPENS + closes_after * H
    phase = Phase(opens_at=OPENS, closes_at=closes, created_at=OPENS - 30 * 24 * H)

    due = due_notices(phase, now=OPENS + hours * H, lead=LEAD)

    assert [notice.event for notice in due] == events


def test_a_phase_without_an_opening_date_opens_at_its_creation() -> None:
    phase = Phase(opens_at=None, closes_at=None, created_at=OPENS)

    assert due_notices(phase, now=OPENS + H, lead=LEAD) == [DueNotice(PhaseEvent.OPENED, OPENS)]


def test_only_opted_in_participants_in_good_standing_hear_that_a_phase_opened(
    phase_world: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    world = phase_world
    alice = world.user("alice")
    world.user("bob")  # joined, not opted in
    carol = world.user("carol")
    dave = world.user("dave", join=False)
    eve = world.user("eve")
    opt_in_to_phases(world, alice, carol, dave, eve)
    with world.db.transaction() as session:
        session.execute(update(User).where(User.id == eve.id).values(is_active=False))
        moderation.disqualify(
            session, world.competition_id, world.organizer, "carol", reason="cheated", now=OPENS
        )

    assert tick(world, smtp_settings, OPENS - timedelta(minutes=1)) == 0
    assert tick(world, smtp_settings, OPENS + timedelta(minutes=1)) == 1
    assert tick(world, smtp_settings, OPENS + timedelta(minutes=2)) == 0

    [message] = inbox.messages
    assert message["To"] == "alice@example.org"
    assert message["Subject"] == PHASE_OPENED.format(competition=TITLE, phase="Task 1")
    expected = (
        PHASE_OPENED_BODY.format(competition=TITLE, phase="Task 1", opened=OPENS_WORDS)
        + " "
        + PHASE_CLOSES_AT.format(closes=CLOSES_WORDS)
    )
    assert expected == (
        "Task 1 of Age estimation opened on Monday 4 March 2030 at 09:00 UTC; you can submit "
        "to it now. It closes on Monday 18 March 2030 at 17:00 UTC."
    )
    body = body_of(message)
    assert expected in body
    assert f"{smtp_settings.base_url}/competitions/{world.competition_id}\r\n" in body


def test_each_participant_gets_one_mail_per_event_over_the_whole_phase(
    phase_world: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    world = phase_world
    alice, bob = world.user("alice"), world.user("bob")
    opt_in_to_phases(world, alice, bob)
    moment = OPENS - timedelta(hours=1)
    while moment < CLOSES + timedelta(days=3):
        tick(world, smtp_settings, moment)
        moment += timedelta(minutes=30)

    subjects = [
        PHASE_OPENED.format(competition=TITLE, phase="Task 1"),
        PHASE_CLOSING_SOON.format(competition=TITLE, phase="Task 1", closes=CLOSES_WORDS),
        PHASE_CLOSED.format(competition=TITLE, phase="Task 1"),
    ]
    assert received(inbox) == [
        (f"{name}@example.org", subject) for subject in subjects for name in ("alice", "bob")
    ]


def test_the_closing_soon_mail_comes_the_configured_lead_before_the_close(
    alice_in: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    world = alice_in
    settings = smtp_settings.model_copy(update={"phase_closing_notice_hours": 48})

    assert tick(world, settings, CLOSES - timedelta(hours=48, minutes=1)) == 0
    message = mailed_once(world, settings, inbox, CLOSES - timedelta(hours=47))

    assert message["Subject"] == PHASE_CLOSING_SOON.format(
        competition=TITLE, phase="Task 1", closes=CLOSES_WORDS
    )


WORDING = {
    "closing soon": (
        CLOSES - timedelta(hours=1),
        PHASE_CLOSING_SOON.format(competition=TITLE, phase="Task 1", closes=CLOSES_WORDS),
        "Age estimation: Task 1 closes on Monday 18 March 2030 at 17:00 UTC",
        PHASE_CLOSING_SOON_BODY.format(competition=TITLE, phase="Task 1", closes=CLOSES_WORDS),
        "Task 1 of Age estimation closes on Monday 18 March 2030 at 17:00 UTC. Submissions made "
        "after that are refused.",
    ),
    "closed": (
        CLOSES + timedelta(minutes=1),
        PHASE_CLOSED.format(competition=TITLE, phase="Task 1"),
        "Age estimation: Task 1 has closed",
        PHASE_CLOSED_BODY.format(competition=TITLE, phase="Task 1", closes=CLOSES_WORDS),
        "Task 1 of Age estimation closed on Monday 18 March 2030 at 17:00 UTC; it takes no more "
        "submissions.",
    ),
}


@pytest.mark.parametrize("event", WORDING)
def test_closing_mails_say_the_competition_the_phase_and_the_time_in_words(
    event: str, alice_in: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    at, subject, subject_words, body, body_words = WORDING[event]

    message = mailed_once(alice_in, smtp_settings, inbox, at)

    assert (subject, body) == (subject_words, body_words)
    assert message["Subject"] == subject
    assert body in body_of(message)


def test_a_restart_sends_nothing_again(
    alice_in: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    world = alice_in
    at = OPENS + timedelta(minutes=5)
    assert tick(world, smtp_settings, at) == 1

    restarted = Database(smtp_settings.database_url)
    try:
        assert send_phase_notices(restarted, smtp_settings, now=at) == 0
    finally:
        restarted.dispose()

    assert len(inbox.messages) == 1


def test_missed_dates_are_announced_late_only_while_the_news_still_matters(
    alice_in: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    world = alice_in
    opened = PHASE_OPENED.format(competition=TITLE, phase="Task 1")
    closing = PHASE_CLOSING_SOON.format(competition=TITLE, phase="Task 1", closes=CLOSES_WORDS)

    # Down from before the opening until three weeks later: no "opened" mail three weeks late.
    assert tick(world, smtp_settings, OPENS + timedelta(days=3)) == 0
    # Down through most of the lead: a reminder an hour before the close is still true.
    assert tick(world, smtp_settings, CLOSES - timedelta(hours=1)) == 1
    # Down through the close and past the late limit: no "closed" mail.
    assert tick(world, smtp_settings, CLOSES + LATE_LIMIT + timedelta(minutes=1)) == 0

    assert received(inbox) == [("alice@example.org", closing)]
    world.update_phase(opens_at=OPENS + timedelta(days=10))
    assert tick(world, smtp_settings, OPENS + timedelta(days=10, hours=23)) == 1
    assert received(inbox)[-1] == ("alice@example.org", opened)


def test_a_moved_closing_date_is_announced_again_and_an_announced_one_never(
    alice_in: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    world = alice_in
    assert tick(world, smtp_settings, CLOSES - timedelta(hours=2)) == 1

    later = CLOSES + timedelta(days=3)
    world.update_phase(closes_at=later)
    assert tick(world, smtp_settings, CLOSES - timedelta(hours=1)) == 0
    assert tick(world, smtp_settings, later - timedelta(hours=1)) == 1
    world.update_phase(closes_at=CLOSES)  # moved back to the date already announced
    assert tick(world, smtp_settings, CLOSES - timedelta(minutes=30)) == 0

    assert [s for _, s in received(inbox)] == [
        PHASE_CLOSING_SOON.format(competition=TITLE, phase="Task 1", closes=CLOSES_WORDS),
        PHASE_CLOSING_SOON.format(
            competition=TITLE, phase="Task 1", closes="Thursday 21 March 2030 at 17:00 UTC"
        ),
    ]


def test_a_phase_without_an_opening_date_opens_when_created_for_those_already_in(
    world: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    world.update_phase(opens_at=OPENS, closes_at=CLOSES)  # Task 1 stays out of the way
    alice = world.user("alice")
    phase_id = world.add_phase(name="Task 2", opens_at=None, closes_at=None)
    late_joiner = world.user("bob")
    opt_in_to_phases(world, alice, late_joiner)
    with world.db.sessionmaker() as session:
        phase = session.get(Phase, phase_id)
        assert phase is not None
        created = phase.created_at

    message = mailed_once(world, smtp_settings, inbox, created + timedelta(minutes=1))

    assert message["Subject"] == PHASE_OPENED.format(competition=TITLE, phase="Task 2")
    assert PHASE_NEVER_CLOSES in body_of(message)


def test_a_phase_shorter_than_the_lead_gets_no_closing_soon_mail(
    alice_in: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    world = alice_in
    world.update_phase(closes_at=OPENS + timedelta(hours=6))

    tick(world, smtp_settings, OPENS + timedelta(minutes=1))
    tick(world, smtp_settings, OPENS + timedelta(hours=5))

    [message] = inbox.messages
    assert message["Subject"] == PHASE_OPENED.format(competition=TITLE, phase="Task 1")
    assert "It closes on Monday 4 March 2030 at 15:00 UTC." in body_of(message)


def test_a_phase_whose_mail_cannot_be_written_holds_back_no_other(
    alice_in: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    alice_in.add_phase(name="Task 2", opens_at=OPENS, closes_at=CLOSES)
    # Stored by hand: no form takes a line break in a name, and a mail header cannot hold one.
    alice_in.update_phase(name="Task\n1")  # the first phase a tick looks at

    assert tick(alice_in, smtp_settings, OPENS + timedelta(minutes=1)) == 1
    assert tick(alice_in, smtp_settings, OPENS + timedelta(minutes=2)) == 0

    assert received(inbox) == [
        ("alice@example.org", PHASE_OPENED.format(competition=TITLE, phase="Task 2"))
    ]


def test_two_ticks_at_once_send_each_mail_once(
    phase_world: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    world = phase_world
    world.add_phase(name="Task 2", opens_at=OPENS, closes_at=CLOSES)
    people = [world.user(f"user{i}") for i in range(6)]
    opt_in_to_phases(world, *people)
    replicas = [Database(smtp_settings.database_url) for _ in range(2)]
    start = threading.Barrier(len(replicas))
    sent: list[int] = []

    def replica_tick(db: Database) -> None:
        start.wait()
        sent.append(send_phase_notices(db, smtp_settings, now=OPENS + timedelta(minutes=1)))

    threads = [threading.Thread(target=replica_tick, args=(db,)) for db in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for db in replicas:
        db.dispose()

    assert sum(sent) == 12
    assert Counter(received(inbox)) == Counter(
        (f"user{i}@example.org", PHASE_OPENED.format(competition=TITLE, phase=phase))
        for i in range(6)
        for phase in ("Task 1", "Task 2")
    )
    assert max(Counter(received(inbox)).values()) == 1
    with world.db.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(PhaseNotice)) == 12


def wait_for(done: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    """Wait for a runner's thread to do something (real threads, not a clock)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_embedded_runner_ticks_and_writes_to_the_outbox(
    world: World, settings: Settings
) -> None:
    closes = utcnow() + timedelta(hours=2)
    world.update_phase(closes_at=closes)
    opt_in_to_phases(world, world.user("alice"))

    with TestClient(create_app(settings)):
        wait_for(lambda: read_outbox(settings), "the closing-soon mail in the outbox")

    [mail] = read_outbox(settings)
    assert mail.to == "alice@example.org"
    assert mail.subject == PHASE_CLOSING_SOON.format(
        competition=TITLE, phase="Task 1", closes=written_out(closes)
    )


def test_a_celery_workers_sweeper_ticks(
    world: World, smtp_settings: Settings, inbox: Inbox
) -> None:
    from app.jobs.worker import Sweeper

    closes = utcnow() + timedelta(hours=2)
    world.update_phase(closes_at=closes)
    opt_in_to_phases(world, world.user("alice"))
    sweeper = Sweeper(smtp_settings.model_copy(update={"broker_url": "memory://"}))

    sweeper.start()
    try:
        wait_for(lambda: inbox.messages, "the closing-soon mail at the SMTP server")
    finally:
        sweeper.stop()

    subject = PHASE_CLOSING_SOON.format(
        competition=TITLE, phase="Task 1", closes=written_out(closes)
    )
    assert received(inbox) == [("alice@example.org", subject)]


@pytest.mark.parametrize("hours", [0, 721])
def test_the_closing_notice_lead_is_between_an_hour_and_thirty_days(hours: int) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(phase_closing_notice_hours=hours)
    assert PHASE_CLOSING_NOTICE_INVALID.format(value=hours) in str(caught.value)


def test_the_closing_notice_lead_defaults_to_a_day() -> None:
    assert Settings().phase_closing_notice_hours == 24


def test_a_subject_of_seventy_odd_characters_is_read_back_as_written(settings: Settings) -> None:
    subject = "Age estimation: Task 1 closes on Wednesday 2 December 2026 at 22:26 UTC"
    raw = bytes(Mail("alice@example.org", subject, "body").message(settings))

    assert BytesParser(policy=policy.default).parsebytes(raw)["Subject"] == subject


def test_participants_opt_in_to_phase_mails_on_their_email_page(
    world: World, site: TestClient
) -> None:
    alice = world.user("alice")
    log_in(site, "alice")
    form = site.get("/account/email")
    assert "opens, closes within 24 hours, or has closed" in form.text
    assert 'name="phases" value="1" checked' not in form.text

    saved = site.post("/account/notifications", data={"csrf_token": csrf_of(form), "phases": "1"})

    assert saved.status_code == 303
    assert 'name="phases" value="1" checked' in site.get("/account/email").text
    with world.db.sessionmaker() as session:
        stored = session.get(User, alice.id)
        assert stored is not None and stored.notify_phases
        assert not stored.notify_results and not stored.notify_reveals
