"""Locust users for the load benches; ``bench/bench_locust.py`` seeds a server and runs them.

``FAIRBOARD_LOCUST_PLAN`` names a JSON file: the phase, one API token per participant, the
prediction files to send and the scenario. Each simulated user is one participant (its own
token). A submission counts as a failure unless it answers 201 with the submission scored
(``finished``) or, when the workers score, queued for them. A 503 ``server_busy`` (admission
control: nothing stored) is reported apart, as ``submit: busy``, and the file is sent again
after the answer's Retry-After, as ``fairboard submit`` does.

- ``throughput``: every user posts prediction files back to back (no think time);
- ``rush``: a deadline rush, each participant submitting a file, then reading the
  leaderboard (JSON and the page) between pauses of ``think`` seconds.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, between, constant, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["FAIRBOARD_LOCUST_PLAN"]).read_text())
BOUNDARY = "fairboard-locust-boundary"
ACCEPTED = {"finished"} if PLAN["inline"] else {"queued", "running", "finished"}
SUBMIT = (
    f"/bench/compute/{PLAN['phase_id']}"
    if PLAN.get("bound")
    else f"/api/v1/phases/{PLAN['phase_id']}/submissions"
)
"""Where files go: the submissions, or (``--bound``) the bench's parse-and-score route."""
BUSY_RETRIES = 5
_participants = itertools.count()


def _multipart(content: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="predictions.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


BODIES = [_multipart(Path(path).read_bytes()) for path in PLAN["files"]]


class Participant(FastHttpUser):
    """One participant with an API token."""

    abstract = True

    def on_start(self) -> None:
        index = next(_participants)
        self.token = PLAN["tokens"][index % len(PLAN["tokens"])]
        self.sent = index

    def submit(self) -> None:
        self.sent += 1
        for _ in range(BUSY_RETRIES + 1):
            wait = self._send(BODIES[self.sent % len(BODIES)])
            if wait is None:
                return
            gevent.sleep(wait)

    def _send(self, body: bytes) -> int | None:
        """One upload; the seconds to wait before sending it again when the server was busy."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        }
        with self.client.post(
            SUBMIT,
            data=body,
            headers=headers,
            name="submit",
            catch_response=True,
        ) as response:
            if response.status_code == 503 and "server_busy" in (response.text or ""):
                response.request_meta["name"] = "submit: busy"
                response.success()
                return int(response.headers.get("retry-after") or 1)
            if PLAN.get("bound"):
                if response.status_code != 200:
                    response.failure(f"{response.status_code}: {response.text[:200]}")
                return None
            status = (response.json() or {}).get("status") if response.status_code == 201 else None
            if status not in ACCEPTED:
                response.failure(f"{response.status_code} {status}: {response.text[:200]}")
        return None

    def leaderboard(self) -> None:
        self.client.get(
            f"/api/v1/phases/{PLAN['phase_id']}/leaderboard",
            headers={"Authorization": f"Bearer {self.token}"},
            name="leaderboard JSON",
        )


if PLAN["scenario"] == "throughput":

    class Submitter(Participant):
        """Posts prediction files back to back."""

        wait_time = constant(0)

        @task
        def post_file(self) -> None:
            self.submit()

else:

    class RushingParticipant(Participant):
        """Submits, then checks the leaderboard, with a pause between actions."""

        wait_time = between(*PLAN["think"])

        @task(2)
        def post_file(self) -> None:
            self.submit()

        @task(2)
        def read_board(self) -> None:
            self.leaderboard()

        @task(1)
        def read_page(self) -> None:
            self.client.get(f"/phases/{PLAN['phase_id']}/leaderboard", name="leaderboard page")
