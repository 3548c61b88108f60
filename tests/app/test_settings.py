"""Settings refuse dangerous combinations at start, each with a message saying what to set."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app import config
from app.config import Settings

PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "secret_key": "a-long-random-production-secret",
    "base_url": "https://fairboard.example.org",
}


def refusal(**values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)
    errors = caught.value.errors()
    assert len(errors) == 1
    return str(errors[0]["ctx"]["error"])


def test_a_complete_production_configuration_is_accepted() -> None:
    settings = Settings(**PRODUCTION, allowed_hosts=["fairboard.internal"])
    assert settings.trusted_hosts == [
        "fairboard.example.org",
        "fairboard.internal",
        *config.LOOPBACK_HOSTS,
    ]
    assert settings.metrics_access == "off"


def test_development_accepts_any_host_and_serves_metrics_publicly() -> None:
    settings = Settings()
    assert settings.trusted_hosts is None
    assert settings.metrics_access == "public"


def test_production_needs_the_base_url() -> None:
    values = {key: value for key, value in PRODUCTION.items() if key != "base_url"}
    assert refusal(**values) == config.BASE_URL_REQUIRED


def test_production_refuses_a_wildcard_host() -> None:
    assert refusal(**PRODUCTION, allowed_hosts=["*"]) == config.WILDCARD_HOST


def test_the_allowed_hosts_setting_is_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAIRBOARD_ALLOWED_HOSTS", "a.example.org, b.example.org")
    assert Settings().allowed_hosts == ["a.example.org", "b.example.org"]


def test_metrics_behind_a_token_need_the_token() -> None:
    assert refusal(metrics="token") == config.METRICS_TOKEN_MISSING


def test_production_refuses_a_short_metrics_token() -> None:
    refused = refusal(**PRODUCTION, metrics="token", metrics_token="short")
    assert refused == config.METRICS_TOKEN_SHORT


def test_production_refuses_counting_log_ins_per_replica_in_scale_out_mode() -> None:
    refused = refusal(
        **PRODUCTION, broker_url="redis://redis:6379/0", rate_limit_storage_url="memory://"
    )
    assert refused == config.MEMORY_LIMITS_WITH_BROKER


@pytest.mark.parametrize("name", ["login_limit_per_account", "signup_limit_per_address"])
def test_a_rate_limit_must_be_written_as_the_limits_library_reads_it(name: str) -> None:
    refused = refusal(**{name: "ten a minute"})
    assert refused == config.LIMIT_INVALID.format(value="ten a minute")


def test_the_base_url_must_be_absolute() -> None:
    assert refusal(base_url="fairboard.example.org") == config.BASE_URL_INVALID.format(
        value="fairboard.example.org"
    )
