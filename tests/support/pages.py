"""Driving the HTML pages in tests as a browser would: the CSRF token a page's form carries."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: Any) -> str:
    """The CSRF token of the forms on a page: a response, or its HTML."""
    match = CSRF_FIELD.search(page if isinstance(page, str) else page.text)
    assert match is not None, "the page has no form with a CSRF token"
    return unescape(match.group(1))


def sign_up(browser: Any, username: str, password: str) -> Any:
    """Send the sign-up page's form as ``username`` (e-mail ``<username>@example.org``)."""
    form = browser.get("/signup", headers={"accept": "text/html"})
    assert form.status_code == 200
    return browser.post(
        "/signup",
        data={
            "username": username,
            "email": f"{username.lower()}@example.org",
            "password": password,
            "csrf_token": csrf_of(form),
        },
    )
