"""A real HTTP receiver for webhook tests: a thread with ``http.server`` on a free port."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Records every POST; answers 500 to the first ``failures`` of them, then 204."""

    url: str
    failures: int = 0
    attempts: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def accepted(self) -> list[Received]:
        with self.lock:
            return self.attempts[self.failures :]

    def wait_for(self, count: int, *, seconds: float = 15.0) -> list[Received]:
        """The first ``count`` accepted deliveries, waiting for them to arrive."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if len(self.accepted) >= count:
                return self.accepted[:count]
            time.sleep(0.02)
        raise AssertionError(f"{len(self.accepted)} deliveries arrived at {self.url}, not {count}")


@contextmanager
def receiver(*, failures: int = 0) -> Iterator[Receiver]:
    """Serve a receiver on 127.0.0.1 and a free port; stop it afterwards."""
    state = Receiver(url="", failures=failures)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with state.lock:
                state.attempts.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
                failing = len(state.attempts) <= state.failures
            self.send_response(500 if failing else 204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
