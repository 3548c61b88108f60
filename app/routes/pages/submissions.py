"""Submitting through a form, the participant's submissions, and one submission's details."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.deps import (
    PATH_IDS_FIRST,
    DbId,
    IntakeDep,
    NowDep,
    OptionalUser,
    SessionDep,
)
from app.errors import AppError, InvalidInput
from app.models import EntrySelection, Split, SubmissionKind, User
from app.presenters import rank_move, submission_dict
from app.routes.pages.forms import PostedForm, login_redirect, require_csrf, see_other
from app.routes.pages.paging import ListingDep
from app.routes.pages.render import flash, render, show_viewer
from app.services import competitions, leaderboard, submission_metadata, submissions, teams
from scoring.groups import ATTRIBUTES
from scoring.inference import PRESETS

router = APIRouter()

NO_FILE_CHOSEN = "choose a prediction file or an ONNX model to upload"
PENDING_STATES = ("queued", "running")
BIAS_OF_ATTRIBUTE = {attribute.name: attribute.score for attribute in ATTRIBUTES}

FormText = Annotated[str, Form()]


@dataclass(frozen=True)
class GroupRow:
    group: str
    size: int
    mae: float | None
    is_best: bool
    is_worst: bool


@dataclass(frozen=True)
class AttributeTable:
    """The per-group MAEs of one attribute, its best and worst group marked."""

    attribute: str
    bias: float | None
    groups: tuple[GroupRow, ...]


def attribute_tables(
    groups: dict[str, list[dict[str, Any]]] | None, scores: dict[str, float | None] | None
) -> list[AttributeTable]:
    """Best and worst are marked only where the groups differ: one of them alone is neither."""
    tables = []
    for attribute, rows in (groups or {}).items():
        maes = [row["mae"] for row in rows if row["mae"] is not None]
        spread = len(maes) >= 2 and max(maes) > min(maes)
        tables.append(
            AttributeTable(
                attribute=attribute,
                bias=(scores or {}).get(BIAS_OF_ATTRIBUTE.get(attribute, "")),
                groups=tuple(
                    GroupRow(
                        group=row["group"],
                        size=row["size"],
                        mae=row["mae"],
                        is_best=spread and row["mae"] == min(maes),
                        is_worst=spread and row["mae"] == max(maes),
                    )
                    for row in rows
                ),
            )
        )
    return tables


def score_columns() -> list[tuple[str, str]]:
    return [(name, leaderboard.COLUMN_LABELS[name]) for name in leaderboard.COLUMN_ORDER]


def _submit_form(
    request: Request,
    session: Session,
    phase_id: int,
    user: User,
    now: datetime,
    *,
    status_code: int = 200,
    error: AppError | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    phase = competitions.get_phase(session, phase_id)
    participation = competitions.get_participation(session, phase.competition_id, user.id)
    return render(
        request,
        "pages/submit.html",
        status_code,
        headers=error.headers() if error else None,
        phase=phase,
        competition=phase.competition,
        joined=participation is not None,
        participation=participation,
        disqualified=participation is not None and participation.disqualified_at is not None,
        quota=teams.quota_for(session, phase.competition, phase, user.id, now)
        if participation
        else None,
        is_open=phase.is_open(now),
        accepts_models=phase.accepts(SubmissionKind.MODEL),
        accepts_predictions=phase.accepts(SubmissionKind.PREDICTIONS),
        presets=PRESETS,
        error=error,
        failed_submission_id=error.details.get("submission_id") if error else None,
        resets_at=getattr(error, "resets_at", None),
        form=form or {"description": "", "preset": "raw", "output_scale": "1", "metadata": ""},
    )


def _output_scale(raw: str) -> float:
    try:
        return float(raw.strip() or "1")
    except ValueError:
        raise InvalidInput(
            submissions.BAD_OUTPUT_SCALE.format(value=raw), field="output_scale"
        ) from None


@router.get("/phases/{phase_id}/submit", response_class=HTMLResponse)
def submit_form(
    phase_id: DbId, request: Request, session: SessionDep, user: OptionalUser, now: NowDep
) -> Response:
    """The upload form, with the viewer's remaining quota."""
    if user is None:
        return login_redirect(request)
    show_viewer(request, user)
    return _submit_form(request, session, phase_id, user, now)


