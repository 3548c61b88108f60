"""The CLI and a busy server: a submission refused with 503 ``server_busy`` or, past the
caller's own share, 429 ``submissions_in_progress`` (nothing stored either way) is sent again
after the server's Retry-After, and is taken once a place is free."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.admission import Admission
from app.client.session import BUSY, IN_PROGRESS
from app.models import Submission
from tests.app.client.conftest import Cli
from tests.app.client.test_commands import predictions


def _every_place(admission: Admission, user_id: int) -> None:
    admission.in_progress = admission.limit


def _the_callers_share(admission: Admission, user_id: int) -> None:
    admission.by_user[user_id] = admission.per_user


def _free(admission: Admission) -> None:
    admission.in_progress = 0
    admission.by_user = {}


@pytest.mark.parametrize(
    ("take", "note"),
    [(_every_place, BUSY), (_the_callers_share, IN_PROGRESS)],
    ids=["server busy", "caller's share taken"],
)
def test_submit_waits_out_a_busy_server_and_is_taken_once(
    live: Cli, app: Any, tmp_path: Path, take: Callable[[Admission, int], None], note: str
) -> None:
    user = live.world.user("alice")
    path = predictions(live, tmp_path)
    admission = app.state.admission
    take(admission, user.id)
    freed = threading.Timer(1.5, _free, args=(admission,))
    freed.start()
    try:
        result = live(
            "submit", str(path), "--phase", str(live.world.phase_id), token=live.world.token(user)
        )
    finally:
        freed.cancel()
    assert result.exit_code == 0, result.output
    assert note.format(seconds=1) in result.stderr
    with live.world.db.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
