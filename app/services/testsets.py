"""Hidden test sets: upload and import into the data directory, who may see and use one,
load labels, split public/private.

``require_visible`` is the one access check for reading a test set's record; ``require_usable``
the one for attaching it to a phase.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Forbidden, InvalidInput, InvalidTestSet, NotFound
from app.models import CompetitionOrganizer, Phase, Role, TestSetVersion, User
from app.phase_settings import IMAGE_SIZE_OUT_OF_RANGE, whole_number
from app.services import audit
from app.services.submissions import Upload
from app.storage import remove_tree, safe_filename, save_stream
from scoring.errors import ScoringError
from scoring.groups import ATTRIBUTES
from scoring.splits import public_mask
from scoring.testset import TestSet, import_testset, read_labels

TESTSET_NOT_FOUND = "test set {id} not found"
TESTSET_NOT_AVAILABLE = (
    "test set {id} was uploaded by someone who does not organize this competition; "
    "upload it yourself or ask an admin"
)
CANNOT_UPLOAD_TESTSET = "only users with the organizer or admin role can upload test sets"
LABELS_CHANGED = "stored labels at {path} do not match fingerprint {fingerprint}"
MIN_IMAGE_SIDE, MAX_IMAGE_SIDE = 8, 1024

_cache_lock = threading.Lock()


def testset_dir(settings: Settings, testset: TestSetVersion) -> Path:
    return settings.testsets_dir / testset.storage_key


def images_path(settings: Settings, testset: TestSetVersion) -> Path:
    return testset_dir(settings, testset) / "images.npy"


def images_for_size(settings: Settings, testset: TestSetVersion, size: tuple[int, int]) -> Path:
    """The test set's images at ``size`` (H, W): the stored array, or a resized copy built once."""
    stored = images_path(settings, testset)
    if size == (testset.image_height, testset.image_width):
        return stored
    height, width = size
    resized = testset_dir(settings, testset) / f"images_{height}x{width}.npy"
    if resized.exists():
        return resized
    source = np.load(stored, mmap_mode="r")
    # Concurrent builders each write their own temporary file; the atomic replace means a
    # reader only ever sees a complete array, and the last writer's identical copy wins.
    fd, temporary = tempfile.mkstemp(prefix=f".{resized.name}.", suffix=".tmp", dir=resized.parent)
    os.close(fd)
    try:
        out = np.lib.format.open_memmap(
            temporary, mode="w+", dtype=np.uint8, shape=(len(source), height, width, 3)
        )
        for index, image in enumerate(source):
            # The resampling the import uses, so a resized copy looks like an import at that size.
            out[index] = np.asarray(
                Image.fromarray(np.asarray(image), "RGB").resize(
                    (width, height), Image.Resampling.BILINEAR
                ),
                dtype=np.uint8,
            )
        out.flush()
        del out  # close the memory map before the rename
        os.replace(temporary, resized)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return resized


def import_into_store(
    session: Session,
    settings: Settings,
    source: Path,
    *,
    name: str,
    created_by: User | None,
    image_size: tuple[int, int] = (224, 224),
    is_synthetic: bool = False,
) -> TestSetVersion:
    """Validate and import a test set (folder or zip, any layout) and record it."""
    storage_key = uuid.uuid4().hex
    dest = settings.testsets_dir / storage_key
    settings.testsets_dir.mkdir(parents=True, exist_ok=True)
    try:
        report = import_testset(
            source, dest, image_size=image_size, max_total_bytes=settings.max_testset_upload_bytes
        )
    except ScoringError as exc:
        raise InvalidTestSet(str(exc)) from exc
    try:
        testset = TestSetVersion(
            name=name.strip()[:200] or "test set",
            fingerprint=report.fingerprint,
            layout=report.layout,
            n_items=report.n_items,
            image_height=report.image_size[0],
            image_width=report.image_size[1],
            storage_key=storage_key,
            report=report.to_dict(),
            is_synthetic=is_synthetic or report.synthetic,
            created_by_id=created_by.id if created_by else None,
        )
        session.add(testset)
        session.flush()
    except BaseException:
        remove_tree(dest)
        raise
    return testset


def get_testset(session: Session, testset_id: int) -> TestSetVersion:
    testset = session.get(TestSetVersion, testset_id)
    if testset is None:
        raise NotFound(TESTSET_NOT_FOUND.format(id=testset_id))
    return testset


def _organized_by(actor: User) -> Any:
    """The ids of the competitions ``actor`` organizes, as a subquery."""
    return select(CompetitionOrganizer.competition_id).where(
        CompetitionOrganizer.user_id == actor.id
    )


