"""Outbound webhooks: register, list, delete, read the delivery log, send a test event."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Response, status

from app.deps import CurrentUser, DbId, NowDep, SessionDep, SettingsDep
from app.routes.api.paging import PAGE_HEADERS, PageDep
from app.schemas import DeliveryOut, WebhookCreatedOut, WebhookIn, WebhookOut
from app.services import webhooks

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
DELIVERIES_PER_PAGE = 100

EVENTS_DESCRIPTION = (
    "Events: `submission.finished` and `submission.failed` (your own submissions), "
    "`leaderboard.changed` (competitions you organize). Each delivery is a POST of "
    '`{"type", "timestamp", "data"}` signed per Standard Webhooks (`webhook-id`, '
    "`webhook-timestamp`, `webhook-signature`); `data` of a submission event is the submission "
    "as `GET /api/v1/submissions/{id}` returns it to you. Failed deliveries are retried with "
    "exponential back-off."
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreatedOut,
    summary="Register a webhook",
    description=EVENTS_DESCRIPTION + " The signing secret is in this answer only.",
    responses={422: {"description": "unknown event, or a URL that may not receive webhooks"}},
)
def create_webhook(
    body: WebhookIn, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> WebhookCreatedOut:
    """Register a URL for some of the caller's events; the secret is shown once."""
    webhook = webhooks.create_webhook(session, settings, user, url=body.url, events=body.events)
    return WebhookCreatedOut.model_validate(webhook)


@router.get(
    "",
    response_model=list[WebhookOut],
    summary="List your webhooks",
    responses={200: {"headers": PAGE_HEADERS}},
)
def list_webhooks(
    user: CurrentUser, session: SessionDep, page: PageDep, response: Response
) -> list[WebhookOut]:
    """The caller's webhooks, oldest first (never their secrets)."""
    rows = page.apply(webhooks.list_webhooks(session, user), response)
    return [WebhookOut.model_validate(w) for w in rows]


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook",
)
def delete_webhook(webhook_id: DbId, user: CurrentUser, session: SessionDep) -> None:
    """Delete one of the caller's webhooks; deliveries not yet sent are dropped."""
    webhooks.delete_webhook(session, user, webhook_id)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=list[DeliveryOut],
    summary="A webhook's delivery log",
    responses={200: {"headers": PAGE_HEADERS}},
)
def list_deliveries(
    webhook_id: DbId, user: CurrentUser, session: SessionDep, page: PageDep, response: Response
) -> list[DeliveryOut]:
    """The deliveries of one of the caller's webhooks, newest first, with their outcome."""
    page = replace(page, limit=page.limit or DELIVERIES_PER_PAGE)
    assert page.limit is not None
    rows, total = webhooks.deliveries_of(
        session, user, webhook_id, limit=page.limit, offset=page.offset
    )
    response.headers.update(page.headers(total, page.offset + len(rows)))
    return [DeliveryOut.model_validate(d) for d in rows]


@router.post(
    "/{webhook_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    summary="Send a test event",
)
def send_test_event(
    webhook_id: DbId, user: CurrentUser, session: SessionDep, now: NowDep
) -> DeliveryOut:
    """Queue a `webhook.test` event to one of the caller's webhooks; its delivery record."""
    return DeliveryOut.model_validate(webhooks.queue_test_event(session, user, webhook_id, now=now))
