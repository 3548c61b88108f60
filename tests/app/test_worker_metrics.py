"""A worker's metrics port (``fairboard worker --metrics-port``) obeys ``FAIRBOARD_METRICS``
as the API's ``/metrics`` does: off (404), public, or a Bearer token (401 without it); its
``/healthz`` answers anyone, for the container's health check, and shows nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from app.config import Settings
from app.telemetry import METRICS_OFF, METRICS_TOKEN_REQUIRED, NOT_FOUND, serve_worker_metrics
from tests.scaleout.cluster import free_port

TOKEN = "a-metrics-token-long-enough"


def serving(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    folder = tmp_path / "prometheus"  # the pool processes' files only
    folder.mkdir(exist_ok=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    port = free_port()
    server = serve_worker_metrics(port, settings, address="127.0.0.1")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def token_port(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    update = {"metrics": "token", "metrics_token": SecretStr(TOKEN)}
    yield from serving(settings.model_copy(update=update), tmp_path, monkeypatch)


@pytest.fixture
def off_port(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from serving(settings.model_copy(update={"metrics": "off"}), tmp_path, monkeypatch)


def test_without_the_token_the_metrics_are_refused_and_with_it_served(token_port: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        refused = httpx.get(f"{token_port}/metrics", headers=headers)
        assert (refused.status_code, refused.text) == (401, METRICS_TOKEN_REQUIRED)
        assert refused.headers["www-authenticate"] == "Bearer"
    served = httpx.get(f"{token_port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/plain; version=")


def test_metrics_off_refuses_them_and_the_health_check_still_answers(off_port: str) -> None:
    refused = httpx.get(f"{off_port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert (refused.status_code, refused.text) == (404, METRICS_OFF)
    health = httpx.get(f"{off_port}/healthz")
    assert (health.status_code, health.text) == (200, "ok")
    other = httpx.get(f"{off_port}/metrics/../secrets")
    assert (other.status_code, other.text) == (404, NOT_FOUND)


def test_public_metrics_are_served_to_anyone(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = settings.model_copy(update={"metrics": "public"})
    for url in serving(public, tmp_path, monkeypatch):
        assert httpx.get(f"{url}/metrics").status_code == 200
