"""HTML pages for participants and organizers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.deps import OptionalUser, SessionDep
from app.routes.pages.render import render
from app.services import competitions

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, session: SessionDep, user: OptionalUser) -> HTMLResponse:
    """The list of competitions."""
    request.state.user = user
    return render(request, "index.html", competitions=competitions.list_competitions(session))
