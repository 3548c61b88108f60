"""Request and response models of the webhooks API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.schema_examples import (
    EXAMPLE_DELIVERY,
    EXAMPLE_WEBHOOK,
)
from app.schemas.core import (
    InputModel,
)


class WebhookIn(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"url": EXAMPLE_WEBHOOK["url"], "events": EXAMPLE_WEBHOOK["events"]}]
        }
    )
    url: str = Field(max_length=2048, examples=["https://ci.example.org/fairboard-hook"])
    events: list[Annotated[str, Field(max_length=64)]] = Field(
        max_length=10, examples=[["submission.finished", "submission.failed"]]
    )


class WebhookOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [EXAMPLE_WEBHOOK]}
    )
    id: int
    url: str
    events: list[str]
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [EXAMPLE_WEBHOOK | {"secret": "whsec_" + "A" * 32}]},
    )
    secret: str
    """The signing secret (``whsec_...``), shown this once."""


class DeliveryOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [EXAMPLE_DELIVERY]}
    )
    id: int
    message_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_response_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
