"""The CLI and a busy server: a submission refused with 503 ``server_busy`` (nothing stored)
is sent again after the server's Retry-After, and is taken once a place is free."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.client.session import BUSY
from app.models import Submission
from tests.app.client.conftest import Cli
from tests.app.client.test_commands import participant, predictions


def test_submit_waits_out_a_busy_server_and_is_taken_once(
    live: Cli, app: Any, tmp_path: Path
) -> None:
    token = participant(live)
    path = predictions(live, tmp_path)
    admission = app.state.admission
    admission.in_progress = admission.limit  # every place taken
    freed = threading.Timer(1.5, lambda: setattr(admission, "in_progress", 0))
    freed.start()
    try:
        result = live("submit", str(path), "--phase", str(live.world.phase_id), token=token)
    finally:
        freed.cancel()
    assert result.exit_code == 0, result.output
    assert BUSY.format(seconds=1) in result.stderr
    with live.world.db.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
