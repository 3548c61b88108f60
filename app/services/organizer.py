"""Running a competition: competitions, phases and their rules, co-organizers, test-set uploads,
and revealing the private leaderboard. Every change is recorded in the audit log."""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.models import (
    Competition,
    CompetitionOrganizer,
    EntrySelection,
    Phase,
    Role,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    TestSetVersion,
    TiePolicy,
    User,
)
from app.presenters import phase_dict
from app.services import audit, competitions, testsets
from app.services.submissions import Upload
from app.storage import remove_tree, safe_filename, save_stream
from scoring.groups import SCORE_NAMES

TITLE_REQUIRED = "the title must not be empty"
TITLE_TOO_LONG = "the title must be at most 200 characters (got {length})"
NAME_REQUIRED = "the phase name must not be empty"
NAME_TOO_LONG = "the phase name must be at most 100 characters (got {length})"
CLOSES_BEFORE_OPENS = "closes_at ({closes}) must be later than opens_at ({opens})"
LIMIT_NOT_POSITIVE = "{field} must be at least 1, or empty for no limit (got {value!r})"
POSITIVE_REQUIRED = "{field} must be a whole number of at least 1 (got {value!r})"
FRACTION_OUT_OF_RANGE = (
    "public_fraction must be between 0 and 1 (exclusive), or empty for no private split "
    "(got {value!r})"
)
KINDS_EMPTY = "submission_kinds must name at least one of: predictions, model"
UNKNOWN_KIND = "unknown submission kind {kind!r}; expected predictions or model"
UNKNOWN_CHOICE = "{field} must be one of: {choices} (got {value!r})"
PREDICTIONS_NEED_INPUTS = (
    "a phase that accepts only prediction files must publish its test inputs "
    "(set inputs_public, or also accept models)"
)
SPLIT_FROZEN = (
    "the public/private split of phase {phase!r} cannot change once it has submissions "
    "(public_fraction and split_seed are fixed)"
)
UNKNOWN_FIELD = "unknown phase setting {field!r}"
TESTSET_NOT_AVAILABLE = (
    "test set {id} was uploaded by someone who does not organize this competition; "
    "upload it yourself or ask an admin"
)
TESTSET_NOT_FOUND = "test set {id} not found"
CANNOT_UPLOAD_TESTSET = "only users with the organizer or admin role can upload test sets"
IMAGE_SIZE_OUT_OF_RANGE = "{field} must be between {low} and {high} pixels (got {value!r})"
MODEL_INPUT_SIZE_INCOMPLETE = (
    "model_input_height and model_input_width go together: give both, or neither for the "
    "test set's stored image size"
)
NO_SUCH_USER = "no user named {username!r}"
ALREADY_ORGANIZER = "{username!r} already organizes this competition"
PARTICIPANT_CANNOT_ORGANIZE = (
    "{username!r} participates in this competition; a participant cannot also organize it"
)
NOT_AN_ORGANIZER = "{username!r} does not organize this competition"
LAST_ORGANIZER = (
    "a competition needs at least one organizer; add another before removing {username!r}"
)
NO_PRIVATE_SPLIT = "phase {phase!r} has no private split (public_fraction is not set)"

MIN_IMAGE_SIDE, MAX_IMAGE_SIDE = 8, 1024
MIN_MODEL_INPUT_SIDE, MAX_MODEL_INPUT_SIDE = 16, 1024
EXECUTION_PROVIDERS = ("auto", "cpu", "cuda")

PHASE_FIELDS: tuple[str, ...] = (
    "name",
    "description",
    "testset_id",
    "opens_at",
    "closes_at",
    "daily_limit",
    "total_limit",
    "public_fraction",
    "split_seed",
    "inputs_public",
    "leaderboard_public",
    "entry_selection",
    "primary_column",
    "tie_policy",
    "submission_kinds",
    "execution_provider",
    "model_time_limit_seconds",
    "model_memory_limit_mb",
    "model_input_height",
    "model_input_width",
)
"""Every phase setting an organizer may give when creating a phase or change later."""

