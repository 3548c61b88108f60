"""Compare submissions across the phases of a competition, as JSON or a file for a report."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from app.db import DB_ID_MAX
from app.deps import CurrentUser, NowDep, SessionDep
from app.routes.api.files import EXPORT_MEDIA_TYPES, attachment, documented
from app.schema_examples.files import COMPARE_FILES
from app.services import compare as comparing
from app.services import competitions

router = APIRouter(tags=["compare"])


@router.get(
    "/compare",
    response_class=Response,
    responses=documented(COMPARE_FILES),
)
def compare(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    submissions: Annotated[str, Query(max_length=2000, description="ids: 12,15,31")] = "",
    format: Annotated[Literal["json", "csv", "md", "tex"], Query()] = "json",
    reference: Annotated[int | None, Query(ge=1, le=DB_ID_MAX)] = None,
    groups: bool = False,
) -> Response:
    """One table of the caller's (or their team's) finished submissions and the baselines;
    organizers compare any of their competition's. Best of each score marked."""
    table = comparing.compare(
        session, user, comparing.parse_ids(submissions), reference=reference, now=now
    )
    if format == "json":
        body: dict[str, Any] = table.to_dict()
        return JSONResponse(body)
    title = competitions.get_competition(session, table.competition_id).title + ": comparison"
    content = comparing.compare_export(table, format, title=title, groups=groups)
    filename = f"compare-competition{table.competition_id}.{format}"
    return attachment(content, EXPORT_MEDIA_TYPES[format], filename)
