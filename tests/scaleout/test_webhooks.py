"""Webhooks in the scale-out mode: a Celery worker scores the file, then its delivery loop
sends the signed event, retrying a failing receiver; the API process sends nothing itself."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook as Verifier

from app.config import Settings
from app.db import Database
from tests.app.conftest import prediction_csv
from tests.scaleout.cluster import Cluster
from tests.scaleout.conftest import seed_competition
from tests.support.receiver import receiver

pytestmark = pytest.mark.scaleout

WEBHOOKS = {
    "FAIRBOARD_WEBHOOK_ALLOW_PRIVATE": "1",
    "FAIRBOARD_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "FAIRBOARD_WEBHOOK_POLL_SECONDS": "0.1",
    "FAIRBOARD_INLINE_SCORING_MAX_BYTES": "0",
}


def test_a_worker_delivers_the_signed_event_on_the_third_try(
    cluster: Cluster, shared_settings: Settings, scaleout_source: Path
) -> None:
    db = Database(shared_settings.database_url)
    world = seed_competition(db, shared_settings, scaleout_source)
    headers = world.headers(world.user("alice"))
    cluster.env |= WEBHOOKS
    api = cluster.start_api()
    cluster.start_worker("worker-a")
    cluster.wait_ready("worker-a")
    truth = world.truth()
    with receiver(failures=2) as target:
        hook = httpx.post(
            f"{api}/api/v1/webhooks",
            json={"url": target.url, "events": ["submission.finished"]},
            headers=headers,
        ).json()
        made = httpx.post(
            f"{api}/api/v1/phases/{world.phase_id}/submissions",
            files={"file": ("p.csv", prediction_csv(truth.ids, truth.age))},
            headers=headers,
        )
        assert made.status_code == 201, made.text
        (delivery,) = target.wait_for(1, seconds=60)
    event = Verifier(hook["secret"]).verify(delivery.body, delivery.headers)
    assert (event["type"], event["data"]["id"]) == ("submission.finished", made.json()["id"])
    assert event["data"]["status"] == "finished"
    assert len(target.attempts) == 3
    db.dispose()
