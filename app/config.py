"""Settings, read from the environment with the prefix ``FAIRBOARD_``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me"


class Settings(BaseSettings):
    """Everything the service and its workers can be configured with."""

    model_config = SettingsConfigDict(env_prefix="FAIRBOARD_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./var/fairboard.db"
    data_dir: Path = Path("./var/data")
    secret_key: str = DEVELOPMENT_SECRET
    broker_url: str | None = None
    """Celery broker (Redis). When unset, jobs run in-process (the embedded default)."""

    base_url: str = "http://127.0.0.1:8000"
    session_max_age_seconds: int = 14 * 24 * 3600
    inline_scoring_max_bytes: int = Field(default=4 * 1024 * 1024, ge=0)
    """Prediction files up to this size are scored within the upload request."""
    max_prediction_file_bytes: int = 20 * 1024 * 1024
    max_model_file_bytes: int = 512 * 1024 * 1024
    max_testset_upload_bytes: int = 8 * 1024 * 1024 * 1024
    max_kit_file_bytes: int = 200 * 1024 * 1024
    model_workers: int = Field(default=1, ge=1)
    """How many model submissions run at once in the embedded job runner."""
    scoring_workers: int = Field(default=2, ge=1)
    inference_batch_size: int = Field(default=32, ge=1)
    inference_threads: int | None = None
    stuck_job_grace_seconds: int = 300
    """No longer read: leases (``job_lease_seconds``) decide when a job is taken back."""
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


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
