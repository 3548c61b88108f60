"""Prediction files (SPEC §4): parse, validate and align them to the test set's ids.

Accepted forms:

1. Keyed CSV: a header naming an id column (``id``, ``file`` or ``file_name``) and a value
   column (``age`` or ``prediction``), matched case-insensitively, exactly those two columns
   in either order; rows in any order; every test id exactly once. Fields may be quoted.
2. Legacy Codalab form: no header, exactly N lines, one number per line, canonical order.
3. Either of the above as the one ``.csv`` or ``.txt`` file inside a zip archive.

How the form is told apart: a zip is recognised by its magic bytes (a file named ``*.zip``
that lacks them is reported as an unreadable zip). A text file whose first non-blank line is
a number is the legacy form; otherwise that line is a header, and a header without both an
id and a value column is an unknown header.

Inside a zip, directory entries, anything under ``__MACOSX/``, hidden files (any path part
starting with ``.``) and files not ending in ``.csv``/``.txt`` are ignored; exactly one
candidate must remain. Every entry, ignored or not, must have a safe relative path, and the
declared sizes and compression ratios of all entries are checked before anything is
decompressed; the candidate is then read in chunks with a hard cap, so an archive that lies
about its sizes cannot make the reader allocate more than the limit.

Accepted leniencies: a UTF-8 byte order mark, CRLF (or CR) line ends, blanks around fields,
and blank lines before the first and after the last line. A blank line in the middle is an
error, since in the legacy form it would shift every later prediction.

Every problem found is collected, so that one upload reports all of them; the message counts
them and lists the first :data:`MAX_LISTED_PROBLEMS`. A text with more lines than one header,
one line per id and :data:`EXTRA_LINES_ALLOWED` blank lines is rejected at once, before it is
split, so the number of problems and the memory used stay bounded.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.errors import ScoringError

__all__ = [
    "DUPLICATE_ID",
    "EMPTY_FILE",
    "EMPTY_LINE",
    "ERROR_MESSAGE",
    "FILE_TOO_LARGE",
    "ID_COLUMNS",
    "IN_ZIP",
    "MAX_LISTED_PROBLEMS",
    "MISSING_IDS",
    "MORE_PROBLEMS",
    "NOT_A_NUMBER",
    "NOT_A_ZIP",
    "NOT_FINITE",
    "NOT_UTF8",
    "NO_CANDIDATE_IN_ZIP",
    "TOO_MANY_CANDIDATES_IN_ZIP",
    "TOO_MANY_LINES",
    "TOO_MANY_ZIP_ENTRIES",
    "UNCOMPRESSED_TOO_LARGE",
    "UNKNOWN_HEADER",
    "UNKNOWN_ID",
    "UNSAFE_ZIP_ENTRY",
    "VALUE_COLUMNS",
    "WRONG_FIELD_COUNT",
    "WRONG_ROW_COUNT",
    "ZIP_BOMB",
    "ZIP_ENTRY_ENCRYPTED",
    "PredictionFileError",
    "PredictionLimits",
    "format_problems",
    "parse_predictions",
]

MIB = 1024 * 1024

ID_COLUMNS: tuple[str, ...] = ("id", "file", "file_name")
VALUE_COLUMNS: tuple[str, ...] = ("age", "prediction")
CANDIDATE_SUFFIXES: tuple[str, ...] = (".csv", ".txt")
MAX_LISTED_PROBLEMS = 5
MAX_LISTED_IDS = 3
ZIP_MAGIC: tuple[bytes, ...] = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
READ_CHUNK_BYTES = 64 * 1024
EXTRA_LINES_ALLOWED = 1000
"""Blank lines tolerated beyond one header and one line per id before a file is cut short."""
END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06"

# The message of a PredictionFileError.
ERROR_MESSAGE = "{count} {noun} in {filename}: {listed}"
MORE_PROBLEMS = "; and {count} more"
IN_ZIP = "{member} in {archive}"

# One problem each.
EMPTY_FILE = "the file is empty"
FILE_TOO_LARGE = "the file is {size} bytes, over the limit of {limit} bytes"
NOT_UTF8 = "line {line}: not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8"
WRONG_ROW_COUNT = "expected {expected} predictions, found {found}"
TOO_MANY_LINES = "expected {expected} predictions, found more than {limit} lines"
EMPTY_LINE = "line {line}: the line is empty"
NOT_A_NUMBER = "line {line}: {value!r} is not a number"
NOT_FINITE = "line {line}: {value!r} is not a finite number"
UNKNOWN_HEADER = (
    "line {line}: unknown header {header!r}; expected an id column (id, file or file_name) "
    "and a value column (age or prediction)"
)
WRONG_FIELD_COUNT = "line {line}: expected 2 fields, found {found}"
UNKNOWN_ID = "line {line}: unknown id {id!r}"
DUPLICATE_ID = "line {line}: duplicate id {id!r}, first on line {first}"
MISSING_IDS = "no prediction for {count} {noun}: {examples}"
NOT_A_ZIP = "the file is not a readable zip archive"
ZIP_ENTRY_ENCRYPTED = "zip entry {name!r} is encrypted"
UNSAFE_ZIP_ENTRY = "zip entry {name!r} has an absolute path or '..'"
NO_CANDIDATE_IN_ZIP = "the zip holds no .csv or .txt file"
TOO_MANY_CANDIDATES_IN_ZIP = (
    "the zip holds {count} .csv or .txt files ({names}); expected exactly one"
)
TOO_MANY_ZIP_ENTRIES = "the zip holds {count} entries, over the limit of {limit}"
UNCOMPRESSED_TOO_LARGE = "the zip uncompresses to more than {limit} bytes"
ZIP_BOMB = (
    "zip entry {name!r} expands {ratio:.0f} times when uncompressed, "
    "over the limit of {limit:g} times"
)

_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")


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
    listed = "; ".join(problems[:MAX_LISTED_PROBLEMS])
    if len(problems) > MAX_LISTED_PROBLEMS:
        listed += MORE_PROBLEMS.format(count=len(problems) - MAX_LISTED_PROBLEMS)
    noun = "problem" if len(problems) == 1 else "problems"
    return ERROR_MESSAGE.format(count=len(problems), noun=noun, filename=filename, listed=listed)


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
        source = IN_ZIP.format(member=member, archive=filename)
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
    if _is_number(lines[start]):
        return _parse_legacy(lines, start, end, ids, source)
    return _parse_keyed(lines, start, end, ids, source, quoted='"' in text)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_legacy(
    lines: list[str], start: int, end: int, ids: Sequence[str], source: str
) -> npt.NDArray[np.float64]:
    body = lines[start:end]
    problems: list[str] = []
    if len(body) != len(ids):
        problems.append(WRONG_ROW_COUNT.format(expected=len(ids), found=len(body)))
    try:
        # float() accepts surrounding blanks and exponents; the fast path covers valid files.
        values = np.array(list(map(float, body)), dtype=np.float64)
    except ValueError:
        values = np.full(len(body), np.nan)
        for offset, line in enumerate(body):
            line_no = start + offset + 1
            field = line.strip()
            if not field:
                problems.append(EMPTY_LINE.format(line=line_no))
                continue
            try:
                value = float(field)
            except ValueError:
                problems.append(NOT_A_NUMBER.format(line=line_no, value=field))
                continue
            if not math.isfinite(value):
                problems.append(NOT_FINITE.format(line=line_no, value=field))
            values[offset] = value
    else:
        for offset in np.flatnonzero(~np.isfinite(values)).tolist():
            problems.append(NOT_FINITE.format(line=start + offset + 1, value=body[offset].strip()))
    if problems:
        raise PredictionFileError(source, problems)
    return values


def _rows(
    lines: list[str], start: int, end: int, *, quoted: bool
) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each line from ``start``; handles CSV quoting when present."""
    if quoted:
        reader = csv.reader(lines[start:end])
        for fields in reader:
            yield start + reader.line_num, fields
    else:
        for offset, line in enumerate(lines[start:end]):
            yield start + offset + 1, line.split(",")


