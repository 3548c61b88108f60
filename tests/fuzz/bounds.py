"""How far the fuzz tests search: bounded and derandomized, so CI runs the same cases every time
within a few minutes.

A deeper search on demand: ``FAIRBOARD_FUZZ_EXAMPLES=600`` generates that many cases per
operation (or route) and caller, and ``FAIRBOARD_FUZZ_RANDOM=1`` draws new ones on every run,
e.g. ``FAIRBOARD_FUZZ_EXAMPLES=600 FAIRBOARD_FUZZ_RANDOM=1 pytest -n 2 tests/fuzz``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings


def bounded(max_examples: int) -> settings:
    """``max_examples`` generated cases per operation and caller, the same on every run
    (unless the environment asks for a deeper search)."""
    return settings(
        max_examples=int(os.environ.get("FAIRBOARD_FUZZ_EXAMPLES") or max_examples),
        deadline=None,
        derandomize=os.environ.get("FAIRBOARD_FUZZ_RANDOM") != "1",
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
