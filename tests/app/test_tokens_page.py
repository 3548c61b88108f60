"""The API tokens page lists 50 tokens a page, newest first (a script that logs in at every
run makes a token each time); creating one shows the first page with its secret."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.services import accounts
from tests.app.conftest import PASSWORD, World
from tests.app.test_pages import log_in
from tests.support.pages import csrf_of


def listed(page_text: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-token="(\d+)"', page_text)]


def test_tokens_come_50_a_page_newest_first(site: TestClient, world: World) -> None:
    world.user("alice")
    with world.db.transaction() as session:
        alice = accounts.authenticate(session, username="alice", password=PASSWORD)
        ids = [accounts.create_token(session, alice, name=f"run {i}")[0].id for i in range(120)]
    log_in(site, "alice")
    newest_first = ids[::-1]
    assert listed(site.get("/account/tokens").text) == newest_first[:50]
    last = site.get("/account/tokens", params={"page": 3})
    assert listed(last.text) == newest_first[100:]
    assert 'rel="prev"' in last.text and 'rel="next"' not in last.text
    created = site.post(
        "/account/tokens",
        data={"name": "one more", "csrf_token": csrf_of(site.get("/account/tokens"))},
    )
    assert created.status_code == 201
    assert listed(created.text)[:2] == [newest_first[0] + 1, newest_first[0]]
    assert len(listed(created.text)) == 50
