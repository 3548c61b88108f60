"""Organizers: test sets, competitions and phases, co-organizers, reveal, re-scoring, audit log,
starting kits."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile, status
from fastapi.responses import FileResponse, Response

from app.deps import (
    ORGANIZER_ONLY,
    CurrentUser,
    DbId,
    JobsDep,
    NowDep,
    QueryOffset,
    SessionDep,
    SettingsDep,
)
from app.downloads import stored_file_response
from app.phase_settings import PhasePatch, PhaseSettings
from app.presenters import competition_out, organizer_phase_out
from app.routes.api.paging import PAGE_HEADERS, PageDep
from app.schemas import (
    AuditEntryOut,
    CompetitionIn,
    CompetitionOut,
    CompetitionPatch,
    KitOut,
    OrganizerOut,
    OrganizerPhaseOut,
    RescoreIn,
    RescoreOut,
    TestSetOut,
    UsernameIn,
)
from app.services import audit, competitions, inputs, kits, phases, rescore, testsets
from app.services.submissions import Upload

router = APIRouter(tags=["organizers"])


# --- Test sets ------------------------------------------------------------------------------


@router.post(
    "/testsets",
    dependencies=ORGANIZER_ONLY,
    status_code=status.HTTP_201_CREATED,
    response_model=TestSetOut,
)
def upload_testset(
    file: Annotated[UploadFile, File(description="a .zip in any layout of SPEC §2")],
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    now: NowDep,
    after_commit: BackgroundTasks,
    name: Annotated[str, Form(max_length=200)] = "",
    image_height: Annotated[int, Form()] = 224,
    image_width: Annotated[int, Form()] = 224,
) -> TestSetOut:
    """Upload a hidden test set; it is validated completely and the import report returned.

    Its test-inputs downloads are built after the answer, in the background."""
    testset = testsets.upload_testset(
        session,
        settings,
        user,
        Upload(file.filename or "testset.zip", file.file),
        name=name,
        image_height=image_height,
        image_width=image_width,
        now=now,
    )
    after_commit.add_task(inputs.build_logged, inputs.Source.of(settings, testset))
    return TestSetOut.model_validate(testset)


@router.get(
    "/testsets", response_model=list[TestSetOut], responses={200: {"headers": PAGE_HEADERS}}
)
def list_testsets(
    session: SessionDep, user: CurrentUser, page: PageDep, response: Response
) -> list[TestSetOut]:
    """The test sets the caller uploaded (admins: all)."""
    shown = page.apply(testsets.list_testsets(session, user), response)
    return [TestSetOut.model_validate(t) for t in shown]


@router.get("/testsets/{testset_id}", response_model=TestSetOut)
def get_testset(testset_id: DbId, session: SessionDep, user: CurrentUser) -> TestSetOut:
    """A test set's import report: layout, size, fingerprint, counts per group, image sizes."""
    return TestSetOut.model_validate(testsets.require_visible(session, testset_id, user))


# --- Competitions ---------------------------------------------------------------------------


@router.post(
    "/competitions",
    dependencies=ORGANIZER_ONLY,
    status_code=status.HTTP_201_CREATED,
    response_model=CompetitionOut,
)
def create_competition(
    body: CompetitionIn, session: SessionDep, user: CurrentUser, now: NowDep
) -> CompetitionOut:
    """Create a competition (organizer or admin role); the caller becomes its organizer."""
    competition = competitions.create_competition(
        session, user, title=body.title, description=body.description, now=now
    )
    return competition_out(session, competition.id, user, now=now)


