"""Admission control: past ``max_concurrent_submissions`` uploads in progress, a submission is
answered 503 ``server_busy`` with ``Retry-After`` from its headers, its body unread and
nothing stored; once a place is free the same upload is taken. Other uploads are not counted.
Past ``max_concurrent_submissions_per_user`` of one caller's own, theirs is answered 429
``submissions_in_progress`` the same way, while other callers' uploads are still taken.

Driven over raw sockets against the real app under uvicorn, as the upload pre-checks are: an
upload whose headers are sent and whose body is not stays in progress for as long as needed.
"""

from __future__ import annotations

import html
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.admission import IN_PROGRESS, MAX_RETRY_AFTER, SERVER_BUSY, Admission
from app.config import Settings
from app.errors import ServerBusy, SubmissionsInProgress
from app.main import create_app
from app.models import Submission
from tests.app.conftest import World, prediction_csv
from tests.app.test_upload_precheck import (
    BOUNDARY,
    HUGE,
    _connect,
    _head,
    _status,
    bearer,
    headers_only,
)
from tests.support.live_server import serve

WAIT_SECONDS = 10.0


@pytest.fixture
def busy_app(settings: Settings) -> Any:
    return create_app(settings.model_copy(update={"max_concurrent_submissions": 1}))


@pytest.fixture
def server(busy_app: Any, world: World) -> Iterator[str]:
    with serve(busy_app) as url:
        yield url


@pytest.fixture
def shared_app(settings: Settings) -> Any:
    """Three places in all, one for each caller."""
    limits = {"max_concurrent_submissions": 3, "max_concurrent_submissions_per_user": 1}
    return create_app(settings.model_copy(update=limits))


@pytest.fixture
def shared_server(shared_app: Any, world: World) -> Iterator[str]:
    with serve(shared_app) as url:
        yield url