PHASE_DEFAULTS: dict[str, Any] = {
    "description": "",
    "testset_id": None,
    "opens_at": None,
    "closes_at": None,
    "daily_limit": 5,
    "total_limit": None,
    "public_fraction": None,
    "inputs_public": True,
    "leaderboard_public": True,
    "entry_selection": EntrySelection.LATEST.value,
    "primary_column": "mae",
    "tie_policy": TiePolicy.DENSE.value,
    "submission_kinds": [SubmissionKind.PREDICTIONS.value],
    "execution_provider": "auto",
    "model_time_limit_seconds": 900,
    "model_memory_limit_mb": 4096,
    "model_input_height": None,
    "model_input_width": None,
}


# --- Competitions ---------------------------------------------------------------------------


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput(TITLE_REQUIRED, field="title")
    if len(title) > 200:
        raise InvalidInput(TITLE_TOO_LONG.format(length=len(title)), field="title")
    return title


def create_competition(
    session: Session, actor: User, *, title: str, description: str = "", now: datetime
) -> Competition:
    """A new competition organized by its creator (organizer or admin role only)."""
    competition = competitions.create_competition(
        session, actor, title=_clean_title(title), description=description or ""
    )
    audit.record(
        session,
        actor,
        "competition.create",
        competition_id=competition.id,
        target=f"competition {competition.id}",
        now=now,
        title=competition.title,
    )
    return competition


def update_competition(
    session: Session,
    competition_id: int,
    actor: User,
    changes: Mapping[str, Any],
    *,
    now: datetime,
) -> Competition:
    """Change a competition's title or description (its organizers only)."""
    competition = competitions.get_competition(session, competition_id)
    competitions.require_organizer(session, competition.id, actor)
    changed: dict[str, Any] = {}
    if "title" in changes and changes["title"] is not None:
        title = _clean_title(changes["title"])
        if title != competition.title:
            changed["title"] = {"from": competition.title, "to": title}
            competition.title = title
    if "description" in changes and changes["description"] is not None:
        description = str(changes["description"])
        if description != competition.description:
            changed["description"] = {"changed": True}
            competition.description = description
    session.flush()
    if changed:
        audit.record(
            session,
            actor,
            "competition.update",
            competition_id=competition.id,
            target=f"competition {competition.id}",
            now=now,
            changes=changed,
        )
    return competition


# --- Phases ---------------------------------------------------------------------------------


def _utc(value: Any, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"{field} must be a date and time such as 2026-03-01T09:00 (got {value!r})",
                field=field,
            ) from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be a date and time (got {value!r})", field=field)
    # Times without a zone are read as UTC, the zone every page shows.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _limit(values: dict[str, Any], field: str) -> int | None:
    value = values[field]
    if value is None or value == "":
        return None
    number = _whole(value)
    if number is None or number < 1:
        raise InvalidInput(LIMIT_NOT_POSITIVE.format(field=field, value=value), field=field)
    return number


def _positive(values: dict[str, Any], field: str) -> int:
    value = values[field]
    number = _whole(value)
    if number is None or number < 1:
        raise InvalidInput(POSITIVE_REQUIRED.format(field=field, value=value), field=field)
    return number


def _choice(values: dict[str, Any], field: str, choices: tuple[str, ...]) -> str:
    value = values[field]
    text = value.value if isinstance(value, EntrySelection | TiePolicy) else value
    if text not in choices:
        raise InvalidInput(
            UNKNOWN_CHOICE.format(field=field, choices=", ".join(choices), value=value),
            field=field,
        )
    return str(text)


