"""Settings, read from the environment with the prefix ``FAIRBOARD_``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from limits import parse as parse_limit
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

LIMIT_INVALID = (
    "{value!r} is not a rate limit: write it as '<count> per <n> <unit>', e.g. '10 per 15 minutes'"
)
BASE_URL_INVALID = (
    "FAIRBOARD_BASE_URL {value!r} must be an absolute http:// or https:// URL, "
    "e.g. https://fairboard.example.org"
)
BASE_URL_REQUIRED = (
    "FAIRBOARD_BASE_URL must be set in production to the address users reach the site at "
    "(links and assets are built from it, never from the Host header)"
)
WILDCARD_HOST = (
    "FAIRBOARD_ALLOWED_HOSTS must not contain '*' in production: list the host names the site "
    "is reached by"
)
METRICS_TOKEN_MISSING = (
    "FAIRBOARD_METRICS=token needs FAIRBOARD_METRICS_TOKEN, the Bearer token Prometheus sends"
)
METRICS_TOKEN_SHORT = "FAIRBOARD_METRICS_TOKEN must be at least 16 characters in production"
SMTP_URL_INVALID = (
    "FAIRBOARD_SMTP_URL must be smtp://[user:password@]host[:port] or smtps://..., "
    "e.g. smtp://mailer:secret@mail.example.org:587"
)
PHASE_CLOSING_NOTICE_INVALID = (
    "FAIRBOARD_PHASE_CLOSING_NOTICE_HOURS must be a whole number of hours from 1 to 720 "
    "(30 days), e.g. 24; got {value!r}"
)
MEMORY_LIMITS_WITH_BROKER = (
    "FAIRBOARD_RATE_LIMIT_STORAGE_URL is memory:// while FAIRBOARD_BROKER_URL is set: each API "
    "replica would count failed log-ins on its own; point it at Redis (or leave it unset to "
    "use the broker's Redis)"
)


class Settings(BaseSettings):
    """Everything the service and its workers can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="FAIRBOARD_",
        env_file=None,
        extra="ignore",
        # Settings hold secrets (SMTP and database passwords): errors never echo the input.
        hide_input_in_errors=True,
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./var/fairboard.db"
    data_dir: Path = Path("./var/data")
    secret_key: str = DEVELOPMENT_SECRET
    broker_url: str | None = None
    """Celery broker (Redis). When unset, jobs run in-process (the embedded default)."""

    base_url: str = "http://127.0.0.1:8000"
    """The public address: every absolute URL is built from it, never from the Host header.
    Required in production; https here turns on HSTS and secure cookies."""
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Production: Host headers accepted besides the base URL's host (and loopback, for
    health checks from inside the container), e.g. ``["fairboard.example.org"]``."""
    metrics: Literal["off", "public", "token"] | None = None
    """Who may read ``/metrics``; unset means public in development and tests, off in
    production. ``token`` needs ``FAIRBOARD_METRICS_TOKEN`` sent as a Bearer token."""
    metrics_token: SecretStr | None = None
    rate_limit_storage_url: str | None = None
    """Where failed log-ins are counted (a ``limits`` storage URL). Unset: the Redis of
    ``FAIRBOARD_BROKER_URL`` in scale-out mode, so API replicas share the counts, else memory."""
    login_limit_per_account_and_address: str = "10 per 15 minutes"
    login_limit_per_account: str = "50 per 15 minutes"
    login_limit_per_address: str = "100 per 15 minutes"
    """Failed log-ins allowed in a moving window; beyond, 429 until the window moves on."""
    signup_limit_per_address: str = "100 per hour"
    """Accounts created from one client address (room for a classroom behind one address)."""
    session_max_age_seconds: int = 14 * 24 * 3600
    inline_scoring_max_bytes: int = Field(default=4 * 1024 * 1024, ge=0)
    """Prediction files up to this size are scored within the upload request."""
    max_concurrent_submissions: int = Field(default=32, ge=1, le=10_000)
    """Submission uploads one server process takes at once; more are answered 503 with
    ``Retry-After`` (code ``server_busy``) before their body is read, instead of queueing
    until clients time out (a deadline rush)."""
    max_concurrent_submissions_per_user: int = Field(default=4, ge=1, le=10_000)
    """Of those, the most one caller (a participant or their API token) has in progress; more
    are answered 429 with ``Retry-After`` (code ``submissions_in_progress``) before their body
    is read, so that one caller trickling uploads cannot hold every place."""
    max_prediction_file_bytes: int = 20 * 1024 * 1024
    max_model_file_bytes: int = 512 * 1024 * 1024
    max_testset_upload_bytes: int = 8 * 1024 * 1024 * 1024
    max_kit_file_bytes: int = 200 * 1024 * 1024
    model_workers: int = Field(default=1, ge=1)
    """How many model submissions run at once in the embedded job runner."""
    scoring_workers: int = Field(default=2, ge=1)
    inference_batch_size: int = Field(default=32, ge=1)
    inference_threads: int | None = None
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    """Scale-out mode: how often one of the workers sweeps for expired leases and unannounced
    jobs; at most ``job_lease_seconds``."""
    broker_visibility_timeout_seconds: int = Field(default=6 * 3600, ge=60)
    """Redis broker: a wake-up not acknowledged this long is delivered again (a spare wake-up);
    at least ``job_lease_seconds``. Leases, not this, recover jobs of a worker that died."""
    job_lease_seconds: float = Field(default=30.0, gt=0)
    """A running job's lease: renewed while it works, taken back this long after its holder
    stops renewing it (a dead worker), whatever the phase's time limit."""
    job_heartbeat_seconds: float = Field(default=10.0, gt=0)
    """How often a job's holder renews its lease; at most half the lease (checked at start)."""
    log_json: bool = False
    webhook_allow_private: bool = False
    """Let webhooks target loopback and private addresses, and plain http in production (on in
    the demo and the tests; never on a shared server: it lets users probe the internal network)."""
    webhook_retry_base_seconds: float = Field(default=30.0, gt=0)
    """A failed delivery is tried again after base, 2×base, 4×base, ... seconds."""
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    """How often the delivery loop (web process embedded, each Celery worker) looks for due
    deliveries."""
    webhook_delivery_retention_days: int = Field(default=30, ge=1, le=36500)
    """Settled deliveries (the log owners see) older than this are deleted by the delivery loop."""
    smtp_url: SecretStr | None = None
    """Where e-mail goes: ``smtp://user:password@host:587`` (STARTTLS when the server offers
    it) or ``smtps://...:465``. Unset: every e-mail is written to the outbox folder under
    ``data_dir``, readable by administrators at ``/admin/outbox`` (the embedded default)."""
    mail_from: str = "Fairboard <fairboard@localhost>"
    password_reset_minutes: int = Field(default=60, ge=1, le=24 * 60)
    """How long a password-reset link works (it works once)."""
    email_verification_hours: int = Field(default=48, ge=1, le=30 * 24)
    phase_closing_notice_hours: int = 24
    """How long before a phase closes its opted-in participants get the "closes soon" e-mail."""

    @model_validator(mode="after")
    def _absolute_data_dir(self) -> Settings:
        # Child processes (model inference) run in other directories: hand them absolute paths.
        self.data_dir = self.data_dir.resolve()
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError(
                "FAIRBOARD_SECRET_KEY must be set to a random secret in production "
                "(the development placeholder is refused)"
            )
        return self

    @field_validator(
        "login_limit_per_account_and_address",
        "login_limit_per_account",
        "login_limit_per_address",
        "signup_limit_per_address",
    )
    @classmethod
    def _parseable_limit(cls, value: str) -> str:
        try:
            parse_limit(value)
        except ValueError as exc:
            raise ValueError(LIMIT_INVALID.format(value=value)) from exc
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _comma_separated_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [host.strip() for host in value.split(",") if host.strip()]
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                # The URL may hold a password: the message does not repeat it.
                raise ValueError(SMTP_URL_INVALID)
        return value

    @field_validator("phase_closing_notice_hours")
    @classmethod
    def _closing_notice_lead(cls, value: int) -> int:
        if not 1 <= value <= 30 * 24:
            raise ValueError(PHASE_CLOSING_NOTICE_INVALID.format(value=value))
        return value

    @field_validator("base_url")
    @classmethod
    def _absolute_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(BASE_URL_INVALID.format(value=value))
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_inconsistent_settings(self) -> Settings:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def problems(self) -> list[str]:
        """Combinations refused at start: a metrics token mode without a token, and in
        production an unset base URL, a wildcard host, or per-replica log-in counting."""
        found = []
        if self.metrics == "token" and not self.metrics_token:
            found.append(METRICS_TOKEN_MISSING)
        if self.environment != "production":
            return found
        if "base_url" not in self.model_fields_set:
            found.append(BASE_URL_REQUIRED)
        if "*" in self.allowed_hosts:
            found.append(WILDCARD_HOST)
        if self.metrics_token and len(self.metrics_token.get_secret_value()) < 16:
            found.append(METRICS_TOKEN_SHORT)
        if self.broker_url and self.limit_storage_url.startswith("memory://"):
            found.append(MEMORY_LIMITS_WITH_BROKER)
        return found

    @property
    def metrics_access(self) -> Literal["off", "public", "token"]:
        if self.metrics is not None:
            return self.metrics
        return "off" if self.environment == "production" else "public"

    @property
    def limit_storage_url(self) -> str:
        if self.rate_limit_storage_url:
            return self.rate_limit_storage_url
        if self.broker_url and self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        return "memory://"

    @property
    def base_host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def trusted_hosts(self) -> list[str] | None:
        """Host headers accepted; None accepts any (development and tests)."""
        if self.environment != "production" and not self.allowed_hosts:
            return None
        return [self.base_host, *self.allowed_hosts, *LOOPBACK_HOSTS]

    @property
    def uses_https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def testsets_dir(self) -> Path:
        return self.data_dir / "testsets"

    @property
    def submissions_dir(self) -> Path:
        return self.data_dir / "submissions"

    @property
    def kits_dir(self) -> Path:
        return self.data_dir / "kits"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
