"""Template rendering shared by every page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import exists, select
from sqlalchemy.orm import object_session

from app import setting_words
from app.audit_text import describe
from app.models import CompetitionOrganizer, Role, User
from app.services.leaderboard import COLUMN_LABELS

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

FLASH_KEY = "flash"


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as the page frame shows it.

    A plain copy rather than the ORM user: error pages render after the request's database
    session has been rolled back and closed, when the user object can no longer load.
    """

    id: int
    username: str
    role: str
    organizes: bool = False
    """Whether the top bar links to the organizer pages: an organizer or admin by role, or a
    user added as organizer of some competition."""

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(
            id=user.id, username=user.username, role=user.role.value, organizes=_organizes(user)
        )


def _organizes(user: User) -> bool:
    """The role answers for most users; only a participant costs one indexed EXISTS query."""
    if user.role in (Role.ADMIN, Role.ORGANIZER):
        return True
    session = object_session(user)
    if session is None:
        return False
    added = exists().where(CompetitionOrganizer.user_id == user.id)
    return bool(session.scalar(select(added)))


def show_viewer(request: Request, user: User | None) -> None:
    """Let every page rendered for this request, error pages included, show who is logged in."""
    request.state.user = Viewer.of(user) if user is not None else None


def score(value: float | None, digits: int = 6) -> str:
    """Scores are stored unrounded; pages show 6 decimals and n/a for undefined."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def rank(value: float) -> str:
    return f"{value:g}"


def ranking(value: float) -> str:
    """A mean of five ranks, always with one decimal: exact, since each rank is a multiple of
    0.5, and a column of "3.0" and "2.4" reads evenly."""
    return f"{value:.1f}"


def when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def markdown(text: str | None) -> Markup:
    """Markdown with raw HTML disabled, so the output is safe to insert as is."""
    return Markup(_markdown.render(text or ""))


templates.env.filters["score"] = score
templates.env.filters["rank"] = rank
templates.env.filters["ranking"] = ranking
templates.env.globals["words"] = {
    "entry_selection": setting_words.ENTRY_SELECTION,
    "entry_selection_public": setting_words.ENTRY_SELECTION_PUBLIC,
    "tie_policy": setting_words.TIE_POLICY,
    "columns": COLUMN_LABELS,
}
templates.env.filters["limits"] = lambda phase: setting_words.limit_words(
    phase.daily_limit, phase.total_limit
)
templates.env.filters["audit_line"] = lambda entry: describe(
    entry.action, entry.actor, entry.target, entry.details
)
templates.env.filters["when"] = when
templates.env.filters["markdown"] = markdown


def flash(request: Request, message: str) -> None:
    """A one-line notice shown on the next page rendered for this session."""
    request.session[FLASH_KEY] = message


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    *,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    from app.deps import csrf_token

    context.setdefault("current_user", getattr(request.state, "user", None))
    context.setdefault("flash", request.session.pop(FLASH_KEY, None))
    context["csrf_token"] = csrf_token(request)
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=headers
    )


def render_error(
    request: Request,
    status_code: int,
    message: str,
    *,
    code: str,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The error page; ``headers`` as the error's JSON answer has them (``Retry-After``)."""
    return render(
        request,
        "error.html",
        status_code=status_code,
        message=message,
        code=code,
        status=status_code,
        headers=headers,
    )
