"""A server process (``fairboard serve``, ``served_app``) tunes its garbage collector (issue 15)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.config import Settings
from app.main import GC_THRESHOLDS, create_app, serving


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector's settings as they were, whatever the test did to them."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_a_server_freezes_its_start_up_heap_and_collects_young_objects_less_often(
    settings: Settings,
) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0

    app = serving(create_app(settings, start_jobs=False))

    assert app.state.serving is True
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == GC_THRESHOLDS
    # At Python's default (700) a submission's request ran 5 or 6 young collections.
    assert GC_THRESHOLDS[0] > 700
