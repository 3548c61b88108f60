"""Hidden test sets: import into the data directory, load labels, split public/private."""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import InvalidTestSet, NotFound
from app.models import TestSetVersion, User
from app.storage import remove_tree
from scoring.errors import ScoringError
from scoring.groups import ATTRIBUTES
from scoring.splits import public_mask
from scoring.testset import TestSet, import_testset, read_labels

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
        raise NotFound(f"test set {testset_id} not found")
    return testset


@lru_cache(maxsize=16)
def _load_labels(labels_path: str, fingerprint: str) -> TestSet:
    truth = read_labels(Path(labels_path))
    if truth.fingerprint() != fingerprint:
        raise RuntimeError(f"stored labels at {labels_path} do not match fingerprint {fingerprint}")
    return truth


def load_truth(settings: Settings, testset: TestSetVersion) -> TestSet:
    """The hidden labels of a stored test set, cached per process."""
    with _cache_lock:
        return _load_labels(str(testset_dir(settings, testset) / "labels.csv"), testset.fingerprint)


@lru_cache(maxsize=64)
def _public_mask(
    labels_path: str, fingerprint: str, fraction: float, seed: int
) -> npt.NDArray[np.bool_]:
    truth = _load_labels(labels_path, fingerprint)
    mask = public_mask({a.name: truth.group_codes(a.name) for a in ATTRIBUTES}, fraction, seed=seed)
    mask.setflags(write=False)
    return mask


def split_mask(
    settings: Settings, testset: TestSetVersion, fraction: float, seed: int
) -> npt.NDArray[np.bool_]:
    """The public items of a phase's split (read-only, cached)."""
    with _cache_lock:
        return _public_mask(
            str(testset_dir(settings, testset) / "labels.csv"), testset.fingerprint, fraction, seed
        )
