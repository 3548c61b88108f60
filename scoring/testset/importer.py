"""Importing a test set: validate everything, decode every image, store it atomically."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
from PIL import Image, UnidentifiedImageError

from scoring import archives
from scoring.errors import excerpt
from scoring.testset.messages import (
    APPA_FACE_SUFFIX,
    APPA_IMAGES_DIR,
    BAD_IMAGE_SIZE,
    DEFAULT_IMAGE_SIZE,
    DEFAULT_MAX_TOTAL_BYTES,
    DEST_EXISTS,
    IMAGES_DIR,
    IMAGES_NPY,
    IMPORT_NEEDS_IMAGES,
    LABELS_FILE,
    LAYOUT_APPA_REAL,
    LAYOUT_ARRAY,
    MISSING_IMAGE,
    NPY_BAD_DTYPE,
    NPY_BAD_SHAPE,
    NPY_FORTRAN_ORDER,
    NPY_ROW_MISMATCH,
    NPY_TRUNCATED,
    NPY_UNREADABLE,
    REPORT_FILE,
    SYNTHETIC_MARKER,
    UNDECODABLE_IMAGE,
    UNRECOGNISED_IMAGE,
    UNSAFE_IMAGE_NAME,
    Problem,
    TestSetError,
    raise_problems,
)
from scoring.testset.model import TestSet
from scoring.testset.sources import (
    Source,
    kind_of,
    labels_from,
    open_source,
    read_exact,
    unreadable,
)

_DECODE_CHUNK: Final = 64
_NPY_CHUNK_BYTES: Final = 64 * 2**20
DECODER_FAILURE: Final = "{error}: {reason}"
NPY_VERSION: Final = "unsupported .npy format version {major}.{minor}"


@dataclass(frozen=True)
class ImportReport:
    """What an import stored: layout, size, fingerprint, group sizes and image sizes.

    Example:
        >>> report = ImportReport(layout="generic", n_items=1, fingerprint="sha256:00",
        ...                       group_sizes={}, image_size=(224, 224),
        ...                       source_image_sizes={"640x480": 1})
        >>> report.to_dict()["image_size"]
        [224, 224]
    """

    layout: str
    n_items: int
    fingerprint: str
    group_sizes: dict[str, dict[str, int]]
    image_size: tuple[int, int]
    source_image_sizes: dict[str, int]
    synthetic: bool = False
    """True when the source carried the synthetic marker (SYNTHETIC.txt)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (``image_size`` as ``[H, W]``); :meth:`from_dict` reverses it.

        Example:
            >>> ImportReport("array", 0, "sha256:00", {}, (8, 8), {}).to_dict()["layout"]
            'array'
        """
        return {
            "layout": self.layout,
            "n_items": self.n_items,
            "fingerprint": self.fingerprint,
            "group_sizes": {name: dict(sizes) for name, sizes in self.group_sizes.items()},
            "image_size": [self.image_size[0], self.image_size[1]],
            "source_image_sizes": dict(self.source_image_sizes),
            "synthetic": self.synthetic,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImportReport:
        """The report :meth:`to_dict` (or ``report.json``) describes.

        Example:
            >>> report = ImportReport("array", 0, "sha256:00", {}, (8, 8), {})
            >>> ImportReport.from_dict(report.to_dict()) == report
            True
        """
        height, width = data["image_size"]
        return cls(
            layout=str(data["layout"]),
            n_items=int(data["n_items"]),
            fingerprint=str(data["fingerprint"]),
            group_sizes={
                name: {g: int(n) for g, n in sizes.items()}
                for name, sizes in data["group_sizes"].items()
            },
            image_size=(int(height), int(width)),
            source_image_sizes={k: int(v) for k, v in data["source_image_sizes"].items()},
            synthetic=bool(data.get("synthetic", False)),
        )


def _check_image_size(image_size: Any) -> tuple[int, int]:
    try:
        height, width = image_size
        valid = all(
            isinstance(side, int | np.integer) and not isinstance(side, bool) and side > 0
            for side in (height, width)
        )
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise TestSetError(BAD_IMAGE_SIZE.format(value=image_size))
    return int(height), int(width)


def _safe_image_name(identifier: str) -> bool:
    return bool(identifier) and not archives.is_unsafe_name(identifier) and "\x00" not in identifier


def _image_paths(source: Source, testset: TestSet, layout: str) -> tuple[str, list[str]]:
    """(image folder, image of every item relative to the layout root); raises for unsafe or
    missing images, listing them all."""
    if layout == LAYOUT_APPA_REAL:
        folder = APPA_IMAGES_DIR
        faces = [f"{folder}/{item}{APPA_FACE_SUFFIX}" for item in testset.ids]
        # Face crops for all items or for none: a set must not mix crops and full photos.
        if all(_safe_image_name(item) for item in testset.ids) and all(map(source.has, faces)):
            return folder, faces
    else:
        folder = IMAGES_DIR
    paths = [f"{folder}/{item}" for item in testset.ids]
    problems: list[Problem] = []
    for row, (item, path) in enumerate(zip(testset.ids, paths, strict=True), start=1):
        if not _safe_image_name(item):
            problems.append((row, UNSAFE_IMAGE_NAME.format(row=row, id=excerpt(item))))
        elif not source.has(path):
            problems.append(
                (row, MISSING_IMAGE.format(row=row, id=excerpt(item), path=excerpt(path)))
            )
    raise_problems({f"{folder}/": problems})
    return folder, paths


def _decode(data: bytes, size: tuple[int, int]) -> tuple[np.ndarray, str] | str:
    """(H×W×3 uint8 RGB resized to ``size``, source "WxH") or the reason it cannot be decoded.

    No EXIF rotation: images go in as stored, like Keras' ``load_img`` that trained the models.
    """
    height, width = size
    try:
        with Image.open(io.BytesIO(data)) as image:
            source_size = "{}x{}".format(*image.size)
            if image.format == "JPEG":
                # DCT-domain downscaling: much faster for large photos, still >= 2x the target.
                image.draft("RGB", (2 * width, 2 * height))
            rgb = image.convert("RGB")
        if rgb.size != (width, height):
            rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
        return np.asarray(rgb, dtype=np.uint8), source_size
    except UnidentifiedImageError:
        return UNRECOGNISED_IMAGE
    # Untrusted bytes can fail deep inside any decoder in any way; each is "undecodable".
    except Exception as error:
        return excerpt(DECODER_FAILURE.format(error=type(error).__name__, reason=error), 120)


def _import_images(
    source: Source,
    folder: str,
    paths: Sequence[str],
    testset: TestSet,
    out: np.memmap[Any, Any],
    size: tuple[int, int],
    progress: Callable[[int, int], None] | None,
) -> Counter[str]:
    n = len(paths)
    source_sizes: Counter[str] = Counter()
    problems: list[Problem] = []
    # Pillow decodes and resizes without the GIL; a few threads, as each may hold a big photo.
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, n, _DECODE_CHUNK):
            stop = min(n, start + _DECODE_CHUNK)
            blobs = [source.read(paths[index]) for index in range(start, stop)]
            decoded = pool.map(lambda blob: _decode(blob, size), blobs)
            for index, result in zip(range(start, stop), decoded, strict=True):
                if isinstance(result, str):
                    row = index + 1
                    problems.append(
                        (
                            row,
                            UNDECODABLE_IMAGE.format(
                                row=row,
                                id=excerpt(testset.ids[index]),
                                path=excerpt(paths[index]),
                                reason=result,
                            ),
                        )
                    )
                else:
                    out[index] = result[0]
                    source_sizes[result[1]] += 1
            if progress is not None:
                progress(stop, n)
    raise_problems({f"{folder}/": problems})
    return source_sizes


def _read_npy_header(
    stream: IO[bytes], source: Source
) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream)
        reason = NPY_VERSION.format(major=version[0], minor=version[1])
    except archives.READ_ERRORS as error:
        raise unreadable(source, IMAGES_NPY, error) from None
    except (ValueError, SyntaxError) as error:
        reason = excerpt(str(error), 120)
    raise TestSetError(NPY_UNREADABLE.format(reason=reason))


def _import_array(
    source: Source,
    testset: TestSet,
    out_path: Path,
    size: tuple[int, int],
    progress: Callable[[int, int], None] | None,
) -> tuple[np.memmap[Any, Any], Counter[str]]:
    """Stream images.npy row by row into a new memory map at ``out_path`` (resized if needed)."""
    with source.open(IMAGES_NPY) as stream:
        shape, fortran_order, dtype = _read_npy_header(stream, source)
        if dtype != np.dtype(np.uint8):
            raise TestSetError(NPY_BAD_DTYPE.format(dtype=dtype))
        if len(shape) != 4 or shape[3] != 3 or shape[1] < 1 or shape[2] < 1:
            raise TestSetError(NPY_BAD_SHAPE.format(shape=shape))
        if shape[0] != len(testset):
            raise TestSetError(
                NPY_ROW_MISMATCH.format(
                    n_images=shape[0], labels=LABELS_FILE, n_labels=len(testset)
                )
            )
        if fortran_order:
            raise TestSetError(NPY_FORTRAN_ORDER)
        n, height, width, _ = shape
        expected = n * height * width * 3
        found = source.size(IMAGES_NPY) - stream.tell()
        if found != expected:
            raise TestSetError(NPY_TRUNCATED.format(found=found, expected=expected, shape=shape))

        out = np.lib.format.open_memmap(
            out_path, mode="w+", dtype=np.uint8, shape=(n, size[0], size[1], 3)
        )
        row_bytes = height * width * 3
        chunk = max(1, _NPY_CHUNK_BYTES // row_bytes)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            data = read_exact(stream, (stop - start) * row_bytes, source, IMAGES_NPY)
            if len(data) != (stop - start) * row_bytes:
                raise TestSetError(
                    NPY_TRUNCATED.format(
                        found=start * row_bytes + len(data), expected=expected, shape=shape
                    )
                )
            rows = np.frombuffer(data, dtype=np.uint8).reshape(stop - start, height, width, 3)
            if (height, width) == size:
                out[start:stop] = rows
            else:
                for offset, image in enumerate(rows):
                    resized = Image.fromarray(image, "RGB").resize(
                        (size[1], size[0]), Image.Resampling.BILINEAR
                    )
                    out[start + offset] = np.asarray(resized, dtype=np.uint8)
            if progress is not None:
                progress(stop, n)
    return out, Counter({f"{width}x{height}": n})


def import_testset(
    source: Path,
    dest: Path,
    *,
    image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Validate a test set completely, then store it in the new folder ``dest``.

    ``source`` is a folder or ``.zip`` in any layout of SPEC §2 (detected; at the top level or
    inside one folder). Checked first: zip safety (unsafe names, symlinks, encryption, the
    uncompressed total against ``max_total_bytes``, per-entry compression ratio), the labels,
    and that every image exists. Every image is then decoded with Pillow, converted to RGB
    and resized (bilinear, antialiased) to ``image_size`` = (height, width); an array-layout
    ``images.npy`` is streamed and resized only if its size differs. Written into a temporary
    sibling folder and renamed to ``dest`` at the end, so a failure leaves nothing behind:

    - ``dest/labels.csv``: generic labels, canonical order (see :meth:`TestSet.to_labels_csv`);
    - ``dest/images.npy``: uint8 N×H×W×3 RGB, readable with ``np.load(mmap_mode="r")``;
    - ``dest/report.json``: the returned :class:`ImportReport`;
    - ``dest/SYNTHETIC.txt``: copied when the source is marked synthetic.

    ``progress(done, total)`` is called as images are stored. ``dest`` must not exist; its
    parent is created when missing.

    Example:
        >>> import tempfile
        >>> from scoring.synthetic import make_testset
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     source = make_testset(Path(folder) / "src", n=6, image_size=(16, 16))
        ...     report = import_testset(source, Path(folder) / "ts", image_size=(8, 8))
        ...     images = np.load(Path(folder) / "ts" / "images.npy", mmap_mode="r")
        ...     print(report.layout, report.n_items, images.shape, report.synthetic)
        generic 6 (6, 8, 8, 3) True
    """
    size = _check_image_size(image_size)
    source, dest = Path(source), Path(dest)
    if dest.exists() or dest.is_symlink():
        raise TestSetError(DEST_EXISTS.format(dest=dest))
    kind = kind_of(source)
    if kind == "csv":
        raise TestSetError(IMPORT_NEEDS_IMAGES.format(path=source))
    with open_source(source, max_total_bytes) as (files, layout):
        testset = labels_from(files, layout)
        images_at = None if layout == LAYOUT_ARRAY else _image_paths(files, testset, layout)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.importing-", dir=dest.parent))
        try:
            if images_at is None:
                images, source_sizes = _import_array(
                    files, testset, staging / IMAGES_NPY, size, progress
                )
            else:
                images = np.lib.format.open_memmap(
                    staging / IMAGES_NPY,
                    mode="w+",
                    dtype=np.uint8,
                    shape=(len(testset), size[0], size[1], 3),
                )
                source_sizes = _import_images(files, *images_at, testset, images, size, progress)
            images.flush()
            del images  # close the memory map before the rename
            synthetic = files.has(SYNTHETIC_MARKER)
            if synthetic:
                (staging / SYNTHETIC_MARKER).write_bytes(files.read(SYNTHETIC_MARKER))
            testset.to_labels_csv(staging / LABELS_FILE)
            report = ImportReport(
                layout=layout,
                n_items=len(testset),
                fingerprint=testset.fingerprint(),
                group_sizes=testset.group_sizes(),
                image_size=size,
                source_image_sizes=dict(sorted(source_sizes.items())),
                synthetic=synthetic,
            )
            (staging / REPORT_FILE).write_text(
                json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8"
            )
            if dest.exists() or dest.is_symlink():
                raise TestSetError(DEST_EXISTS.format(dest=dest))
            os.rename(staging, dest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return report
