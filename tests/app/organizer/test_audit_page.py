"""The audit log page shows a page of entries at a time, newest first, with links between."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.db import utcnow
from app.models import Competition, User
from app.routes.pages.paging import PER_PAGE
from app.services import audit
from tests.app.conftest import World
from tests.app.organizer.conftest import log_in
from tests.app.organizer.test_pages import HTML


def test_the_audit_log_pages_from_newest_to_oldest(client: TestClient, world: World) -> None:
    with world.db.transaction() as session:
        actor = session.get(User, world.organizer.id)
        competition = session.get(Competition, world.competition_id)
        assert actor is not None and competition is not None
        for index in range(PER_PAGE + 5):
            audit.record(
                session,
                actor,
                "phase.update",
                competition_id=competition.id,
                target=f"phase {index}",
                now=utcnow(),
            )
    log_in(client, "lecturer")
    url = f"/organize/competitions/{world.competition_id}/audit"

    first = client.get(url, headers=HTML).text
    second = client.get(f"{url}?page=2", headers=HTML).text

    assert first.count("<tr data-action=") == PER_PAGE
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "changed the settings of phase 54" in first
    assert "changed the settings of phase 0" in second
    assert client.get(f"{url}?page=0", headers=HTML).status_code == 422