@router.post("/phases/{phase_id}/submit", response_class=HTMLResponse)
def submit(
    phase_id: DbId,
    request: Request,
    session: SessionDep,
    intake: IntakeDep,
    user: OptionalUser,
    now: NowDep,
    file: Annotated[UploadFile | None, File()] = None,
    description: FormText = "",
    preset: FormText = "raw",
    output_scale: FormText = "1",
    metadata: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Accept an upload; a rejection is shown on the form with its status code."""
    if user is None:
        return login_redirect(request, back=f"/phases/{phase_id}/submit")
    show_viewer(request, user)
    require_csrf(request, csrf_token)
    form = {
        "description": description,
        "preset": preset,
        "output_scale": output_scale,
        "metadata": metadata,
    }
    try:
        if file is None or not file.filename:
            raise InvalidInput(NO_FILE_CHOSEN, field="file")
        accepted = intake.submit(
            phase_id=phase_id,
            user=user,
            now=now,
            upload=submissions.Upload(file.filename, file.file),
            description=description,
            preset=preset,
            output_scale=_output_scale(output_scale),
            metadata=submission_metadata.parse_lines(metadata),
        )
    except AppError as error:
        # Whatever the failed attempt wrote is undone; a rejected file's failed record was
        # already committed by app.jobs.intake, so it stays.
        session.rollback()
        return _submit_form(
            request,
            session,
            phase_id,
            user,
            now,
            status_code=error.status_code,
            error=error,
            form=form,
        )
    return see_other(f"/submissions/{accepted.submission_id}")


@router.get("/phases/{phase_id}/submissions", response_class=HTMLResponse)
def my_submissions(
    phase_id: DbId,
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    listing: ListingDep,
    now: NowDep,
) -> Response:
    """The viewer's submissions in a phase, newest first, a page at a time."""
    if user is None:
        return login_redirect(request)
    show_viewer(request, user)
    phase = competitions.get_phase(session, phase_id)
    organizer = competitions.is_organizer(session, phase.competition_id, user)
    board = leaderboard.build_leaderboard(session, phase, split=Split.PUBLIC)
    team = teams.team_of(session, phase.competition_id, user.id)
    entry_id = next(
        (
            r.submission_id
            for r in board.rows
            if not r.is_baseline
            and (r.team_id == team.id if team else (r.user_id == user.id and r.team_id is None))
        ),
        None,
    )
    pages, own = submissions.page_for_participant(
        session, phase, user, listing, search=listing.search
    )
    return render(
        request,
        "pages/my_submissions.html",
        phase=phase,
        competition=phase.competition,
        submissions=[submission_dict(session, s, phase, organizer=organizer, now=now) for s in own],
        pages=pages,
        listing=listing,
        entry_id=entry_id,
        rank_move=rank_move(session, phase, user.id, now=now),
        can_choose=phase.entry_selection is EntrySelection.CHOSEN,
        columns=score_columns(),
    )


@router.post("/submissions/{submission_id}/choose")
def choose(
    submission_id: DbId,
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    csrf_token: FormText = "",
) -> Response:
    """Make a finished submission the viewer's leaderboard entry."""
    if user is None:
        return login_redirect(request, back=f"/submissions/{submission_id}")
    show_viewer(request, user)
    require_csrf(request, csrf_token)
    submission, phase, _ = submissions.get_visible_submission(session, submission_id, user)
    submissions.choose_entry(session, submission, user)
    flash(request, f"Submission #{submission.id} is now your leaderboard entry.")
    return see_other(f"/phases/{phase.id}/submissions")


@router.post("/submissions/{submission_id}/metadata", dependencies=PATH_IDS_FIRST)
def update_metadata(submission_id: DbId, post: PostedForm) -> Response:
    """Replace the metadata of one's submission from ``key=value`` lines."""

    def perform() -> None:
        submission, _phase, _ = submissions.get_visible_submission(
            post.session, submission_id, post.user
        )
        pairs = submission_metadata.parse_lines(post.text("metadata"))
        submission_metadata.update(post.session, submission, post.user, pairs)

    return post.run(
        perform,
        back=f"/submissions/{submission_id}",
        done="Metadata saved.",
        refused="Metadata not saved",
    )


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(
    submission_id: DbId, request: Request, session: SessionDep, user: OptionalUser, now: NowDep
) -> Response:
    """One submission: state, scores, per-group MAEs and provenance (owner and organizers)."""
    if user is None:
        return login_redirect(request)
    show_viewer(request, user)
    submission, phase, organizer = submissions.get_visible_submission(session, submission_id, user)
    owner = user if submission.user_id == user.id else session.get(User, submission.user_id)
    body = submission_dict(
        session,
        submission,
        phase,
        organizer=organizer,
        now=now,
        participant=owner.username if owner else None,
        with_timeline=True,
    )
    progress = body["progress"]
    return render(
        request,
        "pages/submission.html",
        submission=body,
        phase=phase,
        competition=phase.competition,
        is_own=submission.user_id == user.id,
        pending=body["status"] in PENDING_STATES,
        progress_percent=(
            math.floor(100 * progress["done"] / progress["total"])
            if progress and progress["total"]
            else None
        ),
        has_file=submission.storage_key is not None,
        columns=score_columns(),
        public_tables=attribute_tables(body["groups"], body["scores"]),
        private_tables=attribute_tables(body["private_groups"], body["private_scores"]),
    )
