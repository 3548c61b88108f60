"""Prediction files (SPEC §4): every accepted form, every rejection with its exact message."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import ScoringError
from scoring.predictions import (
    DUPLICATE_ID,
    EMPTY_FILE,
    EMPTY_LINE,
    FILE_TOO_LARGE,
    HEADER_WITHOUT_ID,
    MISSING_IDS,
    NO_CANDIDATE_IN_ZIP,
    NOT_A_NUMBER,
    NOT_A_ZIP,
    NOT_FINITE,
    NOT_UTF8,
    TOO_MANY_CANDIDATES_IN_ZIP,
    TOO_MANY_LINES,
    TOO_MANY_ZIP_ENTRIES,
    UNCOMPRESSED_TOO_LARGE,
    UNKNOWN_HEADER,
    UNKNOWN_ID,
    UNSAFE_ZIP_ENTRY,
    WRONG_FIELD_COUNT,
    WRONG_ROW_COUNT,
    ZIP_BOMB,
    ZIP_ENTRY_ENCRYPTED,
    PredictionFileError,
    PredictionLimits,
    format_problems,
    parse_predictions,
)

IDS = ("000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg")
VALUES = [21.5, 34.0, 8.25, 67.0]


def keyed(rows: list[tuple[str, str]], header: str = "id,age") -> bytes:
    return (header + "\n" + "".join(f"{item},{value}\n" for item, value in rows)).encode()


def legacy(values: list[str], newline: str = "\n") -> bytes:
    return "".join(value + newline for value in values).encode()


def zipped(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def problems_of(
    data: bytes,
    *,
    filename: str = "predictions.csv",
    ids: tuple[str, ...] = IDS,
    limits: PredictionLimits = PredictionLimits(),
) -> str:
    """The message of the PredictionFileError that parsing ``data`` raises."""
    with pytest.raises(PredictionFileError) as caught:
        parse_predictions(data, ids, filename=filename, limits=limits)
    return str(caught.value)


def one_problem(problem: str, filename: str = "predictions.csv") -> str:
    return f"1 problem in {filename}: {problem}"


CANONICAL = keyed(list(zip(IDS, map(str, VALUES), strict=True)))


# --- accepted forms ----------------------------------------------------------------------


def test_keyed_csv_rows_in_any_order_are_aligned_to_the_canonical_ids() -> None:
    rows = [(IDS[2], "8.25"), (IDS[0], "21.5"), (IDS[3], "67"), (IDS[1], "34.0")]
    predictions = parse_predictions(keyed(rows), IDS)
    assert predictions.dtype == np.float64
    assert predictions.tolist() == VALUES


@pytest.mark.parametrize(
    "header", ["id,age", "ID,Age", "file,prediction", "File_Name,AGE", "age,id", " id , age "]
)
def test_keyed_csv_header_names_are_matched_case_insensitively_in_either_order(
    header: str,
) -> None:
    value_first = header.strip().lower().startswith("age")
    rows = [(v, i) if value_first else (i, v) for i, v in zip(IDS, map(str, VALUES), strict=True)]
    assert parse_predictions(keyed(rows, header), IDS).tolist() == VALUES


def test_keyed_csv_accepts_quoted_fields() -> None:
    data = b'"id","age"\n' + b"".join(
        f'"{item}","{value}"\n'.encode() for item, value in zip(IDS, VALUES, strict=True)
    )
    assert parse_predictions(data, IDS).tolist() == VALUES


def test_legacy_form_is_one_number_per_line_in_canonical_order() -> None:
    data = legacy(["21.5", "  3.4e1  ", "8.25", "67"])
    assert parse_predictions(data, IDS).tolist() == VALUES


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + legacy(["21.5", "34", "8.25", "67"], "\r\n"),
        legacy(["21.5", "34", "8.25", "67"], "\r\n") + b"\r\n",
        b"\n  \n" + legacy([" 21.5", "34 ", "\t8.25", "67"]) + b"\n\n",
        legacy(["21.5", "34", "8.25", "67"], "\r"),
        b"21.5\n34\n8.25\n67",
        b"\xef\xbb\xbfid,age\r\n"
        + b"".join(
            f" {item} , {value} \r\n".encode() for item, value in zip(IDS, VALUES, strict=True)
        )
        + b"\r\n",
    ],
    ids=[
        "bom-crlf",
        "trailing-empty-line",
        "surrounding-blanks",
        "cr-only",
        "no-final-newline",
        "keyed-bom-crlf-blanks",
    ],
)
def test_bom_line_ends_and_surrounding_blanks_are_accepted(data: bytes) -> None:
    assert parse_predictions(data, IDS).tolist() == VALUES


@pytest.mark.parametrize("inner", [CANONICAL, legacy(["21.5", "34", "8.25", "67"], "\r\n")])
def test_a_zip_holding_one_csv_is_read(inner: bytes) -> None:
    data = zipped({"predictions.csv": inner})
    assert parse_predictions(data, IDS, filename="predictions.zip").tolist() == VALUES


def test_a_zip_is_detected_by_its_magic_bytes_not_its_name() -> None:
    data = zipped({"predictions.txt": CANONICAL}, compression=zipfile.ZIP_STORED)
    assert parse_predictions(data, IDS, filename="predictions.csv").tolist() == VALUES


def test_a_zip_ignores_folders_mac_metadata_hidden_files_and_other_suffixes() -> None:
    data = zipped(
        {
            "submission/": b"",
            "submission/predictions.csv": CANONICAL,
            "__MACOSX/submission/._predictions.csv": b"\x00\x05\x16\x07junk",
            "submission/.DS_Store": b"\x00\x00",
            ".hidden.csv": b"not,a,prediction",
            "README.md": b"# my submission",
        }
    )
    assert parse_predictions(data, IDS, filename="predictions.zip").tolist() == VALUES


# --- rejections, each with its exact message ----------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\n", b" \r\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_an_empty_file_is_rejected(data: bytes) -> None:
    assert problems_of(data) == one_problem(EMPTY_FILE)


def test_an_empty_file_inside_a_zip_names_the_member_and_the_archive() -> None:
    message = problems_of(zipped({"p.csv": b""}), filename="predictions.zip")
    assert message == one_problem(EMPTY_FILE, "p.csv in predictions.zip")
    assert message == "1 problem in p.csv in predictions.zip: the file is empty"


def test_legacy_form_with_the_wrong_number_of_rows_is_rejected() -> None:
    ids = tuple(f"{i:06d}.jpg" for i in range(1978))
    message = problems_of(legacy(["30"] * 1977), ids=ids)
    assert message == one_problem(WRONG_ROW_COUNT.format(expected=1978, found=1977))
    assert message == "1 problem in predictions.csv: expected 1978 predictions, found 1977"


def test_unparsable_numbers_are_reported_with_their_line_and_counted() -> None:
    message = problems_of(legacy(["21.5", "abc", "8.2.5", "67"]))
    assert message == (
        "2 problems in predictions.csv: line 2: 'abc' is not a number; "
        "line 3: '8.2.5' is not a number"
    )
    assert message == "2 problems in predictions.csv: " + "; ".join(
        [NOT_A_NUMBER.format(line=2, value="abc"), NOT_A_NUMBER.format(line=3, value="8.2.5")]
    )


def test_line_numbers_count_leading_blank_lines() -> None:
    message = problems_of(b"\n\n" + legacy(["21.5", "x", "8", "67"]))
    assert message == one_problem(NOT_A_NUMBER.format(line=4, value="x"))


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-Infinity"])
def test_nan_and_infinity_are_rejected_with_their_line(bad: str) -> None:
    assert problems_of(legacy(["21.5", "34", bad, "67"])) == one_problem(
        NOT_FINITE.format(line=3, value=bad)
    )
    rows = [(IDS[0], "21.5"), (IDS[1], bad), (IDS[2], "8"), (IDS[3], "67")]
    assert problems_of(keyed(rows)) == one_problem(NOT_FINITE.format(line=3, value=bad))


def test_a_blank_line_in_the_middle_is_rejected() -> None:
    message = problems_of(b"21.5\n34\n\n8\n67\n")
    assert message == (
        "2 problems in predictions.csv: expected 4 predictions, found 5; line 3: the line is empty"
    )
    assert EMPTY_LINE.format(line=3) in message


def test_missing_ids_are_counted_and_the_first_few_named() -> None:
    message = problems_of(keyed([(IDS[1], "34")]))
    assert message == one_problem(
        MISSING_IDS.format(count=3, noun="ids", examples="'000001.jpg', '000003.jpg', '000004.jpg'")
    )
    ids = tuple(f"{i:06d}.jpg" for i in range(1978))
    message = problems_of(keyed([(ids[0], "1")]), ids=ids)
    assert message == (
        "1 problem in predictions.csv: no prediction for 1977 ids: "
        "'000001.jpg', '000002.jpg', '000003.jpg', ..."
    )


def test_one_missing_id_is_singular() -> None:
    message = problems_of(keyed([(IDS[0], "1"), (IDS[1], "2"), (IDS[2], "3")]))
    assert message == "1 problem in predictions.csv: no prediction for 1 id: '000004.jpg'"


def test_unknown_ids_are_reported_with_line_and_id() -> None:
    rows = [(IDS[0], "1"), (IDS[1], "2"), ("999999.jpg", "3"), (IDS[2], "3"), (IDS[3], "4")]
    assert problems_of(keyed(rows)) == one_problem(UNKNOWN_ID.format(line=4, id="999999.jpg"))
    assert problems_of(keyed(rows)).endswith("line 4: unknown id '999999.jpg'")


def test_duplicate_ids_are_reported_with_both_lines() -> None:
    rows = [(IDS[0], "1"), (IDS[1], "2"), (IDS[2], "3"), (IDS[3], "4"), (IDS[1], "5")]
    message = problems_of(keyed(rows))
    assert message == one_problem(DUPLICATE_ID.format(line=6, id=IDS[1], first=3))
    assert message.endswith("line 6: duplicate id '000002.jpg', first on line 3")


@pytest.mark.parametrize("header", ["id", "id,value", "name,age", "image,years"])
def test_an_unknown_header_is_rejected(header: str) -> None:
    rows = "".join(f"{value}\n" for value in VALUES) if "," not in header else ""
    data = (header + "\n" + rows).encode()
    assert problems_of(data) == one_problem(UNKNOWN_HEADER.format(line=1, header=header))


@pytest.mark.parametrize("header", ["age", "prediction", "Prediction"])
def test_a_value_column_without_an_id_column_says_so(header: str) -> None:
    data = (header + "\n").encode() + legacy([str(value) for value in VALUES])
    assert problems_of(data) == one_problem(HEADER_WITHOUT_ID.format(line=1, header=header))
    assert problems_of(b"prediction\n21.5\n") == (
        "1 problem in predictions.csv: line 1: the header 'prediction' names a value column but "
        "no id column; add an id column (id, file or file_name), or drop the header and give "
        "one number per line in test order"
    )


def test_a_keyed_row_with_the_wrong_number_of_fields_is_rejected() -> None:
    data = b"id,age\n000001.jpg,1\n000002.jpg\n000003.jpg,3,x\n000004.jpg,4\n"
    message = problems_of(data)
    assert message.startswith(
        "3 problems in predictions.csv: "
        + "; ".join(
            [WRONG_FIELD_COUNT.format(line=3, found=1), WRONG_FIELD_COUNT.format(line=4, found=3)]
        )
    )
    assert message.endswith("no prediction for 2 ids: '000002.jpg', '000003.jpg'")


def test_the_message_lists_at_most_five_problems_and_counts_the_rest() -> None:
    message = problems_of(legacy(["1", "a", "b", "c", "d", "e", "f"]))
    assert message == (
        "7 problems in predictions.csv: expected 4 predictions, found 7; "
        "line 2: 'a' is not a number; line 3: 'b' is not a number; line 4: 'c' is not a number; "
        "line 5: 'd' is not a number; and 2 more"
    )


def test_the_error_keeps_every_problem_and_is_a_scoring_error() -> None:
    with pytest.raises(PredictionFileError) as caught:
        parse_predictions(legacy(["1", "x", "y", "z"] + ["w"] * 6), IDS)
    error = caught.value
    assert isinstance(error, ScoringError) and isinstance(error, ValueError)
    assert len(error.problems) == 10
    assert error.problems[0] == WRONG_ROW_COUNT.format(expected=4, found=10)
    assert str(error) == format_problems("predictions.csv", error.problems)
    assert str(error).endswith("; and 5 more")


def test_format_problems_counts_and_truncates() -> None:
    assert format_problems("p.csv", ["a"]) == "1 problem in p.csv: a"
    assert (
        format_problems("p.csv", list("abcdef")) == "6 problems in p.csv: a; b; c; d; e; and 1 more"
    )


def test_a_file_over_the_size_limit_is_rejected_before_parsing() -> None:
    limits = PredictionLimits(max_file_bytes=10)
    message = problems_of(b"1\n2\n3\n4\n5\n6\n", limits=limits)
    assert message == one_problem(FILE_TOO_LARGE.format(size=12, limit=10))
    assert (
        message == "1 problem in predictions.csv: the file is 12 bytes, over the limit of 10 bytes"
    )


def test_a_file_with_far_too_many_lines_is_cut_short_with_one_problem() -> None:
    # 4 ids: one header + 4 rows + 1000 blank lines is the most that is split.
    message = problems_of(b"x\n" * 20_000)
    assert message == one_problem(TOO_MANY_LINES.format(expected=4, limit=1005))
    assert message == (
        "1 problem in predictions.csv: expected 4 predictions, found more than 1005 lines"
    )


def test_many_trailing_blank_lines_are_still_accepted() -> None:
    data = legacy(["21.5", "34", "8.25", "67"]) + b"\n" * 5000
    assert parse_predictions(data, IDS).tolist() == VALUES


def test_non_utf8_text_is_rejected_with_its_line() -> None:
    data = "id,age\n000001.jpg,1\nbjörk.jpg,2\n".encode("latin-1")
    message = problems_of(data)
    assert message == one_problem(NOT_UTF8.format(line=3, byte=0xF6))
    assert message == (
        "1 problem in predictions.csv: line 3: not UTF-8 text (byte 0xf6); save the file as UTF-8"
    )


def test_utf16_text_is_rejected_as_not_utf8() -> None:
    data = "id,age\n".encode("utf-16")
    assert problems_of(data) == one_problem(NOT_UTF8.format(line=1, byte=0xFF))


def test_more_than_one_candidate_file_in_a_zip_is_rejected() -> None:
    data = zipped({"b.csv": CANONICAL, "a.txt": CANONICAL, "notes.md": b"x"})
    message = problems_of(data, filename="predictions.zip")
    assert message == one_problem(
        TOO_MANY_CANDIDATES_IN_ZIP.format(count=2, names="a.txt, b.csv"), "predictions.zip"
    )
    assert message == (
        "1 problem in predictions.zip: the zip holds 2 .csv or .txt files (a.txt, b.csv); "
        "expected exactly one"
    )


def test_a_zip_without_a_candidate_file_is_rejected() -> None:
    data = zipped({"predictions.xlsx": b"x", "__MACOSX/._p.csv": b"x"})
    assert problems_of(data, filename="p.zip") == one_problem(NO_CANDIDATE_IN_ZIP, "p.zip")
    empty = zipped({})
    assert problems_of(empty, filename="p.zip") == one_problem(NO_CANDIDATE_IN_ZIP, "p.zip")


@pytest.mark.parametrize(
    "name",
    [
        "../predictions.csv",
        "/predictions.csv",
        "a/../../etc/passwd",
        "C:/p.csv",
        "..\\p.csv",
        "notes/../../x.md",
    ],
)
def test_a_zip_entry_with_an_absolute_path_or_dotdot_is_rejected(name: str) -> None:
    data = zipped({"predictions.csv": CANONICAL, name: b"1\n"})
    assert problems_of(data, filename="p.zip") == one_problem(
        UNSAFE_ZIP_ENTRY.format(name=name), "p.zip"
    )


def test_an_unsafe_zip_entry_message_reads_plainly() -> None:
    data = zipped({"../evil.csv": CANONICAL})
    assert problems_of(data, filename="p.zip") == (
        "1 problem in p.zip: entry '../evil.csv' has an absolute path or '..'"
    )


def test_a_zip_with_too_many_entries_is_rejected_before_it_is_opened() -> None:
    data = zipped({f"junk/{i}.md": b"" for i in range(12)} | {"p.csv": CANONICAL})
    message = problems_of(data, filename="p.zip", limits=PredictionLimits(max_zip_entries=10))
    problem = TOO_MANY_ZIP_ENTRIES.format(file="p.zip", count=13, limit=10)
    assert message == one_problem(problem, "p.zip")
    assert message == "1 problem in p.zip: p.zip holds 13 entries, over the limit of 10"


def test_a_zip_whose_uncompressed_total_is_over_the_limit_is_rejected() -> None:
    limits = PredictionLimits(max_uncompressed_bytes=100)
    data = zipped({"predictions.csv": CANONICAL, "junk/a.bin": bytes(range(60))})
    message = problems_of(data, filename="p.zip", limits=limits)
    total = len(CANONICAL) + 60
    assert message == one_problem(UNCOMPRESSED_TOO_LARGE.format(total=total, limit=100), "p.zip")
    assert message == (
        f"1 problem in p.zip: {total} bytes uncompressed in all, over the limit of 100 bytes"
    )


def test_a_zip_bomb_is_rejected_by_its_compression_ratio_before_decompressing() -> None:
    bomb = b"0\n" * (4 * 1024 * 1024)
    data = zipped({"predictions.csv": bomb})
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("predictions.csv")
    message = problems_of(data, filename="p.zip")
    expected = ZIP_BOMB.format(
        name="predictions.csv",
        ratio=info.file_size / info.compress_size,
        size=info.file_size,
        compressed=info.compress_size,
        limit=100,
    )
    assert message == one_problem(expected, "p.zip")
    assert message.startswith("1 problem in p.zip: entry 'predictions.csv' expands ")
    assert message.endswith(", over the limit of 100:1")


def test_a_small_well_compressed_file_is_not_mistaken_for_a_bomb() -> None:
    ids = tuple(f"{i:06d}.jpg" for i in range(1978))
    data = zipped({"predictions.csv": legacy(["50.0"] * 1978)})
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("predictions.csv")
    assert info.file_size / info.compress_size > 100
    assert parse_predictions(data, ids, filename="p.zip").tolist() == [50.0] * 1978


@pytest.mark.parametrize(
    "data",
    [b"PK\x03\x04" + b"\x00" * 40, zipped({"p.csv": CANONICAL})[:-30], b"1\n2\n3\n4\n"],
    ids=["garbage-after-magic", "truncated", "text-named-zip"],
)
def test_a_corrupt_zip_is_rejected(data: bytes) -> None:
    with pytest.raises(zipfile.BadZipFile) as reason:
        zipfile.ZipFile(io.BytesIO(data))
    problem = NOT_A_ZIP.format(file="predictions.zip", reason=reason.value)
    assert problems_of(data, filename="predictions.zip") == one_problem(problem, "predictions.zip")
    assert problem == "predictions.zip is not a readable zip file (File is not a zip file)"


def test_a_zip_entry_with_a_bad_checksum_is_rejected_as_corrupt() -> None:
    data = bytearray(zipped({"p.csv": CANONICAL}, compression=zipfile.ZIP_STORED))
    data[data.index(b"000001.jpg")] ^= 0x01
    problem = "p.zip: entry 'p.csv' is corrupt (Bad CRC-32 for file 'p.csv')"
    assert problems_of(bytes(data), filename="p.zip") == one_problem(problem, "p.zip")


def test_an_encrypted_zip_entry_is_rejected() -> None:
    data = bytearray(zipped({"p.csv": CANONICAL}, compression=zipfile.ZIP_STORED))
    # Set the "encrypted" bit of the general-purpose flags, local header and central directory.
    data[data.index(b"PK\x03\x04") + 6] |= 0x1
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    assert problems_of(bytes(data), filename="p.zip") == one_problem(
        ZIP_ENTRY_ENCRYPTED.format(name="p.csv"), "p.zip"
    )


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=-1e4, max_value=1e4, allow_nan=False), min_size=1, max_size=40
    ),
    data=st.data(),
)
def test_keyed_csv_in_any_order_equals_legacy_in_canonical_order(
    values: list[float], data: st.DataObject
) -> None:
    ids = tuple(f"img{i:04d}.png" for i in range(len(values)))
    order = data.draw(st.permutations(range(len(values))))
    keyed_data = keyed([(ids[i], repr(values[i])) for i in order], header="file_name,prediction")
    legacy_data = legacy([repr(value) for value in values], "\r\n")
    from_keyed = parse_predictions(keyed_data, ids)
    from_legacy = parse_predictions(legacy_data, ids)
    assert from_keyed.tolist() == from_legacy.tolist() == values
