"""Prediction files (SPEC §4): parse, validate and align them to the test set's ids.

Accepted forms:

1. Keyed CSV: a header naming an id column (``id``, ``file`` or ``file_name``) and a value
   column (``age`` or ``prediction``), matched case-insensitively, exactly those two columns
   in either order; rows in any order; every test id exactly once. Fields may be quoted.
2. Legacy Codalab form: no header, exactly N lines, one number per line, canonical order.
3. Either of the above as the one ``.csv`` or ``.txt`` file inside a zip archive.

How the form is told apart: a zip is recognised by its magic bytes (a file named ``*.zip``
that lacks them is reported as an unreadable zip). A text file whose first non-blank line is
a number (or a value written the wrong way, such as ``34,5`` or ``[34.5]``) is the legacy
form; otherwise that line is a header. A header that is not exactly an id and a value column
gets the message naming what is wrong with it: tab or semicolon separators, a value column
without an id column, more than two columns, an unnamed first column (the index pandas writes
by default), a first line of data instead of a header, or else an unknown header.

Numbers are plain ASCII decimals or scientific notation (:mod:`scoring.numbers`) with an
absolute value of at most :data:`~scoring.numbers.MAX_ABS_PREDICTION`; a decimal comma, a
bracketed value, ``3_0``, other digit sets, NaN and infinity are each refused with their line.

A zip is checked by :mod:`scoring.archives` (the same rules as test sets, with the limits of
:class:`PredictionLimits`) before anything is decompressed. Inside it, directory entries,
anything under ``__MACOSX/``, hidden files (any path part starting with ``.``) and files not
ending in ``.csv``/``.txt`` are ignored; exactly one candidate must remain, and it is read
with a hard cap.

Accepted leniencies: a UTF-8 byte order mark, CRLF (or CR) line ends, blanks around fields,
and blank lines before the first and after the last line. A blank line in the middle is an
error, since in the legacy form it would shift every later prediction.

Every problem found is collected, so that one upload reports all of them; the message counts
them and lists the first :data:`MAX_LISTED_PROBLEMS`; it quotes the participant's input only as
short excerpts, so it stays short whatever the file holds. A text with more lines than one
header, one line per id and :data:`EXTRA_LINES_ALLOWED` blank lines is rejected at once, before
it is split, so the number of problems and the memory used stay bounded.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from scoring import archives, prediction_values
from scoring.errors import MAX_LISTED_PROBLEMS, MORE_PROBLEMS, ScoringError, excerpt, summarise
from scoring.prediction_values import *  # noqa: F403  (the value and header messages)
from scoring.prediction_values import (
    EMPTY_LINE,
    header_problem,
    looks_like_a_value,
    parse_value,
    row_problem,
    values_in_range,
)

__all__ = [
    "BAD_QUOTING",
    "DUPLICATE_ID",
    "EMPTY_FILE",
    "ERROR_MESSAGE",
    "FILE_TOO_LARGE",
    "ID_COLUMNS",
    "IN_ZIP",
    "MAX_LISTED_PROBLEMS",
    "MISSING_IDS",
    "MORE_PROBLEMS",
    "NOT_A_ZIP",
    "NOT_UTF8",
    "NO_CANDIDATE_IN_ZIP",
    "TOO_MANY_CANDIDATES_IN_ZIP",
    "TOO_MANY_LINES",
    "TOO_MANY_ZIP_ENTRIES",
    "UNCOMPRESSED_TOO_LARGE",
    "UNKNOWN_ID",
    "UNSAFE_ZIP_ENTRY",
    "VALUE_COLUMNS",
    "WRONG_ROW_COUNT",
    "ZIP_BOMB",
    "ZIP_ENTRY_ENCRYPTED",
    "PredictionFileError",
    "PredictionLimits",
    "format_problems",
    "parse_predictions",
]
__all__ += prediction_values.__all__

MIB = 1024 * 1024

ID_COLUMNS: tuple[str, ...] = ("id", "file", "file_name")
VALUE_COLUMNS: tuple[str, ...] = ("age", "prediction")
CANDIDATE_SUFFIXES: tuple[str, ...] = (".csv", ".txt")
MAX_LISTED_IDS = 3
ZIP_MAGIC: tuple[bytes, ...] = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
EXTRA_LINES_ALLOWED = 1000
"""Blank lines tolerated beyond one header and one line per id before a file is cut short."""

# The message of a PredictionFileError (scoring.errors.PROBLEMS, with the file as the place).
ERROR_MESSAGE = "{count} {noun} in {filename}: {listed}"
IN_ZIP = "{member} in {archive}"

# One problem each (the values and headers are in scoring.prediction_values).
EMPTY_FILE = "the file is empty"
BAD_QUOTING = "line {line}: the quotes cannot be read as CSV ({reason})"
FILE_TOO_LARGE = "the file is {size} bytes, over the limit of {limit} bytes"
NOT_UTF8 = "line {line}: not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8"
WRONG_ROW_COUNT = "expected {expected} predictions, found {found}"
TOO_MANY_LINES = "expected {expected} predictions, found more than {limit} lines"
UNKNOWN_ID = "line {line}: unknown id {id!r}"
DUPLICATE_ID = "line {line}: duplicate id {id!r}, first on line {first}"
MISSING_IDS = "no prediction for {count} {noun}: {examples}"
NO_CANDIDATE_IN_ZIP = "the zip holds no .csv or .txt file"
TOO_MANY_CANDIDATES_IN_ZIP = (
    "the zip holds {count} .csv or .txt files ({names}); expected exactly one"
)
# Zips follow the one set of rules of scoring.archives, under the names this module had.
NOT_A_ZIP = archives.ARCHIVE_CORRUPT
ZIP_ENTRY_ENCRYPTED = archives.ENTRY_ENCRYPTED
UNSAFE_ZIP_ENTRY = archives.UNSAFE_PATH
TOO_MANY_ZIP_ENTRIES = archives.TOO_MANY_ENTRIES
UNCOMPRESSED_TOO_LARGE = archives.TOO_LARGE
ZIP_BOMB = archives.RATIO_TOO_HIGH


@dataclass(frozen=True)
class PredictionLimits:
    """Size limits for an uploaded prediction file.

    ``max_file_bytes`` bounds the upload as sent (zip or text); ``max_uncompressed_bytes``
    bounds the declared total of a zip's entries and the bytes actually read from it;
    ``max_compression_ratio`` bounds uncompressed/compressed size of each zip entry that
    uncompresses to at least ``ratio_check_min_bytes`` (a real 2,000-line file of equal
    values compresses more than 100 times, yet is harmless; bombs are large);
    ``max_zip_entries`` bounds the number of entries, counted before the archive is opened.

    Example:
        >>> PredictionLimits(max_file_bytes=1024).max_uncompressed_bytes == 50 * 1024 * 1024
        True
    """

    max_file_bytes: int = 20 * MIB
    max_uncompressed_bytes: int = 50 * MIB
    max_compression_ratio: float = 100.0
    ratio_check_min_bytes: int = 1 * MIB
    max_zip_entries: int = 1000

    def archive_limits(self) -> archives.ArchiveLimits:
        """The same limits as :mod:`scoring.archives` applies them.

        Example:
            >>> PredictionLimits(max_zip_entries=5).archive_limits().max_entries
            5
        """
        return archives.ArchiveLimits(
            max_total_bytes=self.max_uncompressed_bytes,
            max_entry_bytes=self.max_uncompressed_bytes,
            max_entries=self.max_zip_entries,
            max_compression_ratio=self.max_compression_ratio,
            ratio_check_min_bytes=self.ratio_check_min_bytes,
        )


class PredictionFileError(ScoringError):
    """A prediction file that cannot be scored; ``problems`` lists every problem found.

    The message counts the problems and lists the first :data:`MAX_LISTED_PROBLEMS`.

    Example:
        >>> error = PredictionFileError("p.csv", ["line 2: 'x' is not a number"])
        >>> str(error)
        "1 problem in p.csv: line 2: 'x' is not a number"
        >>> error.problems
        ["line 2: 'x' is not a number"]
    """

    def __init__(self, filename: str, problems: Sequence[str]) -> None:
        self.filename = filename
        self.problems: list[str] = list(problems)
        super().__init__(format_problems(filename, self.problems))


def format_problems(filename: str, problems: Sequence[str]) -> str:
    """The message of a :class:`PredictionFileError`: a count, then the first few problems.

    Example:
        >>> format_problems("p.csv", ["a", "b", "c", "d", "e", "f", "g"])
        '7 problems in p.csv: a; b; c; d; e; and 2 more'
    """
    return summarise(problems, excerpt(filename))


def parse_predictions(
    data: bytes,
    ids: Sequence[str],
    *,
    filename: str = "predictions.csv",
    limits: PredictionLimits = PredictionLimits(),
) -> npt.NDArray[np.float64]:
    """Parse an uploaded prediction file into float64 predictions aligned to ``ids``.

    ``ids`` are the test set's ids in canonical order; ``filename`` is only used in messages.
    Raises :class:`PredictionFileError` listing every problem found.

    Example:
        >>> parse_predictions(b"id,age\\nb.jpg,30\\na.jpg,20.5\\n", ["a.jpg", "b.jpg"]).tolist()
        [20.5, 30.0]
        >>> parse_predictions(b"20.5\\r\\n30\\r\\n", ["a.jpg", "b.jpg"]).tolist()
        [20.5, 30.0]
        >>> try:
        ...     parse_predictions(b"20.5\\n", ["a.jpg", "b.jpg"])
        ... except PredictionFileError as error:
        ...     print(error)
        1 problem in predictions.csv: expected 2 predictions, found 1
    """
    if len(data) > limits.max_file_bytes:
        raise PredictionFileError(
            filename, [FILE_TOO_LARGE.format(size=len(data), limit=limits.max_file_bytes)]
        )
    source = filename
    if data.startswith(ZIP_MAGIC) or filename.lower().endswith(".zip"):
        member, data = _read_zip_member(data, filename, limits)
        source = IN_ZIP.format(member=excerpt(member), archive=excerpt(filename))
    text = _decode(data, source)
    return _parse_text(text, ids, source)


def _decode(data: bytes, source: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PredictionFileError(
            source, [NOT_UTF8.format(line=line, byte=data[exc.start])]
        ) from None
    return text.removeprefix("\ufeff")


def _parse_text(text: str, ids: Sequence[str], source: str) -> npt.NDArray[np.float64]:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Split no further than a valid file can reach, so that a file of millions of short lines
    # costs no more memory than its bytes.
    max_lines = len(ids) + 1 + EXTRA_LINES_ALLOWED
    lines = text.split("\n", max_lines)
    if len(lines) > max_lines and lines.pop().strip():
        raise PredictionFileError(
            source, [TOO_MANY_LINES.format(expected=len(ids), limit=max_lines)]
        )
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = 0
    while start < end and not lines[start].strip():
        start += 1
    if start == end:
        raise PredictionFileError(source, [EMPTY_FILE])
    if looks_like_a_value(lines[start]):
        return _parse_legacy(lines, start, end, ids, source)
    return _parse_keyed(lines, start, end, ids, source, quoted='"' in text)


def _parse_legacy(
    lines: list[str], start: int, end: int, ids: Sequence[str], source: str
) -> npt.NDArray[np.float64]:
    body = lines[start:end]
    problems: list[str] = []
    if len(body) != len(ids):
        problems.append(WRONG_ROW_COUNT.format(expected=len(ids), found=len(body)))
    values = values_in_range(body)
    if values is None:
        # Something is off: find every bad line, with its number.
        values = np.full(len(body), np.nan)
        for offset, line in enumerate(body):
            line_no = start + offset + 1
            if not line.strip():
                problems.append(EMPTY_LINE.format(line=line_no))
                continue
            values[offset], problem = parse_value(line.strip(), line_no)
            if problem is not None:
                problems.append(problem)
    if problems:
        raise PredictionFileError(source, problems)
    return values


def _rows(
    lines: list[str], start: int, end: int, source: str, *, quoted: bool
) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each line from ``start``; handles CSV quoting when present."""
    if quoted:
        reader = csv.reader(lines[start:end])
        try:
            for fields in reader:
                yield start + reader.line_num, fields
        except csv.Error as error:
            problem = BAD_QUOTING.format(line=start + reader.line_num, reason=excerpt(str(error)))
            raise PredictionFileError(source, [problem]) from None
    else:
        for offset, line in enumerate(lines[start:end]):
            yield start + offset + 1, line.split(",")