def _fraction(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        fraction = math.nan
    if isinstance(value, bool) or not math.isfinite(fraction) or not 0.0 < fraction < 1.0:
        raise InvalidInput(FRACTION_OUT_OF_RANGE.format(value=value), field="public_fraction")
    return fraction


def _kinds(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    kinds: list[str] = []
    for kind in value or []:
        text = kind.value if isinstance(kind, SubmissionKind) else str(kind).strip().lower()
        if text not in (SubmissionKind.PREDICTIONS.value, SubmissionKind.MODEL.value):
            raise InvalidInput(UNKNOWN_KIND.format(kind=kind), field="submission_kinds")
        if text not in kinds:
            kinds.append(text)
    if not kinds:
        raise InvalidInput(KINDS_EMPTY, field="submission_kinds")
    return kinds


def _model_input_size(values: dict[str, Any]) -> tuple[int | None, int | None]:
    """The phase's own model input size, (None, None) for the test set's stored size."""
    sides = {
        field: None
        if values[field] is None or values[field] == ""
        else _image_side(values[field], field, low=MIN_MODEL_INPUT_SIDE, high=MAX_MODEL_INPUT_SIDE)
        for field in ("model_input_height", "model_input_width")
    }
    height, width = sides["model_input_height"], sides["model_input_width"]
    if (height is None) != (width is None):
        missing = "model_input_width" if width is None else "model_input_height"
        raise InvalidInput(MODEL_INPUT_SIZE_INCOMPLETE, field=missing)
    return height, width


def validate_phase_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check a complete set of phase settings; return them normalised, or raise InvalidInput."""
    unknown = sorted(set(values) - set(PHASE_FIELDS))
    if unknown:
        raise InvalidInput(UNKNOWN_FIELD.format(field=unknown[0]), field=unknown[0])
    merged = PHASE_DEFAULTS | dict(values)
    name = str(merged.get("name") or "").strip()
    if not name:
        raise InvalidInput(NAME_REQUIRED, field="name")
    if len(name) > 100:
        raise InvalidInput(NAME_TOO_LONG.format(length=len(name)), field="name")
    opens_at = _utc(merged["opens_at"], "opens_at")
    closes_at = _utc(merged["closes_at"], "closes_at")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise InvalidInput(
            CLOSES_BEFORE_OPENS.format(closes=closes_at.isoformat(), opens=opens_at.isoformat()),
            field="closes_at",
        )
    kinds = _kinds(merged["submission_kinds"])
    inputs_public = bool(merged["inputs_public"])
    if kinds == [SubmissionKind.PREDICTIONS.value] and not inputs_public:
        raise InvalidInput(PREDICTIONS_NEED_INPUTS, field="inputs_public")
    testset_id = merged["testset_id"]
    if testset_id is not None and _whole(testset_id) is None:
        raise InvalidInput(TESTSET_NOT_FOUND.format(id=testset_id), field="testset_id")
    cleaned: dict[str, Any] = {
        "name": name,
        "description": str(merged["description"] or ""),
        "testset_id": None if testset_id is None else _whole(testset_id),
        "opens_at": opens_at,
        "closes_at": closes_at,
        "daily_limit": _limit(merged, "daily_limit"),
        "total_limit": _limit(merged, "total_limit"),
        "public_fraction": _fraction(merged["public_fraction"]),
        "inputs_public": inputs_public,
        "leaderboard_public": bool(merged["leaderboard_public"]),
        "entry_selection": EntrySelection(
            _choice(merged, "entry_selection", tuple(e.value for e in EntrySelection))
        ),
        "primary_column": _choice(merged, "primary_column", SCORE_NAMES),
        "tie_policy": TiePolicy(_choice(merged, "tie_policy", tuple(t.value for t in TiePolicy))),
        "submission_kinds": kinds,
        "execution_provider": _choice(merged, "execution_provider", EXECUTION_PROVIDERS),
        "model_time_limit_seconds": _positive(merged, "model_time_limit_seconds"),
        "model_memory_limit_mb": _positive(merged, "model_memory_limit_mb"),
    }
    cleaned["model_input_height"], cleaned["model_input_width"] = _model_input_size(merged)
    if merged.get("split_seed") is not None:
        seed = _whole(merged["split_seed"])
        if seed is None or seed < 0:
            raise InvalidInput(
                f"split_seed must be a whole number of at least 0 (got {merged['split_seed']!r})",
                field="split_seed",
            )
        cleaned["split_seed"] = seed
    return cleaned


def _require_usable_testset(
    session: Session, testset_id: int, actor: User, competition_id: int
) -> TestSetVersion:
    """A test set the actor may attach: their own, a co-organizer's, or one already in use here."""
    testset = session.get(TestSetVersion, testset_id)
    if testset is None:
        raise NotFound(TESTSET_NOT_FOUND.format(id=testset_id))
    if actor.role == Role.ADMIN or testset.created_by_id == actor.id:
        return testset
    uploaded_by_co_organizer = testset.created_by_id is not None and session.scalar(
        select(func.count()).where(
            CompetitionOrganizer.competition_id == competition_id,
            CompetitionOrganizer.user_id == testset.created_by_id,
        )
    )
    already_in_use = session.scalar(
        select(func.count()).where(
            Phase.competition_id == competition_id, Phase.testset_id == testset_id
        )
    )
    if uploaded_by_co_organizer or already_in_use:
        return testset
    raise Forbidden(TESTSET_NOT_AVAILABLE.format(id=testset_id))


def create_phase(
    session: Session,
    competition_id: int,
    actor: User,
    settings: Mapping[str, Any],
    *,
    now: datetime,
) -> Phase:
    """Append a phase with validated settings; its split seed is random unless given."""
    competition = competitions.get_competition(session, competition_id)
    competitions.require_organizer(session, competition.id, actor)
    cleaned = validate_phase_settings(settings)
    if cleaned["testset_id"] is not None:
        _require_usable_testset(session, cleaned["testset_id"], actor, competition.id)
    # A random seed: the split must not be reproducible from the open-source code alone.
    cleaned.setdefault("split_seed", secrets.randbelow(2**31))
    phase = competitions.add_phase(session, competition, **cleaned)
    audit.record(
        session,
        actor,
        "phase.create",
        competition_id=competition.id,
        target=f"phase {phase.id}",
        now=now,
        settings={k: v for k, v in cleaned.items() if k not in ("description", "split_seed")},
    )
    return competitions.get_phase(session, phase.id)


def _has_submissions(session: Session, phase_id: int) -> bool:
    return bool(
        session.scalar(select(func.count()).where(Submission.phase_id == phase_id).limit(1))
    )


def update_phase(
    session: Session, phase_id: int, actor: User, changes: Mapping[str, Any], *, now: datetime
) -> Phase:
    """Change some of a phase's settings; the whole result is validated as one."""
    phase = competitions.get_phase(session, phase_id)
    competitions.require_organizer(session, phase.competition_id, actor)
    current = {field: getattr(phase, field) for field in PHASE_FIELDS}
    cleaned = validate_phase_settings(current | dict(changes))
    diff = {
        field: {"from": current[field], "to": cleaned[field]}
        for field in PHASE_FIELDS
        if field in cleaned and cleaned[field] != current[field]
    }
    if ("public_fraction" in diff or "split_seed" in diff) and _has_submissions(session, phase.id):
        raise Conflict(SPLIT_FROZEN.format(phase=phase.name))
    if "testset_id" in diff and cleaned["testset_id"] is not None:
        _require_usable_testset(session, cleaned["testset_id"], actor, phase.competition_id)
    for field in diff:
        setattr(phase, field, cleaned[field])
    if "testset_id" in diff:
        # Submissions still waiting in the queue are scored on the version the phase now uses.
        session.execute(
            update(Submission)
            .where(Submission.phase_id == phase.id, Submission.status == SubmissionStatus.QUEUED)
            .values(testset_id=cleaned["testset_id"])
        )
    session.flush()
    if diff:
        if "description" in diff:
            diff["description"] = {"changed": True}
        if "split_seed" in diff:
            diff["split_seed"] = {"changed": True}
        action = "phase.repoint" if set(diff) == {"testset_id"} else "phase.update"
        audit.record(
            session,
            actor,
            action,
            competition_id=phase.competition_id,
            target=f"phase {phase.id}",
            now=now,
            changes=diff,
        )
    session.expire(phase)
    return competitions.get_phase(session, phase.id)


def reveal_private(session: Session, phase_id: int, actor: User, *, now: datetime) -> Phase:
    """Publish a phase's private leaderboard; revealing twice changes nothing."""
    phase = competitions.get_phase(session, phase_id)
    competitions.require_organizer(session, phase.competition_id, actor)
    if phase.public_fraction is None:
        raise Conflict(NO_PRIVATE_SPLIT.format(phase=phase.name))
    if phase.private_revealed_at is None:
        phase.private_revealed_at = now
        session.flush()
        audit.record(
            session,
            actor,
            "phase.reveal",
            competition_id=phase.competition_id,
            target=f"phase {phase.id}",
            now=now,
        )
    return phase


# --- Co-organizers --------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganizerView:
    username: str
    role: str
    added_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "role": self.role, "added_at": self.added_at.isoformat()}


def list_organizers(session: Session, competition_id: int, actor: User) -> list[OrganizerView]:
    """The organizers of a competition, earliest first (organizers only)."""
    competitions.require_organizer(session, competition_id, actor)
    rows = session.execute(
        select(User.username, User.role, CompetitionOrganizer.added_at)
        .join(User, User.id == CompetitionOrganizer.user_id)
        .where(CompetitionOrganizer.competition_id == competition_id)
        .order_by(CompetitionOrganizer.added_at, CompetitionOrganizer.id)
    )
    return [OrganizerView(name, role.value, added) for name, role, added in rows]


def _user_named(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(NO_SUCH_USER.format(username=username.strip()))
    return user


def add_organizer(
    session: Session, competition_id: int, actor: User, username: str, *, now: datetime
) -> User:
    """Make an existing user a co-organizer of this competition."""
    competition = competitions.get_competition(session, competition_id)
    competitions.require_organizer(session, competition.id, actor)
    user = _user_named(session, username)
    if session.scalar(
        select(CompetitionOrganizer.id).where(
            CompetitionOrganizer.competition_id == competition.id,
            CompetitionOrganizer.user_id == user.id,
        )
    ):
        raise Conflict(ALREADY_ORGANIZER.format(username=user.username))
    # An organizer sees private scores; someone who competes must not.
    if competitions.get_participation(session, competition.id, user.id) is not None:
        raise Conflict(PARTICIPANT_CANNOT_ORGANIZE.format(username=user.username))
    session.add(CompetitionOrganizer(competition_id=competition.id, user_id=user.id, added_at=now))
    session.flush()
    audit.record(
        session,
        actor,
        "organizer.add",
        competition_id=competition.id,
        target=f"user {user.username}",
        now=now,
    )
    return user


def remove_organizer(
    session: Session, competition_id: int, actor: User, username: str, *, now: datetime
) -> None:
    """Remove a co-organizer; the last organizer stays."""
    competitions.require_organizer(session, competition_id, actor)
    user = _user_named(session, username)
    link = session.scalar(
        select(CompetitionOrganizer).where(
            CompetitionOrganizer.competition_id == competition_id,
            CompetitionOrganizer.user_id == user.id,
        )
    )
    if link is None:
        raise NotFound(NOT_AN_ORGANIZER.format(username=user.username))
    count = session.scalar(
        select(func.count()).where(CompetitionOrganizer.competition_id == competition_id)
    )
    if (count or 0) <= 1:
        raise Conflict(LAST_ORGANIZER.format(username=user.username))
    session.delete(link)
    session.flush()
    audit.record(
        session,
        actor,
        "organizer.remove",
        competition_id=competition_id,
        target=f"user {user.username}",
        now=now,
    )


def organized_competitions(session: Session, user: User) -> list[Competition]:
    """The competitions a user organizes (admins: all), newest first."""
    if user.role == Role.ADMIN:
        return competitions.list_competitions(session)
    organized = set(
        session.scalars(
            select(CompetitionOrganizer.competition_id).where(
                CompetitionOrganizer.user_id == user.id
            )
        )
    )
    return [c for c in competitions.list_competitions(session) if c.id in organized]


# --- Test sets ------------------------------------------------------------------------------


def _image_side(
    value: Any, field: str, *, low: int = MIN_IMAGE_SIDE, high: int = MAX_IMAGE_SIDE
) -> int:
    number = _whole(value)
    if number is None or not low <= number <= high:
        raise InvalidInput(
            IMAGE_SIZE_OUT_OF_RANGE.format(field=field, low=low, high=high, value=value),
            field=field,
        )
    return number


def upload_testset(
    session: Session,
    settings: Settings,
    actor: User,
    upload: Upload,
    *,
    name: str = "",
    image_height: int | str = 224,
    image_width: int | str = 224,
    now: datetime,
) -> TestSetVersion:
    """Stream an uploaded test set (a zip in any layout) to disk, validate and import it.

    The upload is written chunk by chunk under its own folder in the uploads area, which is
    removed afterwards whatever happens; a failed import leaves nothing under the test sets.
    """
    if not actor.can_create_competitions:
        raise Forbidden(CANNOT_UPLOAD_TESTSET)
    size = (_image_side(image_height, "image_height"), _image_side(image_width, "image_width"))
    filename = safe_filename(upload.filename, default="testset.zip")
    folder = settings.uploads_dir / f"testset-{uuid.uuid4().hex}"
    try:
        stored = save_stream(
            upload.stream,
            folder / filename,
            limit=settings.max_testset_upload_bytes,
            what="the test set upload",
        )
        default_name = filename.rsplit(".", 1)[0] if "." in filename else filename
        testset = testsets.import_into_store(
            session,
            settings,
            stored.path,
            name=name.strip() or default_name,
            created_by=actor,
            image_size=size,
        )
    finally:
        remove_tree(folder)
    audit.record(
        session,
        actor,
        "testset.upload",
        competition_id=None,
        target=f"test set {testset.id}",
        now=now,
        fingerprint=testset.fingerprint,
        n_items=testset.n_items,
        layout=testset.layout,
        sha256=stored.sha256,
        size_bytes=stored.size_bytes,
    )
    return testset


def get_testset(session: Session, testset_id: int, actor: User) -> TestSetVersion:
    """A test set's record for organizers and admins; others get the same 404 as a missing id."""
    testset = session.get(TestSetVersion, testset_id)
    if testset is None or not actor.can_create_competitions:
        raise NotFound(TESTSET_NOT_FOUND.format(id=testset_id))
    return testset


def list_testsets(session: Session, actor: User) -> list[TestSetVersion]:
    """The test sets the actor uploaded (admins: all), newest first."""
    if not actor.can_create_competitions:
        return []
    query = select(TestSetVersion).order_by(TestSetVersion.id.desc())
    if actor.role != Role.ADMIN:
        query = query.where(TestSetVersion.created_by_id == actor.id)
    return list(session.scalars(query))


def testset_dict(testset: TestSetVersion) -> dict[str, Any]:
    """What an organizer sees of a test set: the import report, never the labels."""
    report = testset.report or {}
    return {
        "id": testset.id,
        "name": testset.name,
        "fingerprint": testset.fingerprint,
        "layout": testset.layout,
        "n_items": testset.n_items,
        "image_size": [testset.image_height, testset.image_width],
        "group_sizes": report.get("group_sizes", {}),
        "source_image_sizes": report.get("source_image_sizes", {}),
        "is_synthetic": testset.is_synthetic,
        "created_at": testset.created_at.isoformat(),
    }


def phase_settings_dict(phase: Phase, *, now: datetime) -> dict[str, Any]:
    """A phase with the settings only its organizers see (split seed, model limits...)."""
    return phase_dict(phase, now=now) | {
        "competition_id": phase.competition_id,
        "primary_column": phase.primary_column,
        "split_seed": phase.split_seed,
        "private_revealed_at": phase.private_revealed_at,
        "execution_provider": phase.execution_provider,
        "model_time_limit_seconds": phase.model_time_limit_seconds,
        "model_memory_limit_mb": phase.model_memory_limit_mb,
        "model_input_size": None
        if phase.model_input_height is None or phase.model_input_width is None
        else [phase.model_input_height, phase.model_input_width],
        "testset_fingerprint": phase.testset.fingerprint if phase.testset else None,
    }
