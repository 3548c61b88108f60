"""The public test inputs of a test-set version: two files built once, in the background.

``test-inputs.zip`` holds ids.csv, README.txt and images/ (one PNG per item, stored: PNG is
already compressed); ``test-images.npz`` holds the same pixels as one uint8 N x H x W x 3 array
(``np.load(path)["images"]``), an optional second download. Each file is written under a
temporary name, renamed, and then described by a small JSON manifest (bytes, sha256) renamed
next to it: a download is ready once its manifest names a file of that size, so a crash
mid-build leaves no half file anyone can be served. Builds are deterministic (fixed dates in
the zip), so two builders that race without the lock still rename identical bytes.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import logging
import os
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.errors import AppError, Forbidden, NotFound
from app.models import Phase, TestSetVersion, User
from app.services import competitions, testsets
from app.services.submissions import PHASE_HAS_NO_TESTSET
from scoring.testset import read_labels

log = logging.getLogger("fairboard.inputs")

LAYOUT = 2
"""Bumped whenever the files' contents change, so that start-up rebuilds older ones."""
PNG_COMPRESS_LEVEL = 6
"""zlib level of the PNGs, the knee of bench/bench_inputs.py's curve on the 1,978 synthetic
224 x 224 images: level 1 93 MB in ~9 s, 3 79 MB in ~12 s, 6 65 MB in 28-52 s, 9 62 MB in
~290 s, ``optimize`` 60 MB in ~360 s. Built once per version in the background, so 6."""
ZIP_DATE = (2026, 1, 1, 0, 0, 0)
RETRY_AFTER_SECONDS = 30
LEGACY_ARCHIVE = "inputs.zip"
"""The layout before LAYOUT 2 (PNGs and images.npy in one zip), removed once replaced."""
LOCK_NAME = ".inputs.lock"
ABANDONED_AFTER_SECONDS = 3600
"""A temporary file unchanged this long belongs to a builder that died (a live one writes on)."""

InputsKind = Literal["archive", "array"]
INPUTS_HIDDEN = "the test inputs of phase {phase!r} are not public; submit a model instead"
INPUTS_PREPARING = (
    "the test inputs of phase {phase!r} are being prepared; try again in a minute "
    "(Retry-After: {seconds} s)"
)
INPUTS_README = (
    "Test inputs of a Fairboard phase.\n"
    "ids.csv lists the items in canonical order (the order of legacy prediction files) and the\n"
    "image of each; images/ holds one PNG per item. The same pixels as one uint8 N x H x W x 3\n"
    'RGB array are a separate download (test-images.npz; np.load(path)["images"]).\n'
    "Labels are never distributed.\n"
)


class InputsPreparing(AppError):
    """The file is still being built: 503 with ``Retry-After``, never a half file."""

    status_code = 503
    code = "inputs_preparing"

    def __init__(self, phase: Phase) -> None:
        super().__init__(
            INPUTS_PREPARING.format(phase=phase.name, seconds=RETRY_AFTER_SECONDS),
            retry_after=RETRY_AFTER_SECONDS,
        )

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


class BuildStopped(Exception):
    """The server is shutting down; the partial file is removed and start-up builds it again."""


@dataclass(frozen=True)
class InputsFormat:
    kind: InputsKind
    filename: str
    label: str
    url_path: str
    """Below ``/api/v1/phases/{id}/``."""


ARCHIVE = InputsFormat("archive", "test-inputs.zip", "ZIP", "inputs")
ARRAY = InputsFormat("array", "test-images.npz", "NPZ", "inputs/array")
FORMATS: dict[InputsKind, InputsFormat] = {"archive": ARCHIVE, "array": ARRAY}


@dataclass(frozen=True)
class BuiltFile:
    """A finished download: where it is, its size and its sha256 (hex)."""

    format: InputsFormat
    path: Path
    bytes: int
    sha256: str

    @property
    def etag(self) -> str:
        # From the content, so that every replica's copy has the same one and resumes match.
        return f'"{self.sha256[:32]}"'


@dataclass(frozen=True)
class InputsState:
    """Both downloads of a version: each built, or None while it is being prepared."""

    archive: BuiltFile | None
    array: BuiltFile | None

    def of(self, kind: InputsKind) -> BuiltFile | None:
        return self.archive if kind == "archive" else self.array

    def files(self) -> list[tuple[InputsFormat, BuiltFile | None]]:
        return [(ARCHIVE, self.archive), (ARRAY, self.array)]


