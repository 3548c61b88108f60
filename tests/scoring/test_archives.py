"""scoring.archives: one set of zip rules, each with its message, for prediction files and test
sets alike (issue 11.6)."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from pathlib import Path

import pytest

from scoring.archives import (
    DUPLICATE_ENTRY,
    ENTRY_ENCRYPTED,
    ENTRY_TOO_LARGE,
    ENTRY_TRUNCATED,
    RATIO_TOO_HIGH,
    SYMLINK_ENTRY,
    TOO_LARGE,
    TOO_MANY_ENTRIES,
    UNSAFE_PATH,
    ArchiveError,
    ArchiveLimits,
    open_archive,
    read_member,
)
from scoring.predictions import PredictionFileError, parse_predictions
from scoring.testset import TestSetError, read_labels
from tests.scoring.testset_factories import generic_files, write_symlink_entry, write_zip

LIMITS = ArchiveLimits(max_total_bytes=10_000, max_entry_bytes=1_000, max_entries=5)


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name on purpose
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in entries.items():
                archive.writestr(name.rstrip("#"), content)
    return buffer.getvalue()


def problems_of(data: bytes | Path, limits: ArchiveLimits = LIMITS) -> list[str]:
    with pytest.raises(ArchiveError) as caught:
        open_archive(data, "up.zip", limits)
    return caught.value.problems


def test_a_clean_archive_opens_and_its_entries_read() -> None:
    with open_archive(zipped({"a.csv": b"1\n"}), "up.zip", LIMITS) as archive:
        assert read_member(archive, archive.getinfo("a.csv"), "up.zip", LIMITS) == b"1\n"


@pytest.mark.parametrize("name", ["/abs.csv", "C:/win.csv", "a/../../b.csv", "a\\..\\b.csv"])
def test_absolute_and_dotdot_names_are_refused(name: str) -> None:
    assert problems_of(zipped({name: b"1"})) == [UNSAFE_PATH.format(name=name)]


def test_duplicate_names_are_refused() -> None:
    assert problems_of(zipped({"a.csv": b"1", "a.csv#": b"2"})) == [
        DUPLICATE_ENTRY.format(name="a.csv")
    ]


def test_encrypted_entries_are_refused() -> None:
    data = bytearray(zipped({"a.csv": b"1"}))
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    assert problems_of(bytes(data)) == [ENTRY_ENCRYPTED.format(name="a.csv")]


def test_symlinks_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "up.zip"
    path.write_bytes(zipped({"a.csv": b"1"}))
    write_symlink_entry(path, "link", "/etc/passwd")
    assert problems_of(path) == [SYMLINK_ENTRY.format(name="link")]


def test_too_many_entries_are_counted_before_the_archive_is_opened() -> None:
    data = zipped({f"{i}.csv": b"1" for i in range(6)})
    assert problems_of(data) == [TOO_MANY_ENTRIES.format(file="up.zip", count=6, limit=5)]


def test_an_entry_over_the_per_file_limit_is_refused() -> None:
    data = zipped({"big.csv": bytes(range(256)) * 5})
    assert problems_of(data) == [ENTRY_TOO_LARGE.format(name="big.csv", size=1280, limit=1000)]


def test_a_total_over_the_limit_is_refused() -> None:
    data = zipped({f"{i}.csv": bytes(range(256)) * 3 for i in range(4)})
    assert problems_of(data, ArchiveLimits(max_total_bytes=3000)) == [
        TOO_LARGE.format(total=3072, limit=3000)
    ]


def test_a_high_compression_ratio_is_refused_before_decompressing() -> None:
    data = zipped({"zeros.csv": bytes(2**21)})
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("zeros.csv")
    limits = ArchiveLimits(max_total_bytes=2**22, max_compression_ratio=100)
    assert problems_of(data, limits) == [
        RATIO_TOO_HIGH.format(
            name="zeros.csv",
            ratio=info.file_size / info.compress_size,
            size=info.file_size,
            compressed=info.compress_size,
            limit=100,
        )
    ]


def test_an_entry_whose_data_lies_beyond_the_end_is_truncated() -> None:
    data = bytearray(zipped({"a.csv": b"1" * 100}))
    central = data.index(b"PK\x01\x02")
    # The central directory's compressed size, made larger than the whole file.
    data[central + 20 : central + 24] = struct.pack("<I", 50_000)
    assert problems_of(bytes(data)) == [ENTRY_TRUNCATED.format(name="a.csv")]


def test_every_problem_is_listed_once_per_entry() -> None:
    data = zipped({"../a.csv": b"1", "/b.csv": b"2"})
    with pytest.raises(ArchiveError) as caught:
        open_archive(data, "up.zip", LIMITS)
    assert str(caught.value) == (
        "2 problems in up.zip: entry '../a.csv' has an absolute path or '..'; "
        "entry '/b.csv' has an absolute path or '..'"
    )


def test_prediction_files_and_test_sets_apply_the_same_rules(tmp_path: Path) -> None:
    """A symlink and a duplicate name were checked for test sets only; now for both."""
    archive = write_zip(tmp_path / "set.zip", generic_files())
    write_symlink_entry(archive, "link.txt", "/etc/passwd")
    expected = [SYMLINK_ENTRY.format(name="link.txt")]
    with pytest.raises(TestSetError) as testset_error:
        read_labels(archive)
    with pytest.raises(PredictionFileError) as prediction_error:
        parse_predictions(archive.read_bytes(), ["a"], filename="set.zip")
    assert testset_error.value.problems == expected == prediction_error.value.problems
