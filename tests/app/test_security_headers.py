"""HTTP hardening: security headers on every response, no reflected Host, accepted hosts in
production, stored uploads downloaded as inert attachments, offline API docs, and /metrics
access as configured."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.http_security import CONTENT_SECURITY_POLICY, DOCS_CONTENT_SECURITY_POLICY
from app.main import create_app
from app.telemetry import METRICS_OFF, METRICS_TOKEN_REQUIRED
from tests.app.conftest import World, prediction_csv

HTML_PAGE = b"<html><script>alert(document.cookie)</script></html>"


def expected_headers(csp: str = CONTENT_SECURITY_POLICY) -> dict[str, str]:
    return {
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
    }


def security_headers(response: Any) -> dict[str, str]:
    names = (*expected_headers(), "strict-transport-security")
    return {name: response.headers[name] for name in names if name in response.headers}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/api/v1/competitions",
        "/static/fairboard.css",
        "/nowhere",
        "/api/v1/nowhere",
        "/healthz",
        "/openapi.json",
    ],
)
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"accept": "text/html"})
    assert security_headers(response) == expected_headers()


def test_hsts_is_sent_only_when_the_base_url_is_https(settings: Settings) -> None:
    https = settings.model_copy(update={"base_url": "https://fairboard.example.org"})
    with TestClient(create_app(https, start_jobs=False)) as client:
        response = client.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize("path", ["/", "/login", "/signup", "/competitions/{competition_id}"])
def test_a_forged_host_header_is_not_reflected_into_pages(
    client: TestClient, world: World, path: str
) -> None:
    response = client.get(
        path.format(competition_id=world.competition_id),
        headers={"host": "evil.example", "accept": "text/html"},
    )
    assert response.status_code == 200
    assert "evil.example" not in response.text
    assert 'href="/static/fairboard.css"' in response.text


def configured(settings: Settings, **overrides: Any) -> Settings:
    """The test settings with ``overrides``, validated as at start-up."""
    return Settings(**(settings.model_dump() | overrides))


def production(settings: Settings, **overrides: Any) -> Settings:
    production_values = {
        "environment": "production",
        "base_url": "https://fairboard.example.org",
        "secret_key": "a-long-random-production-secret",
    }
    return configured(settings, **(production_values | overrides))


def test_production_accepts_only_the_base_urls_host_the_listed_ones_and_loopback(
    settings: Settings,
) -> None:
    app = create_app(production(settings, allowed_hosts=["fairboard.internal"]), start_jobs=False)
    with TestClient(app) as client:

        def status(host: str) -> int:
            return client.get("/healthz", headers={"host": host}).status_code

        assert status("evil.example") == 400
        assert status("fairboard.example.org") == 200
        assert status("fairboard.internal") == 200
        assert status("127.0.0.1:8000") == 200


def test_a_stored_prediction_file_downloads_as_an_inert_attachment(
    client: TestClient, world: World
) -> None:
    truth = world.truth()
    headers = world.headers(world.user("alice"))
    uploaded = client.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("page.html", prediction_csv(truth.ids, truth.age), "text/html")},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    response = client.get(f"/api/v1/submissions/{uploaded.json()['id']}/file", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_html_starting_kit_downloads_as_an_inert_attachment(
    client: TestClient, world: World
) -> None:
    kit = client.put(
        f"/api/v1/phases/{world.phase_id}/files/starting_kit",
        files={"file": ("kit.html", HTML_PAGE, "text/html")},
        headers=world.headers(world.organizer),
    )
    assert kit.status_code in (200, 201), kit.text
    response = client.get(f"/api/v1/phases/{world.phase_id}/files/starting_kit")
    assert response.status_code == 200
    assert response.content == HTML_PAGE
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == 'attachment; filename="kit.html"'
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_load_nothing_from_another_host_and_run_no_inline_script(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert security_headers(response) == expected_headers(DOCS_CONTENT_SECURITY_POLICY)
    references = re.findall(r'(?:src|href|spec-url|data-openapi-url)="([^"]+)"', response.text)
    assert references and all(
        ref.startswith("/") and not ref.startswith("//") for ref in references
    )
    assert "://" not in response.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    for reference in references:
        assert client.get(reference).status_code == 200, reference


def metrics_app(settings: Settings, **overrides: Any) -> TestClient:
    return TestClient(create_app(configured(settings, **overrides), start_jobs=False))


def test_metrics_are_public_by_default_outside_production(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 200


def test_metrics_can_be_switched_off(settings: Settings) -> None:
    response = metrics_app(settings, metrics="off").get("/metrics")
    assert (response.status_code, response.text) == (404, METRICS_OFF)


def test_metrics_are_off_by_default_in_production(settings: Settings) -> None:
    with TestClient(create_app(production(settings), start_jobs=False)) as client:
        response = client.get("/metrics", headers={"host": "fairboard.example.org"})
    assert (response.status_code, response.text) == (404, METRICS_OFF)


def test_metrics_behind_a_token_need_that_bearer_token(settings: Settings) -> None:
    client = metrics_app(settings, metrics="token", metrics_token="prometheus-scrape-secret")
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic x"}):
        refused = client.get("/metrics", headers=headers)
        assert (refused.status_code, refused.text) == (401, METRICS_TOKEN_REQUIRED)
        assert refused.headers["www-authenticate"] == "Bearer"
    allowed = client.get("/metrics", headers={"authorization": "Bearer prometheus-scrape-secret"})
    assert allowed.status_code == 200
    assert "fairboard_submissions" in allowed.text
