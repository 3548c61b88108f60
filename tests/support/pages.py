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
