"""The competition page's tabs (Overview, Evaluation, Terms, Data) and accepting the terms when
joining (issue 16, item 9)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.models import Participation
from app.services.competitions import TERMS_NOT_ACCEPTED
from tests.app.conftest import World
from tests.app.test_pages import log_in, page
from tests.support.pages import csrf_of

TERMS = "Use the images for **this competition** only."


def _participation(world: World, user_id: int) -> Participation | None:
    with world.db.sessionmaker() as session:
        return session.query(Participation).filter_by(user_id=user_id).one_or_none()


def test_organizer_sets_the_tab_texts_through_the_api(client: TestClient, world: World) -> None:
    headers = world.headers(world.organizer)
    url = f"/api/v1/competitions/{world.competition_id}"
    changes = {"evaluation": "Mean absolute error.", "terms": TERMS, "data": "Synthetic faces."}
    assert client.patch(url, json=changes, headers=headers).status_code == 200
    shown = client.get(f"/api/v1/competitions/{world.competition_id}").json()
    assert {name: shown[name] for name in changes} == changes
    assert shown["description"] == "A *test* competition"


def test_tabs_are_server_side_links_each_showing_its_own_text(
    site: TestClient, world: World
) -> None:
    world.update_competition(evaluation="Scored by *MAE*.", terms=TERMS, data="")
    url = f"/competitions/{world.competition_id}"
    tree = page(site.get(url))
    links = tree.find("nav", **{"class": "tabs"}).find_all("a")
    assert [a.attrs["href"] for a in links] == [
        f"{url}?tab=overview",
        f"{url}?tab=evaluation",
        f"{url}?tab=terms",
    ]
    assert (
        tree.find("article", **{"data-tab-shown": "overview"}).clean_text() == "A test competition"
    )
    evaluation = page(site.get(f"{url}?tab=evaluation"))
    assert (
        evaluation.find("article", **{"data-tab-shown": "evaluation"}).clean_text()
        == "Scored by MAE."
    )
    assert evaluation.find("a", **{"data-tab": "evaluation"}).attrs["aria-current"] == "page"
    # An empty or unknown tab falls back to the overview rather than an empty page.
    for tab in ("data", "nonsense"):
        shown = page(site.get(f"{url}?tab={tab}"))
        assert shown.find("article", **{"data-tab-shown": "overview"})


def test_a_competition_without_tab_texts_shows_no_tabs(site: TestClient, world: World) -> None:
    tree = page(site.get(f"/competitions/{world.competition_id}"))
    assert not tree.find_all("nav", **{"class": "tabs"})


def test_joining_a_competition_with_terms_requires_accepting_them_in_the_api(
    client: TestClient, world: World
) -> None:
    world.update_competition(terms=TERMS)
    newcomer = world.user("newcomer", join=False)
    url = f"/api/v1/competitions/{world.competition_id}/join"
    headers = world.headers(newcomer)
    for body in (None, {"accept_terms": False}):
        refused = client.post(url, json=body, headers=headers)
        assert refused.status_code == 422
        assert refused.json()["message"] == TERMS_NOT_ACCEPTED
    assert _participation(world, newcomer.id) is None
    joined = client.post(url, json={"accept_terms": True}, headers=headers)
    assert joined.status_code == 201
    assert joined.json()["terms_accepted_at"] is not None
    participation = _participation(world, newcomer.id)
    assert participation is not None and participation.terms_accepted_at is not None


def test_joining_without_terms_needs_no_acceptance(client: TestClient, world: World) -> None:
    newcomer = world.user("newcomer", join=False)
    url = f"/api/v1/competitions/{world.competition_id}/join"
    joined = client.post(url, headers=world.headers(newcomer))
    assert joined.status_code == 201
    assert joined.json()["terms_accepted_at"] is None


def test_join_form_asks_to_accept_the_terms(site: TestClient, world: World) -> None:
    world.update_competition(terms=TERMS)
    alice = world.user("alice", join=False)
    log_in(site, "alice")
    overview = site.get(f"/competitions/{world.competition_id}")
    checkbox = page(overview).find("input", id="accept-terms")
    assert "required" in checkbox.attrs
    url = f"/competitions/{world.competition_id}/join"
    refused = site.post(url, data={"csrf_token": csrf_of(overview)})
    assert refused.status_code == 303
    assert "tab=terms" in refused.headers["location"]
    assert TERMS_NOT_ACCEPTED in site.get(refused.headers["location"]).text
    assert _participation(world, alice.id) is None
    accepted = site.post(url, data={"csrf_token": csrf_of(overview), "accept_terms": "yes"})
    assert accepted.status_code == 303
    participation = _participation(world, alice.id)
    assert participation is not None and participation.terms_accepted_at is not None