def _parse_keyed(
    lines: list[str], start: int, end: int, ids: Sequence[str], source: str, *, quoted: bool
) -> npt.NDArray[np.float64]:
    rows = _rows(lines, start, end, quoted=quoted)
    header_line, header = next(rows)
    names = [field.strip().lower() for field in header]
    id_matches = [i for i, name in enumerate(names) if name in ID_COLUMNS]
    value_matches = [i for i, name in enumerate(names) if name in VALUE_COLUMNS]
    if len(names) != 2 or len(id_matches) != 1 or len(value_matches) != 1:
        raise PredictionFileError(
            source, [UNKNOWN_HEADER.format(line=header_line, header=lines[start].strip())]
        )
    id_column, value_column = id_matches[0], value_matches[0]
    position_of = dict(zip(ids, range(len(ids)), strict=True))
    values = None if quoted else _align_clean_rows(lines[start + 1 : end], id_column, position_of)
    if values is not None:
        return values

    # Something is wrong: walk the rows one by one to report every problem with its line.
    values = np.full(len(ids), np.nan)
    first_line = [0] * len(ids)
    problems: list[str] = []
    for line_no, fields in rows:
        if len(fields) != 2:
            if not "".join(fields).strip():
                problems.append(EMPTY_LINE.format(line=line_no))
            else:
                problems.append(WRONG_FIELD_COUNT.format(line=line_no, found=len(fields)))
            continue
        item_id = fields[id_column].strip()
        position = position_of.get(item_id)
        if position is None:
            problems.append(UNKNOWN_ID.format(line=line_no, id=item_id))
            continue
        if first_line[position]:
            problems.append(
                DUPLICATE_ID.format(line=line_no, id=item_id, first=first_line[position])
            )
            continue
        first_line[position] = line_no
        field = fields[value_column].strip()
        try:
            value = float(field)
        except ValueError:
            problems.append(NOT_A_NUMBER.format(line=line_no, value=field))
            continue
        if not math.isfinite(value):
            problems.append(NOT_FINITE.format(line=line_no, value=field))
        values[position] = value

    missing = [ids[position] for position, line in enumerate(first_line) if not line]
    if missing:
        examples = ", ".join(repr(item_id) for item_id in missing[:MAX_LISTED_IDS])
        if len(missing) > MAX_LISTED_IDS:
            examples += ", ..."
        noun = "id" if len(missing) == 1 else "ids"
        problems.append(MISSING_IDS.format(count=len(missing), noun=noun, examples=examples))
    if problems:
        raise PredictionFileError(source, problems)
    return values


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
    try:
        values = np.array(list(map(float, value_fields)), dtype=np.float64)
    except ValueError:
        return None
    index = np.array(positions, dtype=np.intp)
    if len(body) and np.bincount(index, minlength=len(body)).max() != 1:
        return None
    if not np.isfinite(values).all():
        return None
    aligned = np.empty(len(body), dtype=np.float64)
    aligned[index] = values
    return aligned


