"""UTC day arithmetic for quotas."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta


def utc_day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def next_utc_midnight(moment: datetime) -> datetime:
    return utc_day_start(moment) + timedelta(days=1)


def seconds_until(moment: datetime) -> int:
    return math.ceil((moment - datetime.now(UTC)).total_seconds())
