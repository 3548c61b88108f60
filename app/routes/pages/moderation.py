"""Organizer pages under /organize for running a competition day to day: co-organizers,
participants, the moderation table, baselines, re-scoring, kits and the audit log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from app.audit_text import ACTIONS
from app.deps import (
    ORGANIZER_ONLY,
    DbId,
    IntakeDep,
    JobsDep,
    SessionDep,
    SettingsDep,
)
from app.phase_settings import MAX_ID, whole_number
from app.routes.pages.confirmations import (
    DISQUALIFY,
    HIDE,
    REMOVE_ORGANIZER,
    RESCORE,
    WITHDRAW_KIT,
    filled,
)
from app.routes.pages.forms import FormPost, PostedForm, Viewer, chosen_file
from app.routes.pages.paging import ListingDep
from app.routes.pages.render import render
from app.services import audit, competitions, kits, leaderboard, moderation, phases, rescore
from scoring.groups import SCORE_NAMES

router = APIRouter(prefix="/organize")


def _competition_back(competition_id: int) -> str:
    return f"/organize/competitions/{competition_id}"


def _back_to(post: FormPost) -> str:
    """Where a moderation form returns: the page it was on, always under /organize."""
    back = post.text("back")
    return back if back.startswith("/organize/") and "//" not in back else "/organize"


# --- Organizers and participants ------------------------------------------------------------


@router.post("/competitions/{competition_id}/organizers", dependencies=ORGANIZER_ONLY)
def add_organizer(competition_id: DbId, post: PostedForm) -> Response:
    """Add a co-organizer by username."""
    username = post.text("username")
    return post.run(
        lambda: competitions.add_organizer(
            post.session, competition_id, post.user, username, now=post.now
        ),
        back=_competition_back(competition_id),
        done=f"{username.strip().lower()} now organizes this competition.",
    )


@router.post(
    "/competitions/{competition_id}/organizers/{username}/remove", dependencies=ORGANIZER_ONLY
)
def remove_organizer(competition_id: DbId, username: str, post: PostedForm) -> Response:
    """Remove a co-organizer."""
    return post.run(
        lambda: competitions.remove_organizer(
            post.session, competition_id, post.user, username, now=post.now
        ),
        back=_competition_back(competition_id),
        done=f"{username} no longer organizes this competition.",
        confirm=filled(REMOVE_ORGANIZER, username=username),
    )


@router.post(
    "/competitions/{competition_id}/participants/{username}/disqualify", dependencies=ORGANIZER_ONLY
)
def disqualify(competition_id: DbId, username: str, post: PostedForm) -> Response:
    """Disqualify a participant, with a reason for the audit log."""
    reason = post.text("reason")
    return post.run(
        lambda: moderation.disqualify(
            post.session, competition_id, post.user, username, reason=reason, now=post.now
        ),
        back=_competition_back(competition_id),
        done=f"{username} is disqualified.",
        confirm=filled(DISQUALIFY, username=username),
    )


@router.post(
    "/competitions/{competition_id}/participants/{username}/requalify", dependencies=ORGANIZER_ONLY
)
def requalify(competition_id: DbId, username: str, post: PostedForm) -> Response:
    """Lift a disqualification."""
    return post.run(
        lambda: moderation.requalify(
            post.session, competition_id, post.user, username, now=post.now
        ),
        back=_competition_back(competition_id),
        done=f"{username} is no longer disqualified.",
    )


@router.get(
    "/competitions/{competition_id}/audit", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse
)
def audit_page(
    competition_id: DbId,
    request: Request,
    session: SessionDep,
    user: Viewer,
    listing: ListingDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Every organizer action in this competition, newest first, a page at a time."""
    competition = competitions.require_organizer(session, competition_id, user)
    pages, entries = audit.entries_page(
        session, competition.id, listing, action=action or None, search=listing.search
    )
    return render(
        request,
        "organizer/audit.html",
        competition=competition,
        entries=entries,
        action=action or "",
        action_choices=sorted(ACTIONS.items(), key=lambda item: item[1]),
        pages=pages,
        listing=listing,
    )


# --- Re-scoring, kits and baselines -----------------------------------------------------------


@router.post("/phases/{phase_id}/rescore", dependencies=ORGANIZER_ONLY)
def rescore_phase(
    phase_id: DbId, post: PostedForm, jobs: JobsDep, after_commit: BackgroundTasks
) -> Response:
    """Re-run every finished submission (optionally on another test set); show the report."""
    chosen = whole_number(post.text("testset_id"))

    def perform() -> Any:
        run, pending = rescore.rescore_phase(
            post.session,
            phase_id,
            post.user,
            now=post.now,
            testset_id=chosen if chosen is not None and 0 < chosen <= MAX_ID else None,
            include_failed=bool(post.text("include_failed")),
        )
        # Background tasks run once the request's session has committed the queued runs.
        after_commit.add_task(rescore.dispatch, jobs, pending)
        return run

    return post.run(
        perform,
        back=f"/organize/phases/{phase_id}",
        done="Re-scoring started.",
        then=lambda run: f"/organize/rescores/{run.id}",
        refused="Not re-scored",
        confirm=RESCORE,
    )


