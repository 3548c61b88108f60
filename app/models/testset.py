"""Hidden test sets, stored as imported by ``scoring.testset.import_testset``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class TestSetVersion(Base):
    """One immutable imported test set; phases point at one version at a time."""

    __tablename__ = "testsets"
    __test__ = False  # not a pytest test class

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(80), index=True)
    layout: Mapped[str] = mapped_column(String(20))
    n_items: Mapped[int]
    image_height: Mapped[int]
    image_width: Mapped[int]
    storage_key: Mapped[str] = mapped_column(String(200))
    """Folder under ``<data_dir>/testsets`` holding labels.csv, images.npy and report.json."""
    report: Mapped[dict[str, Any]]
    is_synthetic: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