def _parse_keyed(
    lines: list[str], start: int, end: int, ids: Sequence[str], source: str, *, quoted: bool
) -> npt.NDArray[np.float64]:
    rows = _rows(lines, start, end, source, quoted=quoted)
    header_line, header = next(rows)
    names = [field.strip().lower() for field in header]
    id_matches = [i for i, name in enumerate(names) if name in ID_COLUMNS]
    value_matches = [i for i, name in enumerate(names) if name in VALUE_COLUMNS]
    if len(names) != 2 or len(id_matches) != 1 or len(value_matches) != 1:
        problem = header_problem(
            lines[start].strip(), names, header_line, ID_COLUMNS, VALUE_COLUMNS
        )
        raise PredictionFileError(source, [problem])
    id_column, value_column = id_matches[0], value_matches[0]
    position_of = _positions(ids)
    values = None if quoted else _align_clean_rows(lines[start + 1 : end], id_column, position_of)
    if values is not None:
        return values

    # Something is wrong: walk the rows one by one to report every problem with its line.
    values = np.full(len(ids), np.nan)
    first_line = [0] * len(ids)
    problems: list[str] = []
    for line_no, fields in rows:
        if len(fields) != 2:
            problems.append(row_problem(fields, line_no, value_column))
            continue
        item_id = fields[id_column].strip()
        position = position_of.get(item_id)
        if position is None:
            problems.append(UNKNOWN_ID.format(line=line_no, id=excerpt(item_id)))
            continue
        if first_line[position]:
            problems.append(
                DUPLICATE_ID.format(line=line_no, id=excerpt(item_id), first=first_line[position])
            )
            continue
        first_line[position] = line_no
        values[position], value_problem = parse_value(fields[value_column].strip(), line_no)
        if value_problem is not None:
            problems.append(value_problem)

    missing = [ids[position] for position, line in enumerate(first_line) if not line]
    if missing:
        examples = ", ".join(repr(excerpt(item_id)) for item_id in missing[:MAX_LISTED_IDS])
        if len(missing) > MAX_LISTED_IDS:
            examples += ", ..."
        noun = "id" if len(missing) == 1 else "ids"
        problems.append(MISSING_IDS.format(count=len(missing), noun=noun, examples=examples))
    if problems:
        raise PredictionFileError(source, problems)
    return values