@router.patch(
    "/competitions/{competition_id}", dependencies=ORGANIZER_ONLY, response_model=CompetitionOut
)
def update_competition(
    competition_id: DbId,
    body: CompetitionPatch,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> CompetitionOut:
    """Change the title or the Markdown description (the competition's organizers)."""
    competitions.update_competition(
        session, competition_id, user, body.model_dump(exclude_unset=True), now=now
    )
    return competition_out(session, competition_id, user, now=now)


def _organizers(competition_id: int, session: SessionDep, user: CurrentUser) -> list[OrganizerOut]:
    return [
        OrganizerOut.model_validate(o)
        for o in competitions.list_organizers(session, competition_id, user)
    ]


@router.get(
    "/competitions/{competition_id}/organizers",
    dependencies=ORGANIZER_ONLY,
    response_model=list[OrganizerOut],
    responses={200: {"headers": PAGE_HEADERS}},
)
def list_organizers(
    competition_id: DbId, session: SessionDep, user: CurrentUser, page: PageDep, response: Response
) -> list[OrganizerOut]:
    """Who organizes this competition."""
    return page.apply(_organizers(competition_id, session, user), response)


@router.post(
    "/competitions/{competition_id}/organizers",
    dependencies=ORGANIZER_ONLY,
    status_code=status.HTTP_201_CREATED,
    response_model=list[OrganizerOut],
)
def add_organizer(
    competition_id: DbId, body: UsernameIn, session: SessionDep, user: CurrentUser, now: NowDep
) -> list[OrganizerOut]:
    """Add a co-organizer by username."""
    competitions.add_organizer(session, competition_id, user, body.username, now=now)
    return _organizers(competition_id, session, user)


@router.delete(
    "/competitions/{competition_id}/organizers/{username}",
    dependencies=ORGANIZER_ONLY,
    response_model=list[OrganizerOut],
)
def remove_organizer(
    competition_id: DbId, username: str, session: SessionDep, user: CurrentUser, now: NowDep
) -> list[OrganizerOut]:
    """Remove a co-organizer (never the last one)."""
    competitions.remove_organizer(session, competition_id, user, username, now=now)
    return _organizers(competition_id, session, user)


@router.get(
    "/competitions/{competition_id}/audit",
    dependencies=ORGANIZER_ONLY,
    response_model=list[AuditEntryOut],
)
def audit_log(
    competition_id: DbId,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    response: Response,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: QueryOffset = 0,
) -> list[AuditEntryOut]:
    """Every organizer action in this competition, newest first (organizers only).

    A full page carries ``Link: rel="next"`` (the log is not counted: it only grows)."""
    competitions.require_organizer(session, competition_id, user)
    entries = audit.entries(session, competition_id, action=action, limit=limit, offset=offset)
    if len(entries) == limit:
        following = request.url.include_query_params(limit=limit, offset=offset + limit)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return entries


# --- Phases ---------------------------------------------------------------------------------


def _phase_out(phase: Any, now: NowDep) -> OrganizerPhaseOut:
    return organizer_phase_out(phase, now=now)


@router.post(
    "/competitions/{competition_id}/phases",
    dependencies=ORGANIZER_ONLY,
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizerPhaseOut,
)
def create_phase(
    competition_id: DbId, body: PhaseSettings, session: SessionDep, user: CurrentUser, now: NowDep
) -> OrganizerPhaseOut:
    """Add a phase with its test set, dates, limits, split and leaderboard settings."""
    phase = phases.create_phase(
        session, competition_id, user, body.model_dump(exclude_unset=True), now=now
    )
    return _phase_out(phase, now)


@router.get(
    "/phases/{phase_id}/settings", dependencies=ORGANIZER_ONLY, response_model=OrganizerPhaseOut
)
def phase_settings(
    phase_id: DbId, session: SessionDep, user: CurrentUser, now: NowDep
) -> OrganizerPhaseOut:
    """Every setting of a phase, as its organizers see them."""
    return _phase_out(phases.require_organized(session, phase_id, user), now)


@router.patch("/phases/{phase_id}", dependencies=ORGANIZER_ONLY, response_model=OrganizerPhaseOut)
def update_phase(
    phase_id: DbId, body: PhasePatch, session: SessionDep, user: CurrentUser, now: NowDep
) -> OrganizerPhaseOut:
    """Change some settings of a phase; setting testset_id re-points it to another version."""
    phase = phases.update_phase(
        session, phase_id, user, body.model_dump(exclude_unset=True), now=now
    )
    return _phase_out(phase, now)


@router.post(
    "/phases/{phase_id}/reveal", dependencies=ORGANIZER_ONLY, response_model=OrganizerPhaseOut
)
def reveal(
    phase_id: DbId, session: SessionDep, user: CurrentUser, now: NowDep
) -> OrganizerPhaseOut:
    """Publish the private leaderboard and everyone's private-split scores."""
    return _phase_out(phases.reveal_private(session, phase_id, user, now=now), now)


@router.post(
    "/phases/{phase_id}/rescore",
    dependencies=ORGANIZER_ONLY,
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RescoreOut,
)
def rescore_phase(
    phase_id: DbId,
    session: SessionDep,
    jobs: JobsDep,
    user: CurrentUser,
    now: NowDep,
    after_commit: BackgroundTasks,
    body: RescoreIn | None = None,
) -> RescoreOut:
    """Re-run every finished submission (optionally on another test set); returns the report."""
    body = body or RescoreIn()
    run, pending = rescore.rescore_phase(
        session,
        phase_id,
        user,
        now=now,
        testset_id=body.testset_id,
        include_failed=body.include_failed,
    )
    # Background tasks run after the request's session has committed, so no job can start
    # before the submissions it is to score are visible to it.
    after_commit.add_task(rescore.dispatch, jobs, pending)
    return RescoreOut.model_validate(rescore.report(session, run).to_dict())


@router.get(
    "/phases/{phase_id}/rescores",
    dependencies=ORGANIZER_ONLY,
    response_model=list[RescoreOut],
    responses={200: {"headers": PAGE_HEADERS}},
)
def list_rescores(
    phase_id: DbId, session: SessionDep, user: CurrentUser, page: PageDep, response: Response
) -> list[RescoreOut]:
    """A phase's re-scorings with their reports, newest first."""
    runs = page.apply(rescore.list_rescores(session, phase_id, user), response)
    return [RescoreOut.model_validate(rescore.report(session, run).to_dict()) for run in runs]


@router.get("/rescores/{rescore_id}", dependencies=ORGANIZER_ONLY, response_model=RescoreOut)
def get_rescore(rescore_id: DbId, session: SessionDep, user: CurrentUser) -> RescoreOut:
    """What a re-scoring changed: per submission, old and new scores and leaderboard positions."""
    run = rescore.get_rescore(session, rescore_id, user)
    return RescoreOut.model_validate(rescore.report(session, run).to_dict())


# --- Starting kits and sample submissions -----------------------------------------------------

KitKind = Literal["starting_kit", "sample_submission"]


def _kit_out(phase_file: Any) -> KitOut:
    return KitOut(
        kind=phase_file.kind,
        filename=phase_file.filename,
        size_bytes=phase_file.size_bytes,
        created_at=phase_file.created_at,
        url=f"/api/v1/phases/{phase_file.phase_id}/files/{phase_file.kind}",
    )


@router.get(
    "/phases/{phase_id}/files",
    response_model=list[KitOut],
    responses={200: {"headers": PAGE_HEADERS}},
)
def list_kits(
    phase_id: DbId, session: SessionDep, page: PageDep, response: Response
) -> list[KitOut]:
    """The phase's starting kit and sample submission, when uploaded."""
    return [_kit_out(f) for f in page.apply(kits.list_kits(session, phase_id), response)]


@router.get("/phases/{phase_id}/files/{kind}", response_class=FileResponse)
def download_kit(
    phase_id: DbId, kind: KitKind, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """Download the starting kit or the sample submission."""
    phase_file = kits.get_kit(session, phase_id, kind)
    return stored_file_response(kits.kit_path(settings, phase_file), phase_file.filename)


@router.put(
    "/phases/{phase_id}/files/{kind}",
    dependencies=ORGANIZER_ONLY,
    status_code=status.HTTP_201_CREATED,
    response_model=KitOut,
)
def upload_kit(
    phase_id: DbId,
    kind: KitKind,
    file: Annotated[UploadFile, File()],
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    now: NowDep,
) -> KitOut:
    """Upload (or replace) the starting kit or the sample submission."""
    phase_file = kits.upload_kit(
        session,
        settings,
        phase_id,
        user,
        kind=kind,
        upload=Upload(file.filename or f"{kind}.zip", file.file),
        now=now,
    )
    return _kit_out(phase_file)


@router.delete(
    "/phases/{phase_id}/files/{kind}",
    dependencies=ORGANIZER_ONLY,
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_kit(
    phase_id: DbId,
    kind: KitKind,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    now: NowDep,
) -> Response:
    """Withdraw the starting kit or the sample submission."""
    kits.delete_kit(session, settings, phase_id, user, kind=kind, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