@dataclass(frozen=True)
class Source:
    """What a build needs, read before the request's session is gone: the version's folder."""

    folder: Path

    @classmethod
    def of(cls, settings: Settings, testset: TestSetVersion) -> Source:
        return cls(testsets.testset_dir(settings, testset))


def _manifest_path(folder: Path, fmt: InputsFormat) -> Path:
    return folder / f"{fmt.filename}.json"


def _read_built(folder: Path, fmt: InputsFormat) -> BuiltFile | None:
    """The file when its manifest is complete and names a file of that size, else None."""
    try:
        manifest = json.loads(_manifest_path(folder, fmt).read_text(encoding="utf-8"))
        size = (folder / fmt.filename).stat().st_size
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("layout") != LAYOUT:
        return None
    sha256 = manifest.get("sha256")
    if manifest.get("bytes") != size or not isinstance(sha256, str) or len(sha256) != 64:
        return None
    return BuiltFile(fmt, folder / fmt.filename, size, sha256)


def state_of(settings: Settings, testset: TestSetVersion) -> InputsState:
    """What of a version's inputs is ready to download."""
    folder = testsets.testset_dir(settings, testset)
    return InputsState(_read_built(folder, ARCHIVE), _read_built(folder, ARRAY))


def require_downloadable(session: Session, phase: Phase, user: User) -> None:
    """The download rule: a phase's organizers always; its participants when it publishes them."""
    if not competitions.is_organizer(session, phase.competition_id, user):
        competitions.require_participation(session, phase.competition_id, user)
        if not phase.inputs_public:
            raise Forbidden(INPUTS_HIDDEN.format(phase=phase.name))
    if phase.testset is None:
        raise NotFound(PHASE_HAS_NO_TESTSET.format(phase=phase.name))


def may_download(session: Session, phase: Phase, user: User | None) -> bool:
    """Whether ``require_downloadable`` lets ``user`` download (never anonymously)."""
    if user is None:
        return False
    try:
        require_downloadable(session, phase, user)
    except AppError:
        return False
    return True


def ready_file(settings: Settings, phase: Phase, kind: InputsKind) -> BuiltFile:
    """The built file of a phase's test set, or ``InputsPreparing`` while it is being built."""
    assert phase.testset is not None
    built = state_of(settings, phase.testset).of(kind)
    if built is None:
        raise InputsPreparing(phase)
    return built


# --- Building ---------------------------------------------------------------------------------


def image_name(item_id: str) -> str:
    return item_id if item_id.lower().endswith(".png") else f"{item_id}.png"


