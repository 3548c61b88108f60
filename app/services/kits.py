"""Starting kits and sample submissions: one of each per phase, uploaded by its organizers and
downloadable by anyone who can see the phase."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import InvalidInput, NotFound
from app.models import PhaseFile, User
from app.services import audit, competitions, phases
from app.services.submissions import Upload
from app.storage import safe_filename, save_stream

KIT_KINDS: tuple[str, ...] = ("starting_kit", "sample_submission")
KIT_LABELS: dict[str, str] = {
    "starting_kit": "Starting kit",
    "sample_submission": "Sample submission",
}
UNKNOWN_KIT_KIND = "kind must be one of: starting_kit, sample_submission (got {kind!r})"
KIT_NOT_FOUND = "phase {phase!r} has no {label} yet"
EMPTY_KIT = "the uploaded file is empty"


def _check_kind(kind: str) -> str:
    if kind not in KIT_KINDS:
        raise InvalidInput(UNKNOWN_KIT_KIND.format(kind=kind), field="kind")
    return kind


def kit_path(settings: Settings, phase_file: PhaseFile) -> Path:
    return settings.data_dir / phase_file.storage_key


def _when_settled(
    session: Session, *, committed: Path | None = None, rolled_back: Path | None = None
) -> None:
    """Delete ``committed`` once the transaction commits, or ``rolled_back`` if it rolls back.

    Files and rows then stay consistent: an old file goes only when its row is gone for good,
    a new file only when its row never arrives.
    """

    settled = False

    def on_commit(_session: Session) -> None:
        nonlocal settled
        if not settled and committed is not None:
            committed.unlink(missing_ok=True)
        settled = True

    def on_rollback(_session: Session) -> None:
        nonlocal settled
        if not settled and rolled_back is not None:
            rolled_back.unlink(missing_ok=True)
        settled = True

    event.listen(session, "after_commit", on_commit)
    event.listen(session, "after_rollback", on_rollback)


def list_kits(session: Session, phase_id: int) -> list[PhaseFile]:
    """A phase's files, starting kit first."""
    competitions.get_phase(session, phase_id)
    files = session.scalars(select(PhaseFile).where(PhaseFile.phase_id == phase_id))
    return sorted(files, key=lambda f: KIT_KINDS.index(f.kind) if f.kind in KIT_KINDS else 9)


def get_kit(session: Session, phase_id: int, kind: str) -> PhaseFile:
    """The phase's file of this kind."""
    phase = competitions.get_phase(session, phase_id)
    _check_kind(kind)
    found = session.scalar(
        select(PhaseFile)
        .where(PhaseFile.phase_id == phase.id, PhaseFile.kind == kind)
        .order_by(PhaseFile.id.desc())
    )
    if found is None:
        raise NotFound(KIT_NOT_FOUND.format(phase=phase.name, label=KIT_LABELS[kind].lower()))
    return found


def upload_kit(
    session: Session,
    settings: Settings,
    phase_id: int,
    actor: User,
    *,
    kind: str,
    upload: Upload,
    now: datetime,
) -> PhaseFile:
    """Store a phase's starting kit or sample submission, replacing the previous one."""
    phase = phases.require_organized(session, phase_id, actor)
    _check_kind(kind)
    filename = safe_filename(upload.filename, default=f"{kind}.zip")
    folder = settings.kits_dir / str(phase.id)
    stored = save_stream(
        upload.stream,
        folder / f"{uuid.uuid4().hex[:12]}-{filename}",
        limit=settings.max_kit_file_bytes,
        what=f"the {KIT_LABELS[kind].lower()}",
    )
    if stored.size_bytes == 0:
        stored.path.unlink(missing_ok=True)
        raise InvalidInput(EMPTY_KIT, field="file")
    _when_settled(session, rolled_back=stored.path)
    previous = session.scalars(
        select(PhaseFile).where(PhaseFile.phase_id == phase.id, PhaseFile.kind == kind)
    ).all()
    for old in previous:
        _when_settled(session, committed=kit_path(settings, old))
        session.delete(old)
    phase_file = PhaseFile(
        phase_id=phase.id,
        kind=kind,
        filename=filename,
        storage_key=str(stored.path.relative_to(settings.data_dir)),
        size_bytes=stored.size_bytes,
        uploaded_by_id=actor.id,
        created_at=now,
    )
    session.add(phase_file)
    session.flush()
    audit.record(
        session,
        actor,
        "kit.upload",
        competition_id=phase.competition_id,
        target=f"phase {phase.id}",
        now=now,
        kind=kind,
        filename=filename,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
    )
    return phase_file


def delete_kit(
    session: Session, settings: Settings, phase_id: int, actor: User, *, kind: str, now: datetime
) -> None:
    """Withdraw a phase's starting kit or sample submission."""
    phase_file = get_kit(session, phase_id, kind)
    phase = phases.require_organized(session, phase_id, actor)
    _when_settled(session, committed=kit_path(settings, phase_file))
    session.delete(phase_file)
    session.flush()
    audit.record(
        session,
        actor,
        "kit.delete",
        competition_id=phase.competition_id,
        target=f"phase {phase.id}",
        now=now,
        kind=kind,
        filename=phase_file.filename,
    )
