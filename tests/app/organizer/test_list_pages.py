"""Every long list page shows 50 rows a page, counted and sliced by the database, and finds rows
by a case-insensitive substring in which ``%`` and ``_`` match only themselves.

Each list is seeded with 120 rows named ``row000``...``row117``, ``a_b%c`` and ``axbyc``; the
last two tell a LIKE wildcard from the character itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.models import (
    AuditLogEntry,
    Competition,
    CompetitionOrganizer,
    Participation,
    Rescore,
    Role,
    Submission,
    SubmissionKind,
    User,
)
from app.routes.pages.organizer import LATEST_RESCORES
from app.routes.pages.paging import PER_PAGE
from tests.app.conftest import World
from tests.app.organizer.conftest import log_in
from tests.app.organizer.test_pages import HTML

NAMES = [f"row{i:03d}" for i in range(118)] + ["a_b%c", "axbyc"]
START = utcnow() - timedelta(days=1)


def at(index: int) -> datetime:
    return START + timedelta(seconds=index)


@dataclass(frozen=True)
class Seeded:
    order: list[str]
    """Every row's marker in the order the page lists them."""
    markers: dict[str, str]
    """The marker of each of NAMES."""


def seeded(markers: list[str], *, newest_first: bool, after: tuple[str, ...] = ()) -> Seeded:
    """Rows seeded in the order of NAMES, listed oldest or newest first, then ``after``."""
    order = (markers[::-1] if newest_first else markers) + list(after)
    return Seeded(order, dict(zip(NAMES, markers, strict=True)))


def add_people(session: Session, world: World) -> list[tuple[User, Submission]]:
    """A participant per name, joined in order, each with one submission (description: name)."""
    made = []
    for index, name in enumerate(NAMES):
        user = User(
            username=name, email=f"{index}@example.org", password_hash="x", role=Role.PARTICIPANT
        )
        session.add(user)
        session.flush()
        session.add(
            Participation(competition_id=world.competition_id, user_id=user.id, joined_at=at(index))
        )
        submission = Submission(
            phase_id=world.phase_id,
            user_id=user.id,
            kind=SubmissionKind.PREDICTIONS,
            filename="p.csv",
            description=name,
            created_at=at(index),
        )
        session.add(submission)
        made.append((user, submission))
    session.flush()
    return made


def seed_participants(session: Session, world: World) -> Seeded:
    return seeded([user.username for user, _ in add_people(session, world)], newest_first=False)


def seed_moderation(session: Session, world: World) -> Seeded:
    made = add_people(session, world)
    return seeded([str(submission.id) for _, submission in made], newest_first=True)


def seed_rescore_report(session: Session, world: World) -> Seeded:
    ids = [submission.id for _, submission in add_people(session, world)]
    # Queued re-runs count as changes (pending), so "changed only" lists them all.
    run = Rescore(phase_id=world.phase_id, actor_id=world.organizer.id, submission_ids=ids)
    session.add(run)
    session.flush()
    return seeded([str(i) for i in ids], newest_first=False)


def rows_in_time(session: Session, make: Callable[[str, datetime], Any]) -> Seeded:
    """A row per name, made a second apart, listed newest first; ``make(name, created_at)``."""
    made = [make(name, at(index)) for index, name in enumerate(NAMES)]
    session.add_all(made)
    session.flush()
    return seeded([str(row.id) for row in made], newest_first=True)


def seed_my_submissions(session: Session, world: World) -> Seeded:
    alice = session.scalar(select(User).where(User.username == "alice"))
    assert alice is not None
    return rows_in_time(
        session,
        lambda name, when: Submission(
            phase_id=world.phase_id,
            user_id=alice.id,
            kind=SubmissionKind.PREDICTIONS,
            filename="p.csv",
            description=name,
            created_at=when,
        ),
    )


def seed_competitions(session: Session, world: World) -> Seeded:
    made = [Competition(title=name) for name in NAMES]
    session.add_all(made)
    session.flush()
    session.add_all(
        CompetitionOrganizer(competition_id=c.id, user_id=world.organizer.id) for c in made
    )
    return seeded([str(c.id) for c in made], newest_first=True, after=(str(world.competition_id),))


def seed_audit(session: Session, world: World) -> Seeded:
    return rows_in_time(
        session,
        lambda name, when: AuditLogEntry(
            competition_id=world.competition_id,
            actor_id=world.organizer.id,
            action="phase.update",
            target=f"phase {name}",
            details={},
            created_at=when,
        ),
    )


def seed_rescores(session: Session, world: World) -> Seeded:
    return rows_in_time(
        session,
        lambda name, when: Rescore(
            phase_id=world.phase_id,
            actor_id=world.organizer.id,
            to_fingerprint=f"sha256:{name}",
            created_at=when,
        ),
    )


