"""Zip safety, one set of rules for every archive the engine opens (prediction files, test sets).

:func:`open_archive` counts the entries from the end record before :mod:`zipfile` builds an
object for each, opens the archive, then checks every entry against the same rules before a
byte is decompressed:

- a safe relative name (no absolute path, drive letter or ``..``);
- not a symbolic link, not encrypted, not a second entry of the same name;
- not truncated (its data lies inside the file);
- at most ``max_entry_bytes`` uncompressed, at most ``max_total_bytes`` for all entries together;
- a compression ratio of at most ``max_compression_ratio`` for entries large enough to matter.

:func:`read_member` then reads one entry in chunks with a hard cap, so an archive that lies
about its sizes cannot make the reader allocate more than the limits. Every problem is
collected into one :class:`ArchiveError`; the message templates are the constants below,
asserted word for word by the tests. Names are quoted as short excerpts.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from scoring.errors import ScoringError, excerpt, summarise

__all__ = [
    "ARCHIVE_CORRUPT",
    "DUPLICATE_ENTRY",
    "ENTRY_CORRUPT",
    "ENTRY_ENCRYPTED",
    "ENTRY_TOO_LARGE",
    "ENTRY_TRUNCATED",
    "RATIO_TOO_HIGH",
    "READ_ERRORS",
    "SYMLINK_ENTRY",
    "TOO_LARGE",
    "TOO_MANY_ENTRIES",
    "UNSAFE_PATH",
    "ArchiveError",
    "ArchiveLimits",
    "corrupt_entry",
    "is_unsafe_name",
    "open_archive",
    "read_member",
]

MIB: Final = 2**20
READ_CHUNK_BYTES: Final = 64 * 1024
_END_OF_CENTRAL_DIRECTORY: Final = b"PK\x05\x06"
_END_RECORD_SEARCH: Final = 65_557  # the end record and the longest comment it may carry
_DRIVE_LETTER: Final = re.compile(r"^[A-Za-z]:")

# The archive as a whole (the message of the error on its own):
ARCHIVE_CORRUPT: Final = "{file} is not a readable zip file ({reason})"
TOO_MANY_ENTRIES: Final = "{file} holds {count} entries, over the limit of {limit}"
# One problem per entry (collected; the summary names the archive):
UNSAFE_PATH: Final = "entry {name!r} has an absolute path or '..'"
SYMLINK_ENTRY: Final = "entry {name!r} is a symbolic link"
ENTRY_ENCRYPTED: Final = "entry {name!r} is encrypted"
DUPLICATE_ENTRY: Final = "entry {name!r} appears more than once"
ENTRY_TRUNCATED: Final = "entry {name!r} lies beyond the end of the file; the zip is truncated"
ENTRY_TOO_LARGE: Final = "entry {name!r} is {size} bytes uncompressed, over the limit of {limit}"
RATIO_TOO_HIGH: Final = (
    "entry {name!r} expands {ratio:.0f} times ({size} bytes from {compressed}), "
    "over the limit of {limit}:1"
)
TOO_LARGE: Final = "{total} bytes uncompressed in all, over the limit of {limit} bytes"
ENTRY_CORRUPT: Final = "{file}: entry {name!r} is corrupt ({reason})"

READ_ERRORS: Final = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError)
"""What reading a zip entry can raise when the data is corrupt, truncated or unsupported."""
_REASON_CHARS: Final = 120


@dataclass(frozen=True)
class ArchiveLimits:
    """The limits an archive is checked against; each caller picks its own numbers.

    ``max_compression_ratio`` applies to entries of at least ``ratio_check_min_bytes``
    uncompressed (a real 2,000-line file of equal values compresses more than 100 times, yet
    is harmless; bombs are large).

    Example:
        >>> ArchiveLimits(max_total_bytes=10 * MIB).max_entry_bytes is None
        True
    """

    max_total_bytes: int
    max_entry_bytes: int | None = None
    max_entries: int = 100_000
    max_compression_ratio: float = 200
    ratio_check_min_bytes: int = MIB


class ArchiveError(ScoringError):
    """An archive breaks the rules; ``problems`` lists every problem found.

    Example:
        >>> error = ArchiveError(["entry '../x' has an absolute path or '..'"], "a.zip")
        >>> str(error)
        "1 problem in a.zip: entry '../x' has an absolute path or '..'"
    """

    def __init__(self, problems: list[str], where: str, *, message: str | None = None) -> None:
        super().__init__(summarise(problems, where) if message is None else message)
        self.problems = problems
        self.where = where


def is_unsafe_name(name: str) -> bool:
    """Whether a path inside an archive is absolute, has a drive letter or a ``..`` part.

    Example:
        >>> is_unsafe_name("images/a.jpg"), is_unsafe_name("../a"), is_unsafe_name("C:/a")
        (False, True, True)
    """
    path = name.replace("\\", "/")
    return path.startswith("/") or bool(_DRIVE_LETTER.match(path)) or ".." in path.split("/")


def _reason(error: BaseException) -> str:
    return excerpt(str(error) or type(error).__name__, _REASON_CHARS)


def _whole(message: str, file: str) -> ArchiveError:
    return ArchiveError([message], file, message=message)


def _entry_count(head: bytes) -> int | None:
    """Entries declared by the end-of-central-directory record found in ``head``, if any."""
    end_record = head.rfind(_END_OF_CENTRAL_DIRECTORY)
    if end_record < 0 or end_record + 12 > len(head):
        return None
    return int.from_bytes(head[end_record + 10 : end_record + 12], "little")


def _ratio_problem(name: str, size: int, compressed: int, limits: ArchiveLimits) -> str | None:
    if size < limits.ratio_check_min_bytes or size <= limits.max_compression_ratio * max(
        compressed, 1
    ):
        return None
    return RATIO_TOO_HIGH.format(
        name=excerpt(name),
        ratio=size / max(compressed, 1),
        size=size,
        compressed=compressed,
        limit=f"{limits.max_compression_ratio:g}",
    )


def _entry_problems(
    info: zipfile.ZipInfo, seen: set[str], archive_size: int, limits: ArchiveLimits
) -> list[str]:
    name = excerpt(info.filename)
    problems = []
    if is_unsafe_name(info.filename):
        problems.append(UNSAFE_PATH.format(name=name))
    if stat.S_ISLNK(info.external_attr >> 16):
        problems.append(SYMLINK_ENTRY.format(name=name))
    if info.flag_bits & 0x1:
        problems.append(ENTRY_ENCRYPTED.format(name=name))
    if info.filename in seen:
        problems.append(DUPLICATE_ENTRY.format(name=name))
    seen.add(info.filename)
    if info.header_offset + info.compress_size > archive_size:
        problems.append(ENTRY_TRUNCATED.format(name=name))
    if limits.max_entry_bytes is not None and info.file_size > limits.max_entry_bytes:
        problems.append(
            ENTRY_TOO_LARGE.format(name=name, size=info.file_size, limit=limits.max_entry_bytes)
        )
    ratio = _ratio_problem(info.filename, info.file_size, info.compress_size, limits)
    if ratio is not None:
        problems.append(ratio)
    return problems


def open_archive(source: bytes | Path, file: str, limits: ArchiveLimits) -> zipfile.ZipFile:
    """Open a zip (its bytes or its path) and check every entry; ``file`` names it in messages.

    Raises :class:`ArchiveError` listing every problem; the caller closes the archive.

    Example:
        >>> buffer = io.BytesIO()
        >>> with zipfile.ZipFile(buffer, "w") as archive:
        ...     archive.writestr("../evil.txt", "x")
        >>> try:
        ...     open_archive(buffer.getvalue(), "up.zip", ArchiveLimits(max_total_bytes=MIB))
        ... except ArchiveError as error:
        ...     print(error)
        1 problem in up.zip: entry '../evil.txt' has an absolute path or '..'
    """
    if isinstance(source, bytes):
        size = len(source)
        head = source[-_END_RECORD_SEARCH:]
        stream: io.BytesIO | Path = io.BytesIO(source)
    else:
        try:
            size = source.stat().st_size
            with open(source, "rb") as opened:
                opened.seek(max(0, size - _END_RECORD_SEARCH))
                head = opened.read()
        except OSError as error:
            raise _whole(ARCHIVE_CORRUPT.format(file=file, reason=_reason(error)), file) from None
        stream = source
    count = _entry_count(head)
    if count is not None and count > limits.max_entries:
        raise _whole(
            TOO_MANY_ENTRIES.format(file=file, count=count, limit=limits.max_entries), file
        )
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except (*READ_ERRORS, zipfile.LargeZipFile, ValueError) as error:
        raise _whole(ARCHIVE_CORRUPT.format(file=file, reason=_reason(error)), file) from None
    if len(infos) > limits.max_entries:
        archive.close()
        raise _whole(
            TOO_MANY_ENTRIES.format(file=file, count=len(infos), limit=limits.max_entries), file
        )
    problems: list[str] = []
    seen: set[str] = set()
    for info in infos:
        problems += _entry_problems(info, seen, size, limits)
    total = sum(info.file_size for info in infos)
    if total > limits.max_total_bytes:
        problems.append(TOO_LARGE.format(total=total, limit=limits.max_total_bytes))
    if problems:
        archive.close()
        raise ArchiveError(problems, file)
    return archive


def corrupt_entry(file: str, name: str, error: BaseException) -> ArchiveError:
    """The error for an entry that fails while it is read (``ENTRY_CORRUPT``).

    Example:
        >>> str(corrupt_entry("a.zip", "b.csv", EOFError("cut")))
        "a.zip: entry 'b.csv' is corrupt (cut)"
    """
    return _whole(ENTRY_CORRUPT.format(file=file, name=excerpt(name), reason=_reason(error)), file)


def read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, file: str, limits: ArchiveLimits
) -> bytes:
    """The bytes of one entry, read in chunks under the archive's limits.

    Declared sizes can lie: the limits are enforced on the bytes actually produced too.

    Example:
        >>> buffer = io.BytesIO()
        >>> with zipfile.ZipFile(buffer, "w") as out:
        ...     out.writestr("p.csv", "20.5\\n")
        >>> archive = open_archive(buffer.getvalue(), "p.zip", ArchiveLimits(max_total_bytes=MIB))
        >>> read_member(archive, archive.getinfo("p.csv"), "p.zip", ArchiveLimits(MIB))
        b'20.5\\n'
    """
    cap = limits.max_total_bytes
    if limits.max_entry_bytes is not None:
        cap = min(cap, limits.max_entry_bytes)
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(READ_CHUNK_BYTES):
                size += len(chunk)
                if size > cap:
                    too_large = ENTRY_TOO_LARGE.format(
                        name=excerpt(info.filename), size=f"more than {cap}", limit=cap
                    )
                    raise ArchiveError([too_large], file)
                ratio = _ratio_problem(info.filename, size, info.compress_size, limits)
                if ratio is not None:
                    raise ArchiveError([ratio], file)
                chunks.append(chunk)
    except (*READ_ERRORS, RuntimeError) as error:
        raise corrupt_entry(file, info.filename, error) from None
    return b"".join(chunks)
