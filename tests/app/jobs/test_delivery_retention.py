"""The webhook delivery log keeps settled deliveries for the retention period only: the
delivery loop prunes older ones, a bounded batch at a time, and never one still owed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.db import utcnow
from app.jobs import deliveries
from app.jobs.deliveries import DeliveryLoop, prune_deliveries
from app.models import DeliveryStatus, WebhookDelivery
from app.services import webhooks
from tests.app.conftest import World

NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)


def logged(world: World, *rows: tuple[DeliveryStatus, int]) -> list[int]:
    """Deliveries of one webhook, each (status, age in days at ``NOW``); their ids."""
    alice = world.user("alice")
    ids = []
    with world.db.transaction() as session:
        hook = webhooks.create_webhook(
            session,
            world.settings,
            alice,
            url="http://127.0.0.1:9/hook",
            events=["submission.finished"],
        )
        for status, age_days in rows:
            delivery = webhooks.queue_test_event(session, alice, hook.id, now=NOW)
            session.flush()
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery.id)
                .values(status=status, created_at=NOW - timedelta(days=age_days))
            )
            ids.append(delivery.id)
    return ids


def remaining(world: World) -> set[int]:
    with world.db.sessionmaker() as session:
        return set(session.scalars(select(WebhookDelivery.id)))


def test_settled_deliveries_older_than_the_retention_are_pruned(world: World) -> None:
    assert world.settings.webhook_delivery_retention_days == 30
    _, _, recent, pending = logged(
        world,
        (DeliveryStatus.DELIVERED, 31),
        (DeliveryStatus.FAILED, 45),
        (DeliveryStatus.DELIVERED, 29),
        (DeliveryStatus.PENDING, 60),
    )
    assert prune_deliveries(world.db, world.settings, NOW) == 2
    assert remaining(world) == {recent, pending}


def test_the_retention_is_a_setting(world: World) -> None:
    (week_old,) = logged(world, (DeliveryStatus.DELIVERED, 8))
    shorter = world.settings.model_copy(update={"webhook_delivery_retention_days": 7})
    assert prune_deliveries(world.db, world.settings, NOW) == 0
    assert prune_deliveries(world.db, shorter, NOW) == 1
    assert week_old not in remaining(world)


def test_one_round_prunes_a_bounded_batch(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deliveries, "PRUNE_BATCH", 2)
    logged(world, *[(DeliveryStatus.DELIVERED, 40)] * 3)
    assert prune_deliveries(world.db, world.settings, NOW) == 2
    assert prune_deliveries(world.db, world.settings, NOW) == 1
    assert remaining(world) == set()


def test_the_delivery_loop_prunes_the_log(world: World) -> None:
    age = (utcnow() - NOW).days + 31
    (old,) = logged(world, (DeliveryStatus.DELIVERED, age))
    loop = DeliveryLoop(world.db, world.settings)
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while old in remaining(world) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        loop.stop()
    assert old not in remaining(world)