def _hold(url: str, path: str, headers: dict[str, str]) -> socket.socket:
    """An upload in progress: its headers sent, announcing a body that never comes."""
    connection = _connect(url)
    multipart = {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(HUGE // 1000),
    }
    connection.sendall(_head("POST", path, multipart | headers))
    return connection


def _until(condition: Any) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the server did not get there"
        time.sleep(0.01)


def _submissions(world: World) -> int:
    with world.db.sessionmaker() as session:
        return int(session.scalar(select(func.count()).select_from(Submission)) or 0)


def test_a_submission_past_the_bound_is_answered_503_before_its_body(
    server: str, busy_app: Any, world: World
) -> None:
    headers = bearer(world, world.user("alice"))
    path = f"/api/v1/phases/{world.phase_id}/submissions"
    admission: Admission = busy_app.state.admission
    held = _hold(server, path, headers)
    try:
        _until(lambda: admission.in_progress == 1)
        with _connect(server) as second:
            second.sendall(
                _head(
                    "POST",
                    path,
                    {
                        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                        "Content-Length": str(HUGE),
                    }
                    | headers,
                )
            )
            status, head = _status(second)
        assert status == 503
        assert "retry-after: 1" in head.lower()
        assert admission.in_progress == 1
    finally:
        held.close()
    _until(lambda: admission.in_progress == 0)
    assert _submissions(world) == 0
    truth = world.truth()
    taken = httpx.post(
        server + path,
        files={"file": ("p.csv", prediction_csv(truth.ids, truth.age + 1.0))},
        headers=headers,
        timeout=WAIT_SECONDS,
    )
    assert taken.status_code == 201, taken.text
    assert _submissions(world) == 1


def _submit(url: str, world: World, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    truth = world.truth()
    return httpx.post(
        f"{url}/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("p.csv", prediction_csv(truth.ids, truth.age + 1.0))},
        headers=headers,
        timeout=WAIT_SECONDS,
        **kwargs,
    )


def test_a_callers_upload_past_their_share_is_answered_429_and_others_are_still_taken(
    shared_server: str, shared_app: Any, world: World
) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    alices = bearer(world, alice)
    admission: Admission = shared_app.state.admission
    held = _hold(shared_server, f"/api/v1/phases/{world.phase_id}/submissions", alices)
    try:
        _until(lambda: admission.by_user == {alice.id: 1})
        refused = _submit(shared_server, world, alices)
        assert refused.status_code == 429
        assert refused.json() == {
            "code": "submissions_in_progress",
            "message": IN_PROGRESS.format(count=1, limit=1, seconds=1),
            "details": {"retry_after": 1},
        }
        assert refused.headers["retry-after"] == "1"
        assert _submissions(world) == 0
        taken = _submit(shared_server, world, bearer(world, bob))
        assert taken.status_code == 201, taken.text
        assert _submissions(world) == 1
        assert admission.by_user == {alice.id: 1}
    finally:
        held.close()  # the client goes away mid-body: its place is given back
    _until(lambda: admission.by_user == {} and admission.in_progress == 0)
    again = _submit(shared_server, world, alices)
    assert again.status_code == 201, again.text
    assert _submissions(world) == 2


def test_an_upload_refused_from_its_headers_holds_no_place_of_its_callers(
    shared_server: str, shared_app: Any, world: World
) -> None:
    """Refused for its log-in or its declared size, or by the route, an upload leaves the
    caller's one place free for their next."""
    alice, carol = world.user("alice"), world.user("carol", join=False)
    path = f"/api/v1/phases/{world.phase_id}/submissions"
    admission: Admission = shared_app.state.admission
    assert headers_only(shared_server, "POST", path, {})[0] == 401
    assert headers_only(shared_server, "POST", path, bearer(world, alice))[0] == 413
    assert _submit(shared_server, world, bearer(world, carol)).status_code == 403
    assert admission.by_user == {}
    assert _submit(shared_server, world, bearer(world, alice)).status_code == 201


def test_the_refusal_says_what_to_do_in_the_apps_error_format(
    server: str, busy_app: Any, world: World
) -> None:
    headers = bearer(world, world.user("alice"))
    path = f"/api/v1/phases/{world.phase_id}/submissions"
    busy_app.state.admission.in_progress = 1  # a place taken, as by an upload in progress
    truth = world.truth()
    refused = httpx.post(
        server + path,
        files={"file": ("p.csv", prediction_csv(truth.ids, truth.age))},
        headers=headers,
        timeout=WAIT_SECONDS,
    )
    assert refused.status_code == 503
    assert refused.json() == {
        "code": "server_busy",
        "message": SERVER_BUSY.format(count=1, seconds=1),
        "details": {"retry_after": 1},
    }
    assert refused.headers["retry-after"] == "1"
    assert _submissions(world) == 0


def test_the_submit_forms_refusal_is_a_page_with_the_same_retry_after(
    server: str, busy_app: Any, world: World
) -> None:
    busy_app.state.admission.in_progress = 1
    truth = world.truth()
    refused = httpx.post(
        f"{server}/phases/{world.phase_id}/submit",
        files={"file": ("p.csv", prediction_csv(truth.ids, truth.age))},
        headers={"accept": "text/html"},
        timeout=WAIT_SECONDS,
    )
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("text/html")
    assert html.escape(SERVER_BUSY.format(count=1, seconds=1)) in refused.text
    assert refused.headers["retry-after"] == "1"
    assert _submissions(world) == 0


def test_other_uploads_are_not_counted(server: str, busy_app: Any, world: World) -> None:
    """An organizer's kit file goes through while the submissions' one place is taken."""
    busy_app.state.admission.in_progress = 1
    response = httpx.put(
        f"{server}/api/v1/phases/{world.phase_id}/files/starting_kit",
        files={"file": ("kit.zip", b"PK\x05\x06" + b"\x00" * 18)},
        headers=bearer(world, world.organizer),
        timeout=WAIT_SECONDS,
    )
    assert response.status_code == 201, response.text


def test_a_refused_upload_frees_nothing_and_a_finished_one_frees_its_place() -> None:
    admission = Admission(limit=2, per_user=2)
    first = admission.enter()
    admission.enter()
    with pytest.raises(ServerBusy) as refused:
        admission.enter()
    assert refused.value.status_code == 503 and admission.in_progress == 2
    admission.leave(first)
    assert admission.in_progress == 1
    admission.enter()
    assert admission.in_progress == 2


@pytest.mark.parametrize(
    ("mean_seconds", "expected"), [(0.01, 1), (1.2, 2), (7.0, 7), (500.0, MAX_RETRY_AFTER)]
)
def test_retry_after_is_one_mean_upload_time_in_whole_seconds(
    mean_seconds: float, expected: int
) -> None:
    """By Little's law the uploads in progress turn over within one mean upload time."""
    admission = Admission(limit=1, per_user=1)
    admission.mean_seconds = mean_seconds
    assert admission.retry_after() == expected


def test_each_caller_has_their_own_share_given_back_when_an_upload_ends() -> None:
    admission = Admission(limit=10, per_user=2)
    admission.enter_user(7)
    admission.enter_user(7)
    admission.enter_user(8)
    with pytest.raises(SubmissionsInProgress) as refused:
        admission.enter_user(7)
    assert refused.value.status_code == 429
    assert refused.value.message == IN_PROGRESS.format(count=2, limit=2, seconds=1)
    assert admission.by_user == {7: 2, 8: 1}
    admission.leave_user(7)
    admission.leave_user(8)
    assert admission.by_user == {7: 1}
    admission.enter_user(7)
    assert admission.by_user == {7: 2}
