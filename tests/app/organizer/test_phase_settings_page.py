"""The phase settings page: settings first, in named groups, every setting explained in a line
tied to its field (aria-describedby), choices said in words rather than raw values."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.setting_words import TIE_POLICY
from tests.app.conftest import World
from tests.app.organizer.conftest import log_in
from tests.app.organizer.test_pages import HTML
from tests.app.test_pages import Element, page

GROUPS = ["about", "schedule", "submissions", "ranking", "visibility", "models"]


@pytest.fixture
def settings_page(client: TestClient, world: World) -> tuple[str, Element]:
    log_in(client, "lecturer")
    response = client.get(f"/organize/phases/{world.phase_id}", headers=HTML)
    assert response.status_code == 200, response.text
    return response.text, page(response)


def test_the_settings_come_in_named_groups_before_re_scoring_and_kits(
    settings_page: tuple[str, Element],
) -> None:
    text, tree = settings_page
    form = tree.find("form", id="phase-settings")
    groups = [fieldset.attrs["data-group"] for fieldset in form.find_all("fieldset")]

    assert groups == GROUPS
    assert text.index('id="phase-settings"') < text.index('id="rescore-form"')
    assert text.index('id="phase-settings"') < text.index('id="kits-title"')


def test_every_setting_is_explained_by_a_line_tied_to_its_field(
    settings_page: tuple[str, Element],
) -> None:
    _, tree = settings_page
    form = tree.find("form", id="phase-settings")
    helps = {
        element.attrs["id"]: element.text.strip()
        for element in form.find_all("small")
        if "id" in element.attrs
    }
    fields = [
        field
        for tag in ("input", "select", "textarea")
        for field in form.find_all(tag)
        if field.attrs.get("type") != "hidden"
    ]

    assert len(fields) >= 20
    for field in fields:
        described = field.attrs.get("aria-describedby", "")
        assert helps.get(described), f"{field.attrs.get('name')} has no line of help"


def test_ties_are_offered_in_words_not_as_codes(settings_page: tuple[str, Element]) -> None:
    _, tree = settings_page
    select = tree.find("select", name="tie_policy")
    offered = [re.sub(r"\s+", " ", option.text).strip() for option in select.find_all("option")]

    assert offered == list(TIE_POLICY.values())