@router.get("/rescores/{rescore_id}", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse)
def rescore_page(
    rescore_id: DbId,
    request: Request,
    session: SessionDep,
    user: Viewer,
    listing: ListingDep,
    show: Annotated[Literal["changed", "all"], Query()] = "changed",
) -> Response:
    """What a re-scoring changed: the summary, then the submissions whose scores, position or
    state changed (all of them on request), a page at a time."""
    run = rescore.get_rescore(session, rescore_id, user)
    phase = competitions.get_phase(session, run.phase_id)
    report = rescore.report(session, run)
    shown = rescore.changes_shown(report, changed_only=show == "changed", search=listing.search)
    pages = listing.pages(len(shown))
    return render(
        request,
        "organizer/rescore.html",
        report=report,
        rows=shown[pages.offset : pages.offset + pages.per_page],
        pages=pages,
        listing=listing,
        show=show,
        phase=phase,
        competition=phase.competition,
        score_names=[(name, leaderboard.COLUMN_LABELS[name]) for name in SCORE_NAMES],
    )


@router.get("/phases/{phase_id}/rescores", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse)
def rescores_page(
    phase_id: DbId, request: Request, session: SessionDep, user: Viewer, listing: ListingDep
) -> Response:
    """Every re-scoring of a phase, newest first, a page at a time."""
    phase = phases.require_organized(session, phase_id, user)
    pages, runs = rescore.rescores_page(session, phase.id, user, listing, search=listing.search)
    return render(
        request,
        "organizer/rescores.html",
        phase=phase,
        competition=phase.competition,
        runs=runs,
        pages=pages,
        listing=listing,
    )


@router.post("/phases/{phase_id}/files/{kind}", dependencies=ORGANIZER_ONLY)
def upload_kit(
    phase_id: DbId,
    kind: str,
    post: PostedForm,
    settings: SettingsDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Upload or replace the starting kit or the sample submission."""
    return post.run(
        lambda: kits.upload_kit(
            post.session,
            settings,
            phase_id,
            post.user,
            kind=kind,
            upload=chosen_file(file),
            now=post.now,
        ),
        back=f"/organize/phases/{phase_id}",
        done=f"{kits.KIT_LABELS.get(kind, kind)} uploaded.",
    )


@router.post("/phases/{phase_id}/files/{kind}/delete", dependencies=ORGANIZER_ONLY)
def delete_kit(phase_id: DbId, kind: str, post: PostedForm, settings: SettingsDep) -> Response:
    """Withdraw the starting kit or the sample submission."""
    return post.run(
        lambda: kits.delete_kit(
            post.session, settings, phase_id, post.user, kind=kind, now=post.now
        ),
        back=f"/organize/phases/{phase_id}",
        done=f"{kits.KIT_LABELS.get(kind, kind)} withdrawn.",
        confirm=filled(WITHDRAW_KIT, label=kits.KIT_LABELS.get(kind, kind).lower()),
    )


@router.post("/phases/{phase_id}/baselines", dependencies=ORGANIZER_ONLY)
def add_baseline(
    phase_id: DbId,
    post: PostedForm,
    intake: IntakeDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Add a baseline entry, shown on the leaderboard as “Baseline: <description>”."""
    return post.run(
        lambda: intake.start(
            moderation.add_baseline(
                post.session,
                intake.settings,
                phase_id=phase_id,
                actor=post.user,
                upload=chosen_file(file),
                description=post.text("description"),
                now=post.now,
            ),
        ),
        back=f"/organize/phases/{phase_id}/submissions",
        done="Baseline added.",
    )


# --- Moderation -----------------------------------------------------------------------------


@router.get(
    "/phases/{phase_id}/submissions", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse
)
def moderation_page(
    phase_id: DbId,
    request: Request,
    session: SessionDep,
    user: Viewer,
    listing: ListingDep,
    status: Annotated[str | None, Query()] = None,
    kind: Annotated[str | None, Query()] = None,
) -> Response:
    """Every submission of the phase, filtered and searched, a page at a time, with moderation
    actions."""
    phase = phases.require_organized(session, phase_id, user)
    pages, rows = moderation.submissions_page(
        session,
        phase.id,
        user,
        listing,
        search=listing.search,
        status=status or None,
        kind=kind or None,
    )
    return render(
        request,
        "organizer/submissions.html",
        phase=phase,
        competition=phase.competition,
        rows=[row.to_dict() for row in rows],
        pages=pages,
        listing=listing,
        filters={"status": status or "", "kind": kind or ""},
        statuses=["queued", "running", "finished", "failed"],
        kinds=["predictions", "model"],
        score_names=SCORE_NAMES,
        back=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    )


@router.post("/submissions/{submission_id}/rerun", dependencies=ORGANIZER_ONLY)
def rerun(
    submission_id: DbId, post: PostedForm, jobs: JobsDep, after_commit: BackgroundTasks
) -> Response:
    """Queue one submission again."""

    def perform() -> None:
        _, queued = rescore.rerun_submission(post.session, submission_id, post.user, now=post.now)
        after_commit.add_task(rescore.dispatch, jobs, queued)

    return post.run(
        perform,
        back=_back_to(post),
        done=f"Submission #{submission_id} queued again.",
    )


@router.post("/submissions/{submission_id}/hide", dependencies=ORGANIZER_ONLY)
def hide(submission_id: DbId, post: PostedForm) -> Response:
    """Take an entry off the leaderboard, with a reason."""
    reason = post.text("reason")
    return post.run(
        lambda: moderation.set_hidden(
            post.session, submission_id, post.user, hidden=True, reason=reason, now=post.now
        ),
        back=_back_to(post),
        done=f"Submission #{submission_id} is hidden.",
        confirm=filled(HIDE, id=submission_id),
    )


@router.post("/submissions/{submission_id}/unhide", dependencies=ORGANIZER_ONLY)
def unhide(submission_id: DbId, post: PostedForm) -> Response:
    """Put a hidden entry back on the leaderboard."""
    return post.run(
        lambda: moderation.set_hidden(
            post.session, submission_id, post.user, hidden=False, now=post.now
        ),
        back=_back_to(post),
        done=f"Submission #{submission_id} is shown again.",
    )