def _shared_with(session: Session, testset: TestSetVersion, competitions: Any) -> bool:
    """Uploaded by an organizer of, or already used by a phase of, one of ``competitions``."""
    co_organizer = testset.created_by_id is not None and session.scalar(
        select(
            exists().where(
                CompetitionOrganizer.competition_id.in_(competitions),
                CompetitionOrganizer.user_id == testset.created_by_id,
            )
        )
    )
    in_use = session.scalar(
        select(
            exists().where(Phase.competition_id.in_(competitions), Phase.testset_id == testset.id)
        )
    )
    return bool(co_organizer or in_use)


def require_visible(session: Session, testset_id: int, actor: User) -> TestSetVersion:
    """A test set's record for its uploader, admins and the organizers it is shared with.

    Anyone else gets the same 404 as for a missing id: names, fingerprints and group sizes are
    the uploader's business.
    """
    testset = session.get(TestSetVersion, testset_id)
    if testset is None or not actor.can_create_competitions:
        raise NotFound(TESTSET_NOT_FOUND.format(id=testset_id))
    if actor.role == Role.ADMIN or testset.created_by_id == actor.id:
        return testset
    if _shared_with(session, testset, _organized_by(actor)):
        return testset
    raise NotFound(TESTSET_NOT_FOUND.format(id=testset_id))


def require_usable(
    session: Session, testset_id: int, actor: User, competition_id: int
) -> TestSetVersion:
    """A test set the actor may attach: their own, a co-organizer's, or one already in use here."""
    testset = get_testset(session, testset_id)
    if actor.role == Role.ADMIN or testset.created_by_id == actor.id:
        return testset
    if _shared_with(session, testset, [competition_id]):
        return testset
    raise Forbidden(TESTSET_NOT_AVAILABLE.format(id=testset_id))


def list_testsets(session: Session, actor: User) -> list[TestSetVersion]:
    """The test sets the actor uploaded (admins: all), newest first."""
    if not actor.can_create_competitions:
        return []
    query = select(TestSetVersion).order_by(TestSetVersion.id.desc())
    if actor.role != Role.ADMIN:
        query = query.where(TestSetVersion.created_by_id == actor.id)
    return list(session.scalars(query))


def _image_side(value: Any, field: str) -> int:
    number = whole_number(value)
    if number is None or not MIN_IMAGE_SIDE <= number <= MAX_IMAGE_SIDE:
        raise InvalidInput(
            IMAGE_SIZE_OUT_OF_RANGE.format(
                field=field, low=MIN_IMAGE_SIDE, high=MAX_IMAGE_SIDE, value=value
            ),
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
        testset = import_into_store(
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


@lru_cache(maxsize=16)
def _load_labels(labels_path: str, fingerprint: str) -> TestSet:
    truth = read_labels(Path(labels_path))
    if truth.fingerprint() != fingerprint:
        raise RuntimeError(LABELS_CHANGED.format(path=labels_path, fingerprint=fingerprint))
    return truth


def load_truth(settings: Settings, testset: TestSetVersion) -> TestSet:
    """The hidden labels of a stored test set, cached per process."""
    with _cache_lock:
        return _load_labels(str(testset_dir(settings, testset) / "labels.csv"), testset.fingerprint)


@dataclass(frozen=True)
class SplitItems:
    """A test set's public and private items: their labels and their indices (read-only)."""

    public: TestSet
    public_index: npt.NDArray[np.intp]
    private: TestSet
    private_index: npt.NDArray[np.intp]


@lru_cache(maxsize=64)
def _split_items(labels_path: str, fingerprint: str, fraction: float, seed: int) -> SplitItems:
    truth = _load_labels(labels_path, fingerprint)
    mask = public_mask({a.name: truth.group_codes(a.name) for a in ATTRIBUTES}, fraction, seed=seed)
    public_index, private_index = np.flatnonzero(mask), np.flatnonzero(~mask)
    for index in (public_index, private_index):
        index.setflags(write=False)
    return SplitItems(
        truth.subset(public_index), public_index, truth.subset(private_index), private_index
    )


def split_items(
    settings: Settings, testset: TestSetVersion, fraction: float, seed: int
) -> SplitItems:
    """Both splits' labels and indices, cached per process (a subset re-derives every group
    code: about 1 ms each for 1,978 items, on every upload)."""
    with _cache_lock:
        return _split_items(
            str(testset_dir(settings, testset) / "labels.csv"), testset.fingerprint, fraction, seed
        )
