"""Uploads are refused from their headers, before the body is read: an anonymous caller gets
401 (a page: the log-in redirect), a declared length over the route's limit 413, a caller who
may not use the route 403; a body without a length is counted as it streams and cut with 413.

Driven over a raw socket against the real app under uvicorn: the request's headers are sent
and its body never is, so an answer proves the server did not wait for the body.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import UploadFile
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.formparsers import MultiPartParser

from app.config import Settings
from app.main import create_app
from app.uploads import FORM_ALLOWANCE, UPLOAD_ROUTES
from tests.app.conftest import World, prediction_csv
from tests.support.live_server import serve

FILE_LIMIT = 4_000
HUGE = 1_500_000_000
ANSWER_SECONDS = 10.0
BOUNDARY = "fairboardboundary"


def _takes_a_file(route: APIRoute) -> bool:
    return any(
        "UploadFile" in str(field.field_info.annotation)
        or field.field_info.annotation is UploadFile
        for field in route.dependant.body_params
    )


def _file_routes(app: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()

    def walk(router: Any, prefix: str) -> None:
        for route in router.routes:
            if isinstance(route, APIRoute) and _takes_a_file(route):
                found.update((method, prefix + route.path) for method in route.methods)
            elif hasattr(route, "original_router"):
                walk(route.original_router, prefix + route.include_context.prefix)

    walk(app.router, "")
    return found


def test_every_route_that_takes_a_file_is_checked_before_its_body(app: Any) -> None:
    registered = {(route.method, route.path) for route in UPLOAD_ROUTES}
    assert len(registered) == len(UPLOAD_ROUTES)
    assert _file_routes(app) == registered


@pytest.fixture
def parsed_bodies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every multipart body the app starts to parse (the parser is what writes temp files)."""
    seen: list[str] = []
    original = MultiPartParser.parse

    async def recording(self: MultiPartParser) -> Any:
        seen.append("parsed")
        return await original(self)

    monkeypatch.setattr(MultiPartParser, "parse", recording)
    return seen


@pytest.fixture
def server(world: World, settings: Settings) -> Iterator[str]:
    small = settings.model_copy(
        update={
            "max_prediction_file_bytes": FILE_LIMIT,
            "max_model_file_bytes": FILE_LIMIT,
            "max_kit_file_bytes": FILE_LIMIT,
            "max_testset_upload_bytes": FILE_LIMIT,
        }
    )
    with serve(create_app(small, start_jobs=False)) as url:
        yield url


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    connection = socket.create_connection((parts.hostname, parts.port), timeout=ANSWER_SECONDS)
    return connection


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status(connection: socket.socket) -> tuple[int, str]:
    """The response's status and head; a timeout here means the server waited for the body."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            break
        received += chunk
    head = received.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return int(head.split(" ", 2)[1]), head


def headers_only(url: str, method: str, path: str, headers: dict[str, str]) -> tuple[int, str]:
    """Send a request's headers, announcing a 1.5 GB multipart body, and never the body."""
    with _connect(url) as connection:
        connection.sendall(
            _head(
                method,
                path,
                {
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                    "Content-Length": str(HUGE),
                }
                | headers,
            )
        )
        return _status(connection)


def bearer(world: World, user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.token(user)}"}


KIT = "/api/v1/phases/{phase}/files/starting_kit"
SUBMIT_API = "/api/v1/phases/{phase}/submissions"
BASELINES = "/api/v1/phases/{phase}/baselines"


@pytest.mark.parametrize(
    ("caller", "method", "path", "expected"),
    [
        ("anonymous", "POST", SUBMIT_API, 401),
        ("anonymous", "POST", "/phases/{phase}/submit", 303),
        ("anonymous", "POST", "/api/v1/testsets", 401),
        ("participant", "POST", SUBMIT_API, 413),
        ("participant", "POST", "/phases/{phase}/submit", 413),
        ("participant", "PUT", KIT, 403),
        ("participant", "POST", "/api/v1/testsets", 403),
        ("participant", "POST", BASELINES, 403),
        ("organizer", "PUT", KIT, 413),
        ("organizer", "POST", "/api/v1/testsets", 413),
        ("organizer", "POST", BASELINES, 413),
    ],
)
def test_an_upload_is_refused_from_its_headers_before_its_body(
    server: str,
    world: World,
    parsed_bodies: list[str],
    caller: str,
    method: str,
    path: str,
    expected: int,
) -> None:
    """401 (a page: the log-in redirect) for anonymous callers, 403 for a participant on an
    organizer route, 413 for a declared 1.5 GB body; the body is never sent nor parsed."""
    users = {"participant": lambda: world.user("alice"), "organizer": lambda: world.organizer}
    headers = bearer(world, users[caller]()) if caller in users else {}
    status, head = headers_only(server, method, path.format(phase=world.phase_id), headers)
    assert status == expected
    if expected == 303:
        assert "location: /login?next=" in head.lower()
    assert parsed_bodies == []


def test_a_streamed_upload_without_a_length_is_cut_at_the_limit(server: str, world: World) -> None:
    path = f"/api/v1/phases/{world.phase_id}/submissions"
    head = _head(
        "POST",
        path,
        {
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Transfer-Encoding": "chunked",
        }
        | bearer(world, world.user("alice")),
    )
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    chunk = b"x" * 4096
    with _connect(server) as connection:
        connection.sendall(head + f"{len(part):x}\r\n".encode() + part + b"\r\n")
        try:
            for _ in range((FILE_LIMIT + FORM_ALLOWANCE) // len(chunk) + 5):
                connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        except OSError:
            pass  # the server may stop reading once it has answered
        status, _ = _status(connection)
    assert status == 413


def test_an_upload_within_the_limit_goes_through(server: str, world: World) -> None:
    truth = world.truth()
    response = httpx.post(
        f"{server}/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("p.csv", prediction_csv(truth.ids, truth.age))},
        headers=bearer(world, world.user("alice")),
        timeout=ANSWER_SECONDS,
    )
    assert response.status_code == 201, response.text


def test_the_guard_stops_passing_a_streamed_body_on_at_the_limit(
    app: Any, world: World, settings: Settings
) -> None:
    """At the ASGI level: the app behind the guard never gets more than the limit, and the
    client gets the 413 in its place."""
    import anyio

    from app.uploads import UploadGuard, upload_route

    found = upload_route("POST", f"/api/v1/phases/{world.phase_id}/submissions")
    assert found is not None
    limit = found[0].limit(settings)
    passed_on: list[int] = []

    async def reads_everything(scope: Any, receive: Any, send: Any) -> None:
        while (message := await receive())["type"] == "http.request":
            passed_on.append(len(message["body"]))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    chunk = b"x" * 8192
    chunks = iter([chunk] * (limit // len(chunk) + 3))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": next(chunks, b""), "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guard = UploadGuard(reads_everything)
    token = world.token(world.user("alice"))
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/api/v1/phases/{world.phase_id}/submissions",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
        "query_string": b"",
        "app": app,
        "session": {},
    }
    with TestClient(app):  # the lifespan: the app's database and settings
        anyio.run(guard, scope, receive, send)
    assert sum(passed_on) <= limit
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [413]
