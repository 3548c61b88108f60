"""How far the fuzz tests search: bounded and derandomized, so CI runs the same cases every time
within a few minutes."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings


def bounded(max_examples: int) -> settings:
    """``max_examples`` generated cases per operation and caller, the same on every run."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
