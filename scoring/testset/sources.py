"""Where a test set comes from: a folder or a zip, in one of the layouts of SPEC §2.

A zip is opened and checked by :mod:`scoring.archives`, with the test-set limits below;
:func:`read_labels` reads the labels of any source.
"""

from __future__ import annotations

import os
import re
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Final

from scoring import archives
from scoring.testset.labels import appa_labels, generic_labels
from scoring.testset.messages import (
    APPA_CATEGORIES_FILE,
    APPA_GT_FILE,
    DEFAULT_MAX_TOTAL_BYTES,
    IGNORED_TOP_LEVEL,
    IMAGES_NPY,
    LABELS_FILE,
    LAYOUT_APPA_REAL,
    LAYOUT_ARRAY,
    LAYOUT_GENERIC,
    MAX_COMPRESSION_RATIO,
    MAX_ZIP_ENTRIES,
    RATIO_CHECK_MIN_BYTES,
    SOURCE_NOT_FOUND,
    UNKNOWN_LAYOUT,
    UNREADABLE_FILE,
    UNSUPPORTED_SOURCE,
    TestSetError,
    from_archive,
)
from scoring.testset.model import TestSet


class Source(ABC):
    """Files of one layout, addressed by POSIX paths relative to the layout's root."""

    def __init__(self, display: str) -> None:
        self.display = display

    @abstractmethod
    def has(self, relative: str) -> bool: ...

    @abstractmethod
    def size(self, relative: str) -> int: ...

    @abstractmethod
    def open(self, relative: str) -> IO[bytes]: ...

    def read(self, relative: str) -> bytes:
        with self.open(relative) as stream:
            return read_exact(stream, -1, self, relative)


class _FolderSource(Source):
    def __init__(self, root: Path, display: str) -> None:
        super().__init__(display)
        self.root = root

    def has(self, relative: str) -> bool:
        return (self.root / relative).is_file()

    def size(self, relative: str) -> int:
        return (self.root / relative).stat().st_size

    def open(self, relative: str) -> IO[bytes]:
        path = self.root / relative
        try:
            return open(path, "rb")
        except OSError as error:
            raise TestSetError(
                UNREADABLE_FILE.format(path=path, reason=error.strerror or error)
            ) from None


class _ZipSource(Source):
    def __init__(
        self, archive: zipfile.ZipFile, display: str, prefix: str, limits: archives.ArchiveLimits
    ) -> None:
        super().__init__(display)
        self.archive = archive
        self.limits = limits
        self.members = {
            info.filename[len(prefix) :]: info
            for info in archive.infolist()
            if info.filename.startswith(prefix) and not info.is_dir()
        }

    def has(self, relative: str) -> bool:
        return relative in self.members

    def size(self, relative: str) -> int:
        return self.members[relative].file_size

    def open(self, relative: str) -> IO[bytes]:
        info = self.members[relative]
        try:
            return self.archive.open(info)
        except (*archives.READ_ERRORS, RuntimeError) as error:
            raise unreadable(self, relative, error) from None

    def read(self, relative: str) -> bytes:
        try:
            return archives.read_member(
                self.archive, self.members[relative], self.display, self.limits
            )
        except archives.ArchiveError as error:
            raise from_archive(error) from None


def unreadable(source: Source, relative: str, error: BaseException) -> TestSetError:
    if isinstance(source, _ZipSource):
        name = source.members[relative].filename
        return from_archive(archives.corrupt_entry(source.display, name, error))
    return TestSetError(UNREADABLE_FILE.format(path=relative, reason=error))


def read_exact(stream: IO[bytes], size: int, source: Source, relative: str) -> bytes:
    """Read ``size`` bytes (all when -1), turning zip corruption into a TestSetError."""
    try:
        return stream.read(size)
    except archives.READ_ERRORS as error:
        raise unreadable(source, relative, error) from None


def _layout_of(has: Callable[[str], bool]) -> str | None:
    if has(APPA_GT_FILE) and has(APPA_CATEGORIES_FILE):
        return LAYOUT_APPA_REAL
    if has(LABELS_FILE) and has(IMAGES_NPY):
        return LAYOUT_ARRAY
    if has(LABELS_FILE):
        return LAYOUT_GENERIC
    return None


def _single_folder(files: Sequence[str], folders: Sequence[str]) -> str | None:
    """The one top-level folder a layout may sit in, ignoring macOS and hidden clutter."""
    folders = [name for name in folders if name not in IGNORED_TOP_LEVEL]
    if len(folders) == 1 and all(name.startswith(".") for name in files):
        return folders[0]
    return None


