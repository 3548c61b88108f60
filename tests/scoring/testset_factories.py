"""Builders of test-set sources (folders and zips in every layout) for the test-set tests."""

from __future__ import annotations

import csv
import io
import stat
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from scoring.testset import MAX_LISTED_PROBLEMS, MORE_PROBLEMS, PROBLEM_IN_FILE, PROBLEMS

HEADER = ("id", "age", "gender", "ethnicity", "expression", "real_age")

# Five items, one per row; every group of every attribute except 'other' expression is used.
ROWS: tuple[tuple[str, ...], ...] = (
    ("000001.jpg", "12.5", "female", "asian", "happy", "13"),
    ("000002.png", "25", "male", "afroamerican", "slightlyhappy", "24"),
    ("000003.jpg", "47.25", "female", "caucasian", "neutral", "50"),
    ("000004.png", "68", "male", "caucasian", "happy", ""),
    ("000005.jpg", "33.3", "male", "caucasian", "neutral", "31"),
)


def image_bytes(
    size: tuple[int, int] = (6, 4),
    *,
    color: tuple[int, int, int] = (200, 40, 90),
    fmt: str = "PNG",
    mode: str = "RGB",
) -> bytes:
    """An encoded single-colour image of PIL ``size`` (width, height)."""
    buffer = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else color[0]).save(buffer, format=fmt)
    return buffer.getvalue()


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]], *, newline: str = "\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_files(folder: Path, files: Mapping[str, bytes | str]) -> Path:
    """Write ``files`` (relative path -> content) under ``folder``; return ``folder``."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_bytes(content.encode("utf-8"))
        else:
            path.write_bytes(content)
    return folder


def generic_files(
    rows: Sequence[Sequence[str]] = ROWS,
    header: Sequence[str] = HEADER,
    *,
    image_size: tuple[int, int] = (6, 4),
) -> dict[str, bytes | str]:
    """Generic layout: labels.csv plus images/<id>, JPEG for .jpg ids and PNG otherwise."""
    files: dict[str, bytes | str] = {"labels.csv": csv_text(header, rows)}
    for row in rows:
        item = row[0]
        fmt = "JPEG" if item.endswith(".jpg") else "PNG"
        files[f"images/{item}"] = image_bytes(image_size, fmt=fmt)
    return files


APPA_GT_HEADER = ("file_name", "num_ratings", "apparent_age_avg", "apparent_age_std", "real_age")
APPA_GT_ROWS: tuple[tuple[str, ...], ...] = (
    ("005613.jpg", "38", "25.5", "3.2", "27"),
    ("005614.jpg", "40", "61.75", "5.1", "60"),
    ("005615.jpg", "36", "8.0", "1.9", "9"),
)
APPA_CATEGORY_HEADER = ("file", "gender", "race", "makeup", "time", "happiness")
# Deliberately in another order than gt_avg_test.csv, and in mixed case.
APPA_CATEGORY_ROWS: tuple[tuple[str, ...], ...] = (
    ("005615.jpg", "female", "asian", "nomakeup", "modernphoto", "other"),
    ("005613.jpg", "Male", "Caucasian", "makeup", "modernphoto", "happy"),
    ("005614.jpg", "female", "afroamerican", "notclear", "oldphoto", "slightlyhappy"),
)


def appa_files(
    gt_rows: Sequence[Sequence[str]] = APPA_GT_ROWS,
    category_rows: Sequence[Sequence[str]] = APPA_CATEGORY_ROWS,
    *,
    faces: bool = True,
    full: bool = True,
) -> dict[str, bytes | str]:
    """APPA-REAL release layout; face crops are 8x8 JPEGs, full photos 12x10 JPEGs."""
    files: dict[str, bytes | str] = {
        "gt_avg_test.csv": csv_text(APPA_GT_HEADER, gt_rows),
        "allcategories_test.csv": csv_text(APPA_CATEGORY_HEADER, category_rows),
    }
    for row in gt_rows:
        if full:
            files[f"test/{row[0]}"] = image_bytes((12, 10), fmt="JPEG")
        if faces:
            files[f"test/{row[0]}_face.jpg"] = image_bytes((8, 8), fmt="JPEG")
    return files


def array_images(n: int, height: int = 4, width: int = 6) -> np.ndarray:
    """Distinct deterministic uint8 images: item i is filled with value 10 * i + channel."""
    images = np.zeros((n, height, width, 3), dtype=np.uint8)
    for index in range(n):
        images[index] = (10 * index + np.arange(3)).astype(np.uint8)
    return images


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def array_files(
    rows: Sequence[Sequence[str]] = ROWS,
    images: np.ndarray | None = None,
) -> dict[str, bytes | str]:
    """Array layout: images.npy plus labels.csv in the same order."""
    if images is None:
        images = array_images(len(rows))
    return {"labels.csv": csv_text(HEADER, rows), "images.npy": npy_bytes(images)}


def write_zip(
    path: Path,
    files: Mapping[str, bytes | str],
    *,
    root: str = "",
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Zip ``files`` under the optional top-level folder ``root``; return ``path``."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in files.items():
            archive.writestr(root + name, content)
    return path


def write_symlink_entry(path: Path, name: str, target: str) -> None:
    """Append a Unix symbolic-link entry to the zip at ``path``."""
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)


def summary(where: str, problems: Sequence[str]) -> str:
    """The message a TestSetError with ``problems`` found in ``where`` must have (spec)."""
    listed = "; ".join(problems[:MAX_LISTED_PROBLEMS])
    if len(problems) > MAX_LISTED_PROBLEMS:
        listed += MORE_PROBLEMS.format(count=len(problems) - MAX_LISTED_PROBLEMS)
    noun = "problem" if len(problems) == 1 else "problems"
    return PROBLEMS.format(count=len(problems), noun=noun, where=where, listed=listed)


def in_file(file: str, problem: str) -> str:
    return PROBLEM_IN_FILE.format(file=file, problem=problem)
