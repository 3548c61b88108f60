"""Phases: details, leaderboard and public test inputs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import TypeAdapter

from app.deps import LOGIN_REQUIRED, DbId, NowDep, OptionalUser, SessionDep, SettingsDep
from app.downloads import DOWNLOAD_RESPONSES, stored_file_response
from app.errors import NotAuthenticated
from app.models import Phase, Split, User
from app.presenters import inputs_out, phase_out
from app.routes.api.paging import PAGE_HEADERS, PageDep
from app.routes.conditional import (
    PRIVATE,
    SHARED,
    compress,
    encoded,
    etag_of,
    matches,
    not_modified,
    validators,
)
from app.schema_examples.files import LEADERBOARD_CSV
from app.schemas import ErrorOut, LeaderboardRowOut, PhaseOut
from app.services import (
    board_snapshots,
    competitions,
    exports,
    inputs,
    leaderboard,
    phases,
    teams,
)
from app.services.inputs import InputsKind

router = APIRouter(prefix="/phases", tags=["phases"])
LEADERBOARD_ROWS = TypeAdapter(list[LeaderboardRowOut])
CONDITIONAL_HEADERS = {
    "ETag": {"description": "The board's version; send it as `If-None-Match` to get a 304"},
    "Cache-Control": {
        "description": "`public, no-cache` when anyone may see the board, else `private, no-cache`"
    },
}

INPUTS_RESPONSES: dict[int | str, dict[str, Any]] = DOWNLOAD_RESPONSES | {
    503: {
        "model": ErrorOut,
        "description": "The file is still being built (code `inputs_preparing`); "
        "retry after the `Retry-After` seconds.",
    }
}


@router.get("/{phase_id}", response_model=PhaseOut)
def get_phase(
    phase_id: DbId, session: SessionDep, settings: SettingsDep, user: OptionalUser, now: NowDep
) -> PhaseOut:
    """One phase, with the caller's quota when they have joined, and the test inputs' downloads
    (URL, size, sha256, ready) when the caller may download them."""
    phase = competitions.get_phase(session, phase_id)
    joined = user is not None and competitions.get_participation(
        session, phase.competition_id, user.id
    )
    quota = (
        teams.quota_for(
            session,
            competitions.get_competition(session, phase.competition_id),
            phase,
            user.id,
            now,
        )
        if user and joined
        else None
    )
    shown = phase_out(phase, now=now, quota=quota)
    if inputs.may_download(session, phase, user) and phase.testset is not None:
        shown.inputs = inputs_out(phase.id, inputs.state_of(settings, phase.testset))
    return shown


@router.get(
    "/{phase_id}/leaderboard",
    response_model=list[LeaderboardRowOut],
    summary="A phase's leaderboard",
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}, "example": LEADERBOARD_CSV}},
            "headers": PAGE_HEADERS | CONDITIONAL_HEADERS,
        },
        304: {"description": "Not modified: the `If-None-Match` tag is the board's current one"},
    },
)
def get_leaderboard(
    phase_id: DbId,
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    now: NowDep,
    page: PageDep,
    split: Annotated[Literal["public", "private"], Query()] = "public",
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """The leaderboard of SPEC §6: a JSON list of rows in leaderboard order (or CSV).

    The split, tie policy and entry selection it was built with come as the headers
    ``X-Fairboard-Split``, ``X-Fairboard-Tie-Policy`` and ``X-Fairboard-Entry-Selection``.
    The private split is for organizers until the reveal. ``limit`` and ``offset`` page the
    JSON rows (``X-Total-Count``, ``Link: rel="next"``); the CSV is always the whole board.
    An ``ETag`` names the board's version: ``If-None-Match`` with it answers 304.
    """
    chosen = Split(split)
    # Held until the check below finds it in the session, which keeps loaded rows weakly.
    _pinned, stamp = board_snapshots.read_version(session, phase_id)
    phase = phases.require_leaderboard_visible(session, phase_id, user, chosen, now=now)
    served = board_snapshots.materialised(session, phase, split=chosen, stamp=stamp)
    board = served.board
    described = {
        "X-Fairboard-Split": board.split.value,
        "X-Fairboard-Tie-Policy": board.tie_policy,
        "X-Fairboard-Entry-Selection": board.entry_selection,
    }
    if format == "csv":
        filename = f"leaderboard-phase{phase.id}-{split}.csv"
        described["Content-Disposition"] = f'attachment; filename="{filename}"'
        key: str | None = "csv"
        body = served.memo("csv", lambda: exports.leaderboard_csv(board).encode())
        media_type = "text/csv"
    else:
        rows, paged = page.window(board.rows)
        described |= paged
        # Only the whole list is kept with the board: pages of it are small and numberless.
        key = "json" if page.limit is None and page.offset == 0 else None
        body = served.memo(key, lambda: _rows_json(rows)) if key else _rows_json(rows)
        media_type = "application/json"
    cache = SHARED if leaderboard.is_public(phase, board.split, now=now) else PRIVATE
    etag = (
        served.memo(f"etag:{key}", lambda: etag_of(body, described))
        if key
        else etag_of(body, described)
    )
    if matches(request, etag):
        return not_modified(etag, cache)
    content, encoding = (
        encoded(request, body, lambda: served.memo(f"gzip:{key}", lambda: compress(body)))
        if key
        else (body, {})
    )
    return Response(
        content, media_type=media_type, headers=described | validators(etag, cache) | encoding
    )


def _rows_json(rows: list[leaderboard.LeaderboardRow]) -> bytes:
    return LEADERBOARD_ROWS.dump_json(LEADERBOARD_ROWS.validate_python([r.to_dict() for r in rows]))


def _downloadable(session: SessionDep, phase_id: int, user: User | None) -> Phase:
    """The phase whose inputs the caller may download, or the error saying why not."""
    phase = competitions.get_phase(session, phase_id)
    if user is None:
        raise NotAuthenticated(LOGIN_REQUIRED)
    inputs.require_downloadable(session, phase, user)
    return phase


def _inputs_response(
    session: SessionDep, settings: SettingsDep, phase_id: int, user: User | None, kind: InputsKind
) -> FileResponse:
    phase = _downloadable(session, phase_id, user)
    built = inputs.ready_file(settings, phase, kind)
    filename = f"phase{phase.id}-{built.format.filename}"
    return stored_file_response(built.path, filename, etag=built.etag)


@router.get("/{phase_id}/inputs", response_class=FileResponse, responses=INPUTS_RESPONSES)
def download_inputs(
    phase_id: DbId, session: SessionDep, settings: SettingsDep, user: OptionalUser
) -> FileResponse:
    """The test images without labels (ids.csv, README.txt, images/*.png), when the phase allows.

    Ranges resume a broken download (206, ``If-Range``); ``GET /phases/{id}`` gives its size and
    sha256. While the archive is being built the answer is 503 with ``Retry-After``.
    """
    return _inputs_response(session, settings, phase_id, user, "archive")


@router.get("/{phase_id}/inputs/array", response_class=FileResponse, responses=INPUTS_RESPONSES)
def download_inputs_array(
    phase_id: DbId, session: SessionDep, settings: SettingsDep, user: OptionalUser
) -> FileResponse:
    """The same pixels as one uint8 N x H x W x 3 array in an .npz (``np.load(f)["images"]``)."""
    return _inputs_response(session, settings, phase_id, user, "array")
