"""Prediction values and headers (SPEC §4, issue 9): plain ASCII decimals within ±10,000 only,
a message that names the real problem for each common mistake, and messages that stay short
whatever the file holds."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import EXCERPT_CHARS, MAX_MESSAGE_CHARS
from scoring.predictions import (
    BAD_QUOTING,
    BRACKETED_VALUE,
    DECIMAL_COMMA,
    MISSING_HEADER,
    NOT_A_NUMBER,
    NOT_FINITE,
    NOT_PLAIN_DECIMAL,
    OUT_OF_RANGE,
    PANDAS_INDEX,
    SEMICOLON_SEPARATED,
    TAB_SEPARATED,
    TOO_MANY_COLUMNS,
    UNKNOWN_ID,
    PredictionFileError,
    parse_predictions,
)

IDS = ("000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg")


def problems(data: bytes, ids: tuple[str, ...] = IDS, filename: str = "p.csv") -> list[str]:
    """Every problem parsing ``data`` reports (it must fail)."""
    with pytest.raises(PredictionFileError) as caught:
        parse_predictions(data, ids, filename=filename)
    return caught.value.problems


def message(data: bytes, ids: tuple[str, ...] = IDS, filename: str = "p.csv") -> str:
    with pytest.raises(PredictionFileError) as caught:
        parse_predictions(data, ids, filename=filename)
    return str(caught.value)


def lines(*values: str, separator: str = "\n") -> bytes:
    return "".join(value + separator for value in values).encode()


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["3_0", "1_000.5", "٣٠", "３０", "३०"])
def test_numbers_python_would_read_but_are_not_plain_decimals_are_refused(value: str) -> None:
    assert problems(lines("21.5", value, "8", "67")) == [
        NOT_PLAIN_DECIMAL.format(line=2, value=value)
    ]
    keyed = f"id,age\n000001.jpg,21.5\n000002.jpg,{value}\n000003.jpg,8\n000004.jpg,67\n"
    assert problems(keyed.encode()) == [NOT_PLAIN_DECIMAL.format(line=3, value=value)]


def test_the_not_plain_decimal_message_says_what_to_write() -> None:
    assert NOT_PLAIN_DECIMAL.format(line=2, value="3_0") == (
        "line 2: '3_0' is not a plain decimal number; write ASCII digits with an optional sign, "
        "decimal point and exponent (34.5 or 3.45e1)"
    )


@pytest.mark.parametrize("value", ["0x1e", "1e", "--1", "1.5.2", "thirty"])
def test_hex_and_other_text_is_not_a_number(value: str) -> None:
    assert problems(lines("21.5", value, "8", "67")) == [NOT_A_NUMBER.format(line=2, value=value)]


@pytest.mark.parametrize("value", ["inf", "-Infinity", "nan"])
def test_nan_and_infinity_words_are_not_finite(value: str) -> None:
    assert problems(lines("21.5", value, "8", "67")) == [NOT_FINITE.format(line=2, value=value)]


@pytest.mark.parametrize("value", ["34.5", "3.45e1", "+34.5", "-.5", "5.", " 34.5\t", "1E2"])
def test_plain_decimals_and_scientific_notation_are_accepted(value: str) -> None:
    assert parse_predictions(lines(value), ("a",)).tolist() == [float(value)]


def test_the_bounds_themselves_are_accepted() -> None:
    assert parse_predictions(lines("10000", "-10000", "1e4", "-1E+4"), IDS).tolist() == [
        10000.0,
        -10000.0,
        10000.0,
        -10000.0,
    ]


@pytest.mark.parametrize("value", ["10000.001", "-10000.5", "1e308", "-1e5", "1e999"])
def test_a_value_beyond_ten_thousand_is_refused_with_its_line(value: str) -> None:
    assert problems(lines("21.5", "34", value, "67")) == [OUT_OF_RANGE.format(line=3, value=value)]


def test_two_huge_values_are_both_reported_with_their_lines_and_ids() -> None:
    data = b"id,age\n000001.jpg,1e308\n000002.jpg,2\n000003.jpg,3\n000004.jpg,1e308\n"
    assert message(data) == (
        "2 problems in p.csv: line 2: '1e308' is beyond ±10,000; a prediction is an age in "
        "years; line 5: '1e308' is beyond ±10,000; a prediction is an age in years"
    )
    assert problems(lines("1e308", "1e308"), ids=("a", "b")) == [
        OUT_OF_RANGE.format(line=1, value="1e308"),
        OUT_OF_RANGE.format(line=2, value="1e308"),
    ]


# --- the common mistakes, each named ---------------------------------------------------------


def test_a_decimal_comma_in_the_legacy_form_is_named() -> None:
    assert problems(lines("21,5", "34", "8", "67")) == [DECIMAL_COMMA.format(line=1, value="21,5")]
    assert DECIMAL_COMMA.format(line=1, value="21,5") == (
        "line 1: '21,5' has a decimal comma; write the number with a decimal point (34.5)"
    )


def test_a_decimal_comma_in_a_keyed_file_is_named_quoted_or_not() -> None:
    unquoted = b"id,age\n000001.jpg,21,5\n000002.jpg,34\n000003.jpg,8\n000004.jpg,67\n"
    assert problems(unquoted)[0] == DECIMAL_COMMA.format(line=2, value="21,5")
    value_first = b"age,id\n21,5,000001.jpg\n34,000002.jpg\n8,000003.jpg\n67,000004.jpg\n"
    assert problems(value_first)[0] == DECIMAL_COMMA.format(line=2, value="21,5")
    quoted = b'id,age\n"000001.jpg","21,5"\n000002.jpg,34\n000003.jpg,8\n000004.jpg,67\n'
    assert problems(quoted) == [DECIMAL_COMMA.format(line=2, value="21,5")]


def test_a_bracketed_value_is_named() -> None:
    assert problems(lines("[21.5]", "[34]", "8", "67")) == [
        BRACKETED_VALUE.format(line=1, value="[21.5]"),
        BRACKETED_VALUE.format(line=2, value="[34]"),
    ]
    keyed = b"id,age\n000001.jpg,[21.5]\n000002.jpg,34\n000003.jpg,8\n000004.jpg,67\n"
    assert problems(keyed) == [BRACKETED_VALUE.format(line=2, value="[21.5]")]
    assert BRACKETED_VALUE.format(line=2, value="[21.5]") == (
        "line 2: '[21.5]' is in brackets; write the bare number (34.5), not a list or an array"
    )


def test_a_tab_separated_keyed_file_is_named() -> None:
    data = b"id\tage\n000001.jpg\t21.5\n000002.jpg\t34\n000003.jpg\t8\n000004.jpg\t67\n"
    assert problems(data) == [TAB_SEPARATED.format(line=1)]
    assert TAB_SEPARATED.format(line=1) == (
        "line 1: the fields are separated by tabs; separate the id and the value with a comma"
    )


def test_a_semicolon_separated_keyed_file_is_named() -> None:
    data = b"id;age\n000001.jpg;21,5\n000002.jpg;34\n000003.jpg;8\n000004.jpg;67\n"
    assert problems(data) == [SEMICOLON_SEPARATED.format(line=1)]
    assert SEMICOLON_SEPARATED.format(line=1) == (
        "line 1: the fields are separated by semicolons; separate the id and the value with a "
        "comma (and write numbers with a decimal point)"
    )


def test_rows_separated_by_semicolons_under_a_good_header_are_named() -> None:
    data = b"id,age\n000001.jpg;21.5\n000002.jpg,34\n000003.jpg,8\n000004.jpg,67\n"
    assert problems(data)[0] == SEMICOLON_SEPARATED.format(line=2)


@pytest.mark.parametrize("header", ["id,age,gender", "file_name,prediction,age", "id,age,"])
def test_a_three_column_file_is_named(header: str) -> None:
    data = (header + "\n000001.jpg,21.5,x\n").encode()
    assert problems(data) == [TOO_MANY_COLUMNS.format(line=1, header=header, count=3)]
    assert TOO_MANY_COLUMNS.format(line=1, header="id,age,gender", count=3) == (
        "line 1: the header 'id,age,gender' has 3 columns; expected exactly two, an id column "
        "(id, file or file_name) and a value column (age or prediction)"
    )


@pytest.mark.parametrize(("header", "name"), [(",id,age", ""), ("Unnamed: 0,id,age", "Unnamed: 0")])
def test_a_pandas_index_column_is_named(header: str, name: str) -> None:
    data = (header + "\n0,000001.jpg,21.5\n").encode()
    assert problems(data) == [PANDAS_INDEX.format(line=1, name=name)]
    assert PANDAS_INDEX.format(line=1, name="") == (
        "line 1: the first column has no name (''), like the index pandas writes; save the file "
        "without it (DataFrame.to_csv(..., index=False))"
    )


def test_a_file_that_starts_with_data_instead_of_a_header_is_named() -> None:
    data = b"000001.jpg,21.5\n000002.jpg,34\n000003.jpg,8\n000004.jpg,67\n"
    assert problems(data) == [MISSING_HEADER.format(line=1, header="000001.jpg,21.5")]
    assert MISSING_HEADER.format(line=1, header="a.jpg,1") == (
        "line 1: 'a.jpg,1' is data, not a header; start the file with the header line id,age"
    )


# --- bounded messages ------------------------------------------------------------------------

HUGE = 15 * 1024 * 1024


def assert_short(text: str) -> None:
    assert len(text) <= MAX_MESSAGE_CHARS
    # No run of one character longer than an excerpt: user input was cut.
    assert "1" * (EXCERPT_CHARS + 1) not in text and "x" * (EXCERPT_CHARS + 1) not in text


def test_a_15_mb_single_number_gives_a_short_message() -> None:
    text = message(b"1" * HUGE, ids=("a",))
    assert text == (
        "1 problem in p.csv: line 1: '1111111111111111111111111111111111111...' is beyond "
        "±10,000; a prediction is an age in years"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"x" * HUGE,
        b"1\n" + b"x" * HUGE,
        b"id,age\n" + b"x" * HUGE + b",1\n",
        b"id,age\na," + b"1" * HUGE + b"\n",
        b"id," + b"x" * HUGE + b"\n",
        b"id\t" + b"x" * HUGE + b"\n",
        b"," + b"x" * HUGE + b",age\n",
        b'"' + b"x" * HUGE + b'"\n',
    ],
    ids=["garbage", "legacy-value", "id", "keyed-value", "header", "tabs", "index", "quoted"],
)
def test_huge_input_anywhere_gives_a_short_message(data: bytes) -> None:
    assert_short(message(data, ids=("a",)))


def test_a_quoted_field_csv_cannot_read_is_refused_with_its_line() -> None:
    data = b'id,age\n"' + b"x" * 200_000 + b'",1\n'
    assert problems(data, ids=("a",)) == [
        BAD_QUOTING.format(line=2, reason="field larger than field limit (131072)")
    ]


def test_a_huge_unknown_id_is_quoted_as_an_excerpt() -> None:
    data = b"id,age\n" + b"x" * 10_000 + b",1\n"
    assert problems(data, ids=("a",))[0] == UNKNOWN_ID.format(
        line=2, id="x" * (EXCERPT_CHARS - 3) + "..."
    )


def test_huge_names_in_a_zip_and_a_huge_file_name_give_a_short_message() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x" * 5000 + ".csv", b"1\n")
        archive.writestr("../" + "x" * 5000, b"1\n")
    assert_short(message(buffer.getvalue(), filename="x" * 5000 + ".zip"))


# --- fuzzing ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=200)
    | st.text(alphabet='0123456789.,;\t\n\r eE+-_[]"idagex', max_size=80).map(str.encode)
)
def test_any_file_is_parsed_into_bounded_values_or_refused_with_a_short_message(
    data: bytes,
) -> None:
    try:
        values = parse_predictions(data, ("a", "b"))
    except PredictionFileError as error:
        assert 0 < len(str(error)) <= MAX_MESSAGE_CHARS
    else:
        assert values.shape == (2,)
        assert np.isfinite(values).all() and (np.abs(values) <= 10_000).all()