def _positions(ids: Sequence[str]) -> dict[str, int]:
    """Each id's position; a test set's ids (a tuple) are indexed once per process."""
    if isinstance(ids, tuple):
        return _cached_positions(ids)
    return dict(zip(ids, range(len(ids)), strict=True))


@lru_cache(maxsize=8)
def _cached_positions(ids: tuple[str, ...]) -> dict[str, int]:
    # Read only by the callers: a shared dict must never be changed.
    return dict(zip(ids, range(len(ids)), strict=True))


def _align_clean_rows(
    body: list[str], id_column: int, position_of: dict[str, int]
) -> npt.NDArray[np.float64] | None:
    """The aligned predictions of a well-formed unquoted body, or None if anything is off.

    The happy path, vectorised as far as Python allows; it never reports problems, it only
    declines, and the caller then finds and reports them line by line.
    """
    if len(body) != len(position_of):
        return None
    rows = [line.split(",") for line in body]
    if rows and set(map(len, rows)) != {2}:
        return None
    id_fields, value_fields = zip(*rows, strict=True) if rows else ((), ())
    if id_column == 1:
        id_fields, value_fields = value_fields, id_fields
    positions = list(map(position_of.get, map(str.strip, id_fields)))
    if None in positions:
        return None
    values = values_in_range(value_fields)
    if values is None:
        return None
    index = np.array(positions, dtype=np.intp)
    if len(body) and np.bincount(index, minlength=len(body)).max() != 1:
        return None
    aligned = np.empty(len(body), dtype=np.float64)
    aligned[index] = values
    return aligned