@dataclass(frozen=True)
class ListPage:
    """A list page: how to fill it, its URL, who looks at it, and how a row is marked."""

    seed: Callable[[Session, World], Seeded]
    """Adds the rows named NAMES."""
    url: Callable[[World], str]
    viewer: str
    row: str
    """Regular expression capturing a row's marker."""

    def shown(self, client: TestClient, world: World, query: str) -> list[str]:
        response = client.get(f"{self.url(world)}?{query}", headers=HTML)
        assert response.status_code == 200, response.text
        return re.findall(self.row, response.text)


LISTS = {
    "moderation": ListPage(
        seed_moderation,
        lambda w: f"/organize/phases/{w.phase_id}/submissions",
        "lecturer",
        r'<tr data-submission="(\d+)"',
    ),
    "participants": ListPage(
        seed_participants,
        lambda w: f"/organize/competitions/{w.competition_id}",
        "lecturer",
        r'<tr data-username="([^"]+)"',
    ),
    "rescore report": ListPage(
        seed_rescore_report,
        lambda w: "/organize/rescores/1",
        "lecturer",
        r'<tr data-submission="(\d+)" data-split="public"',
    ),
    "rescores": ListPage(
        seed_rescores,
        lambda w: f"/organize/phases/{w.phase_id}/rescores",
        "lecturer",
        r'<tr data-rescore="(\d+)"',
    ),
    "audit log": ListPage(
        seed_audit,
        lambda w: f"/organize/competitions/{w.competition_id}/audit",
        "lecturer",
        r'data-entry="(\d+)"',
    ),
    "home": ListPage(
        seed_competitions, lambda w: "/", "alice", r'<li class="card" data-competition="(\d+)"'
    ),
    "organized": ListPage(
        seed_competitions,
        lambda w: "/organize",
        "lecturer",
        r'<li class="card" data-competition="(\d+)"',
    ),
    "my submissions": ListPage(
        seed_my_submissions,
        lambda w: f"/phases/{w.phase_id}/submissions",
        "alice",
        r'<tr data-submission="(\d+)" data-status',
    ),
}


@pytest.fixture(params=list(LISTS), ids=list(LISTS))
def listed(
    request: pytest.FixtureRequest, client: TestClient, world: World
) -> tuple[ListPage, Seeded]:
    """A list page filled with the named rows, and the viewer logged in."""
    case = LISTS[request.param]
    # Not a participant, so the participants list holds only the seeded rows.
    world.user("alice", join=False)
    with world.db.transaction() as session:
        rows = case.seed(session, world)
    log_in(client, case.viewer)
    return case, rows


def by_name(seeded: Seeded, *names: str) -> list[str]:
    """The markers of the named rows, in the page's order."""
    wanted = {seeded.markers[name] for name in names}
    return [marker for marker in seeded.order if marker in wanted]


def test_page_two_holds_rows_51_to_100(
    listed: tuple[ListPage, Seeded], client: TestClient, world: World
) -> None:
    case, rows = listed

    assert case.shown(client, world, "page=2") == rows.order[PER_PAGE : 2 * PER_PAGE]
    assert case.shown(client, world, "") == rows.order[:PER_PAGE]


def test_a_page_past_the_end_shows_the_last_page(
    listed: tuple[ListPage, Seeded], client: TestClient, world: World
) -> None:
    case, rows = listed

    assert case.shown(client, world, "page=99") == rows.order[2 * PER_PAGE :]


def test_search_finds_a_row_ignoring_case_and_nothing_when_nothing_matches(
    listed: tuple[ListPage, Seeded], client: TestClient, world: World
) -> None:
    case, rows = listed

    assert case.shown(client, world, "q=ROW007") == by_name(rows, "row007")
    assert case.shown(client, world, "q=row11") == by_name(
        rows, *(f"row{i}" for i in range(110, 118))
    )
    assert case.shown(client, world, "q=nobody-has-this") == []


@pytest.mark.parametrize("text", ["_", "%", "b%c"])
def test_like_wildcards_in_the_search_match_only_themselves(
    listed: tuple[ListPage, Seeded], client: TestClient, world: World, text: str
) -> None:
    case, rows = listed

    assert case.shown(client, world, f"q={text.replace('%', '%25')}") == by_name(rows, "a_b%c")


def test_the_phase_page_shows_the_latest_re_scorings_and_links_to_all_of_them(
    client: TestClient, world: World
) -> None:
    with world.db.transaction() as session:
        seed_rescores(session, world)
    log_in(client, "lecturer")

    text = client.get(f"/organize/phases/{world.phase_id}", headers=HTML).text
    table = text[text.index('id="rescores"') : text.index("</table>", text.index('id="rescores"'))]

    assert table.count("<tr>") == 1 + LATEST_RESCORES  # the header row, then the latest
    assert f'href="/organize/phases/{world.phase_id}/rescores" id="all-rescores">All 120' in text