def _entry(name: str, compress_type: int = zipfile.ZIP_STORED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = compress_type
    info.external_attr = 0o644 << 16
    return info


def _ids_csv(ids: Sequence[str]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["id", "image"])
    for item_id in ids:
        writer.writerow([item_id, f"images/{image_name(item_id)}"])
    return text.getvalue()


def write_archive(sink: BinaryIO, ids: Sequence[str], images: np.ndarray, stop: Stop) -> None:
    """ids.csv, README.txt and one PNG per item, stored without re-compression."""
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        archive.writestr(_entry("ids.csv"), _ids_csv(ids))
        archive.writestr(_entry("README.txt"), INPUTS_README)
        for index, item_id in enumerate(ids):
            stop()
            png = io.BytesIO()
            Image.fromarray(np.asarray(images[index]), "RGB").save(
                png, format="PNG", compress_level=PNG_COMPRESS_LEVEL
            )
            archive.writestr(_entry(f"images/{image_name(item_id)}"), png.getvalue())


def write_array(sink: BinaryIO, ids: Sequence[str], images: np.ndarray, stop: Stop) -> None:
    """An .npz: ``images.npy`` deflated, written in slices so memory stays flat."""
    member = _entry("images.npy", zipfile.ZIP_DEFLATED)
    with (
        zipfile.ZipFile(sink, "w", allowZip64=True) as archive,
        archive.open(member, "w", force_zip64=True) as out,
    ):
        header = np.lib.format.header_data_from_array_1_0(images[:0])
        header["shape"] = images.shape
        np.lib.format.write_array_header_1_0(out, header)
        for start in range(0, len(images), 64):
            stop()
            out.write(np.ascontiguousarray(images[start : start + 64]).tobytes())


Stop = Callable[[], None]
WRITERS: dict[InputsKind, Callable[[BinaryIO, Sequence[str], np.ndarray, Stop], None]] = {
    "archive": write_archive,
    "array": write_array,
}


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _write_atomically(target: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write under a unique temporary name in the same folder, then rename over ``target``."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _build_file(source: Source, fmt: InputsFormat, ids: Sequence[str], stop: Stop) -> BuiltFile:
    images = np.load(source.folder / "images.npy", mmap_mode="r")
    target = source.folder / fmt.filename
    # A stale manifest must never describe the new file, even for the instant between renames.
    _manifest_path(source.folder, fmt).unlink(missing_ok=True)
    _write_atomically(target, lambda sink: WRITERS[fmt.kind](sink, ids, images, stop))
    built = BuiltFile(fmt, target, target.stat().st_size, _sha256(target))
    manifest = json.dumps({"layout": LAYOUT, "bytes": built.bytes, "sha256": built.sha256})
    _write_atomically(_manifest_path(source.folder, fmt), lambda sink: _put(sink, manifest))
    return built


def _put(sink: BinaryIO, text: str) -> None:
    sink.write(text.encode())


@contextmanager
def _exclusive(folder: Path, *, wait: bool = False) -> Iterator[bool]:
    """Hold the version's build lock if no other builder (thread, worker, replica) holds it,
    or, with ``wait``, once it is released."""
    with (folder / LOCK_NAME).open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _never_stop() -> None:
    return None


def _remove_abandoned(folder: Path) -> None:
    """Remove temporary files a killed builder left; one still being written is recent."""
    for leftover in folder.glob(".test-*.tmp"):
        try:
            if time.time() - leftover.stat().st_mtime > ABANDONED_AFTER_SECONDS:
                leftover.unlink(missing_ok=True)
        except FileNotFoundError:
            pass  # renamed or removed by its builder meanwhile


def build(source: Source, *, stop: Stop = _never_stop, wait: bool = False) -> list[BuiltFile]:
    """Build the files a version lacks; nothing when they exist or another builder has the lock
    (with ``wait``: once that builder is done, what it left unbuilt)."""
    built: list[BuiltFile] = []
    with _exclusive(source.folder, wait=wait) as held:
        if not held:
            return built
        _remove_abandoned(source.folder)
        missing = [f for f in FORMATS.values() if _read_built(source.folder, f) is None]
        if missing:
            ids = read_labels(source.folder / "labels.csv").ids
            built = [_build_file(source, fmt, ids, stop) for fmt in missing]
        (source.folder / LEGACY_ARCHIVE).unlink(missing_ok=True)
    return built


def build_logged(source: Source, *, stop: Stop = _never_stop) -> None:
    """``build`` for a background task: a failure is logged, never raised into the server."""
    try:
        for built in build(source, stop=stop):
            log.info("built %s (%d bytes) in %s", built.format.filename, built.bytes, source.folder)
    except BuildStopped:
        log.info("stopped building the inputs in %s", source.folder)
    except Exception:
        log.exception("could not build the test inputs in %s", source.folder)


def pending_sources(session: Session, settings: Settings) -> list[Source]:
    """The versions whose files are missing or of an older layout, oldest first."""
    sources = []
    for testset in session.scalars(select(TestSetVersion).order_by(TestSetVersion.id)):
        state = state_of(settings, testset)
        folder = testsets.testset_dir(settings, testset)
        if (state.archive is None or state.array is None) and folder.is_dir():
            sources.append(Source(folder))
    return sources


class StartupBuilds:
    """One thread that builds, at start-up, the files of every version that lacks them."""

    def __init__(self, sources: list[Source]) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(sources,), name="fairboard-inputs", daemon=True
        )

    def _check(self) -> None:
        if self._stopping.is_set():
            raise BuildStopped

    def _run(self, sources: list[Source]) -> None:
        for source in sources:
            if self._stopping.is_set():
                return
            build_logged(source, stop=self._check)

    def start(self) -> StartupBuilds:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)


def start_builds(sessions: sessionmaker[Session], settings: Settings) -> StartupBuilds:
    """List the versions lacking their files now, then build them in a background thread."""
    with sessions() as session:
        return StartupBuilds(pending_sources(session, settings)).start()