def _is_ignored(name: str) -> bool:
    parts = [part for part in name.replace("\\", "/").split("/") if part]
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _read_zip_member(data: bytes, filename: str, limits: PredictionLimits) -> tuple[str, bytes]:
    """Check the whole archive, then return the one candidate's name and (capped) bytes."""
    archive_limits = limits.archive_limits()
    try:
        with archives.open_archive(data, excerpt(filename), archive_limits) as archive:
            candidates = [
                info
                for info in archive.infolist()
                if not info.is_dir()
                and not _is_ignored(info.filename)
                and info.filename.lower().endswith(CANDIDATE_SUFFIXES)
            ]
            if not candidates:
                raise PredictionFileError(filename, [NO_CANDIDATE_IN_ZIP])
            if len(candidates) > 1:
                raise PredictionFileError(filename, [_too_many_candidates(candidates)])
            member = candidates[0]
            content = archives.read_member(archive, member, excerpt(filename), archive_limits)
    except archives.ArchiveError as error:
        raise PredictionFileError(filename, error.problems) from None
    return member.filename, content


def _too_many_candidates(candidates: list[zipfile.ZipInfo]) -> str:
    names = sorted(info.filename for info in candidates)
    listed = ", ".join(excerpt(name) for name in names[:MAX_LISTED_IDS])
    if len(names) > MAX_LISTED_IDS:
        listed += ", ..."
    return TOO_MANY_CANDIDATES_IN_ZIP.format(count=len(names), names=listed)