@contextmanager
def open_source(path: Path, max_total_bytes: int) -> Iterator[tuple[Source, str]]:
    """The layout found in a folder or zip, as (source at the layout root, layout name)."""
    if path.is_dir():
        root = path
        layout = _layout_of(lambda name: (root / name).is_file())
        if layout is None:
            entries = sorted(os.listdir(root))
            folder = _single_folder(
                [name for name in entries if not (root / name).is_dir()],
                [name for name in entries if (root / name).is_dir()],
            )
            if folder is not None:
                root = path / folder
                layout = _layout_of(lambda name: (root / name).is_file())
        if layout is None:
            raise TestSetError(UNKNOWN_LAYOUT.format(source=path.name))
        yield _FolderSource(root, path.name), layout
        return
    limits = archives.ArchiveLimits(
        max_total_bytes=max_total_bytes,
        max_entries=MAX_ZIP_ENTRIES,
        max_compression_ratio=MAX_COMPRESSION_RATIO,
        ratio_check_min_bytes=RATIO_CHECK_MIN_BYTES,
    )
    try:
        archive = archives.open_archive(path, path.name, limits)
    except archives.ArchiveError as error:
        raise from_archive(error) from None
    with archive:
        names = {info.filename for info in archive.infolist() if not info.is_dir()}
        prefix = ""
        layout = _layout_of(names.__contains__)
        if layout is None:
            folder = _single_folder(
                [name for name in names if "/" not in name],
                sorted({name.split("/", 1)[0] for name in names if "/" in name}),
            )
            if folder is not None:
                prefix = folder + "/"
                layout = _layout_of(lambda name: prefix + name in names)
        if layout is None:
            raise TestSetError(UNKNOWN_LAYOUT.format(source=path.name))
        yield _ZipSource(archive, path.name, prefix, limits), layout


def labels_from(source: Source, layout: str) -> TestSet:
    if layout == LAYOUT_APPA_REAL:
        return appa_labels(source.read(APPA_GT_FILE), source.read(APPA_CATEGORIES_FILE))
    return generic_labels(source.read(LABELS_FILE), LABELS_FILE)


def kind_of(path: Path) -> str:
    """ "folder", "zip" or "csv"; raises for anything else."""
    if not path.exists():
        raise TestSetError(SOURCE_NOT_FOUND.format(path=path))
    if path.is_dir():
        return "folder"
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        return "zip"
    if path.suffix.lower() == ".csv":
        return "csv"
    raise TestSetError(UNSUPPORTED_SOURCE.format(path=path))


def read_labels(path: Path, *, max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES) -> TestSet:
    """Read and validate the labels of a test set; images are neither read nor checked.

    ``path`` is a generic or array-layout ``labels.csv`` (any name), an APPA-REAL
    ``gt_avg_<split>.csv`` or ``allcategories_<split>.csv`` (read with its sibling, so students
    can read the validation split too), or a folder or ``.zip`` in any layout of SPEC §2.
    Category values are matched case-insensitively and stored lower-case; columns beyond the
    schema are kept as ``extras``. Every problem is collected before raising
    :class:`TestSetError`.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     labels = Path(folder) / "labels.csv"
        ...     _ = labels.write_text("id,age,gender,ethnicity,expression\\n"
        ...                           "a.jpg,31.5,Male,caucasian,happy\\n")
        ...     ts = read_labels(labels)
        >>> ts.ids, ts.age.tolist(), ts.gender.tolist()
        (('a.jpg',), [31.5], ['male'])
    """
    path = Path(path)
    kind = kind_of(path)
    if kind == "csv":
        appa = _APPA_CSV_NAME.match(path.name)
        if appa is None:
            return generic_labels(read_file(path), path.name)
        gt = path.with_name(f"gt_avg_{appa['split']}.csv")
        categories = path.with_name(f"allcategories_{appa['split']}.csv")
        return appa_labels(
            read_file(gt), read_file(categories), gt_file=gt.name, categories_file=categories.name
        )
    with open_source(path, max_total_bytes) as (source, layout):
        return labels_from(source, layout)


_APPA_CSV_NAME: Final = re.compile(r"^(?:gt_avg|allcategories)_(?P<split>[^.]+)\.csv$")


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TestSetError(
            UNREADABLE_FILE.format(path=path, reason=error.strerror or error)
        ) from None