def _is_unsafe(name: str) -> bool:
    path = name.replace("\\", "/")
    return path.startswith("/") or bool(_DRIVE_LETTER.match(path)) or ".." in path.split("/")


def _is_ignored(name: str) -> bool:
    parts = [part for part in name.replace("\\", "/").split("/") if part]
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _ratio_exceeded(uncompressed: int, compressed: int, limits: PredictionLimits) -> bool:
    return (
        uncompressed >= limits.ratio_check_min_bytes
        and uncompressed > limits.max_compression_ratio * max(compressed, 1)
    )


def _bomb_problem(name: str, uncompressed: int, compressed: int, limits: PredictionLimits) -> str:
    return ZIP_BOMB.format(
        name=name, ratio=uncompressed / max(compressed, 1), limit=limits.max_compression_ratio
    )


def _read_zip_member(data: bytes, filename: str, limits: PredictionLimits) -> tuple[str, bytes]:
    """Check the whole archive, then return the one candidate's name and (capped) bytes."""
    # zipfile builds an object per entry while opening: count them first, from the end record.
    end_record = data.rfind(END_OF_CENTRAL_DIRECTORY, max(0, len(data) - 65_557))
    if end_record >= 0:
        count = int.from_bytes(data[end_record + 10 : end_record + 12], "little")
        if count > limits.max_zip_entries:
            raise PredictionFileError(
                filename, [TOO_MANY_ZIP_ENTRIES.format(count=count, limit=limits.max_zip_entries)]
            )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise PredictionFileError(filename, [NOT_A_ZIP]) from None

    problems: list[str] = []
    declared_total = 0
    candidates: list[zipfile.ZipInfo] = []
    for info in infos:
        if _is_unsafe(info.filename):
            problems.append(UNSAFE_ZIP_ENTRY.format(name=info.filename))
            continue
        declared_total += info.file_size
        if _ratio_exceeded(info.file_size, info.compress_size, limits):
            problems.append(
                _bomb_problem(info.filename, info.file_size, info.compress_size, limits)
            )
        if info.is_dir() or _is_ignored(info.filename):
            continue
        if info.filename.lower().endswith(CANDIDATE_SUFFIXES):
            candidates.append(info)
    if declared_total > limits.max_uncompressed_bytes:
        problems.append(UNCOMPRESSED_TOO_LARGE.format(limit=limits.max_uncompressed_bytes))
    if not problems and not candidates:
        problems.append(NO_CANDIDATE_IN_ZIP)
    if not problems and len(candidates) > 1:
        names = ", ".join(sorted(info.filename for info in candidates))
        problems.append(TOO_MANY_CANDIDATES_IN_ZIP.format(count=len(candidates), names=names))
    if problems:
        raise PredictionFileError(filename, problems)

    member = candidates[0]
    if member.flag_bits & 0x1:
        raise PredictionFileError(filename, [ZIP_ENTRY_ENCRYPTED.format(name=member.filename)])
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(READ_CHUNK_BYTES):
                size += len(chunk)
                # Declared sizes can lie: enforce the limits on the bytes actually produced.
                if size > limits.max_uncompressed_bytes:
                    raise PredictionFileError(
                        filename,
                        [UNCOMPRESSED_TOO_LARGE.format(limit=limits.max_uncompressed_bytes)],
                    )
                if _ratio_exceeded(size, member.compress_size, limits):
                    raise PredictionFileError(
                        filename,
                        [_bomb_problem(member.filename, size, member.compress_size, limits)],
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
        raise PredictionFileError(filename, [NOT_A_ZIP]) from None
    return member.filename, b"".join(chunks)
