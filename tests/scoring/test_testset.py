"""scoring.testset: the layouts of SPEC §2, validation, zip safety, import and TestSet itself."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import ScoringError
from scoring.groups import ATTRIBUTES
from scoring.testset import (
    APPA_UNMATCHED,
    BAD_IMAGE_SIZE,
    DEST_EXISTS,
    DUPLICATE_COLUMN,
    DUPLICATE_ID,
    EMPTY_FILE,
    EMPTY_ID,
    IMPORT_NEEDS_IMAGES,
    MAX_COMPRESSION_RATIO,
    MISSING_COLUMN,
    MISSING_IMAGE,
    NEGATIVE_NUMBER,
    NO_DATA_ROWS,
    NOT_A_NUMBER,
    NOT_FINITE,
    NOT_UTF8,
    NPY_BAD_DTYPE,
    NPY_BAD_SHAPE,
    NPY_ROW_MISMATCH,
    NPY_TRUNCATED,
    NPY_UNREADABLE,
    SOURCE_NOT_FOUND,
    TOO_LARGE,
    UNDECODABLE_IMAGE,
    UNKNOWN_LAYOUT,
    UNKNOWN_VALUE,
    UNRECOGNISED_IMAGE,
    UNSAFE_IMAGE_NAME,
    UNSUPPORTED_SOURCE,
    WRONG_FIELD_COUNT,
    ZIP_BOMB_RATIO,
    ZIP_CORRUPT,
    ZIP_DUPLICATE_ENTRY,
    ZIP_ENTRY_CORRUPT,
    ZIP_SYMLINK,
    ZIP_TOO_LARGE,
    ZIP_UNSAFE_PATH,
    ImportReport,
    TestSet,
    TestSetError,
    import_testset,
    read_labels,
)
from tests.scoring.testset_factories import (
    APPA_CATEGORY_HEADER,
    APPA_CATEGORY_ROWS,
    APPA_GT_HEADER,
    APPA_GT_ROWS,
    HEADER,
    ROWS,
    appa_files,
    array_files,
    array_images,
    csv_text,
    generic_files,
    image_bytes,
    in_file,
    summary,
    write_files,
    write_symlink_entry,
    write_zip,
)

GENDER = "female or male"
ETHNICITY = "asian, afroamerican or caucasian"
EXPRESSION = "happy, slightlyhappy, neutral or other"


def labels_file(tmp_path: Path, rows, header=HEADER, *, newline: str = "\n") -> Path:
    path = tmp_path / "labels.csv"
    path.write_text(csv_text(header, rows, newline=newline), encoding="utf-8")
    return path


def with_cell(row_index: int, column: str, value: str, rows=ROWS) -> list[tuple[str, ...]]:
    changed = [list(row) for row in rows]
    changed[row_index][HEADER.index(column)] = value
    return [tuple(row) for row in changed]


def raises_problems(call, where: str, problems: list[str]) -> None:
    """``call()`` raises a TestSetError listing exactly ``problems`` found in ``where``."""
    with pytest.raises(TestSetError) as caught:
        call()
    assert caught.value.problems == problems
    assert str(caught.value) == summary(where, problems)


def raises_single(call, message: str) -> None:
    with pytest.raises(TestSetError) as caught:
        call()
    assert str(caught.value) == message
    assert caught.value.problems == [message]


# --- Layouts ------------------------------------------------------------------------------------


def test_generic_labels_csv_is_read_in_row_order_with_categories_lower_case(tmp_path):
    testset = read_labels(labels_file(tmp_path, ROWS))
    assert testset.ids == tuple(row[0] for row in ROWS)
    assert testset.age.dtype == np.float64
    assert testset.age.tolist() == [12.5, 25.0, 47.25, 68.0, 33.3]
    assert testset.gender.tolist() == ["female", "male", "female", "male", "male"]
    assert testset.ethnicity[1] == "afroamerican"
    assert testset.expression.tolist()[:2] == ["happy", "slightlyhappy"]
    assert testset.real_age is not None
    assert testset.real_age[:3].tolist() == [13.0, 24.0, 50.0]
    assert np.isnan(testset.real_age[3])
    assert dict(testset.extras) == {}


def test_category_values_match_case_insensitively_and_are_stored_lower_case(tmp_path):
    rows = with_cell(0, "gender", "FEMALE", with_cell(1, "ethnicity", "AfroAmerican"))
    rows = with_cell(2, "expression", "SlightlyHappy", rows)
    testset = read_labels(labels_file(tmp_path, rows))
    assert testset.gender[0] == "female"
    assert testset.ethnicity[1] == "afroamerican"
    assert testset.expression[2] == "slightlyhappy"


def test_bom_crlf_blanks_and_trailing_empty_lines_are_accepted(tmp_path):
    plain = read_labels(labels_file(tmp_path, ROWS))
    text = csv_text(HEADER, ROWS, newline="\r\n").replace("female", "  female ")
    (tmp_path / "labels.csv").write_bytes(b"\xef\xbb\xbf" + text.encode() + b"\r\n\r\n")
    assert read_labels(tmp_path / "labels.csv").fingerprint() == plain.fingerprint()


def test_real_age_is_optional_and_unknown_columns_are_kept_as_extras(tmp_path):
    header = ("ID", "Age", "gender", "ethnicity", "expression", "session")
    rows = [(*row[:5], f"s{index}") for index, row in enumerate(ROWS)]
    testset = read_labels(labels_file(tmp_path, rows, header))
    assert testset.real_age is None
    assert testset.extras["session"].tolist() == ["s0", "s1", "s2", "s3", "s4"]


@pytest.mark.parametrize("where", ["folder", "zip", "zip-in-folder", "folder-in-folder"])
def test_generic_layout_is_found_in_a_folder_or_zip_at_the_top_or_in_one_folder(tmp_path, where):
    files = generic_files()
    if where == "folder":
        source = write_files(tmp_path / "set", files)
    elif where == "folder-in-folder":
        source = tmp_path / "outer"
        write_files(source / "inner", files)
        (source / ".DS_Store").write_bytes(b"clutter")
    elif where == "zip":
        source = write_zip(tmp_path / "set.zip", files)
    else:
        source = write_zip(tmp_path / "set.zip", files, root="release/")
    assert read_labels(source).ids == tuple(row[0] for row in ROWS)


def test_zip_with_macos_clutter_next_to_the_one_folder_is_still_found(tmp_path):
    files = {
        **{f"set/{k}": v for k, v in generic_files().items()},
        "__MACOSX/set/._labels.csv": b"\x00",
    }
    assert len(read_labels(write_zip(tmp_path / "set.zip", files))) == len(ROWS)


def test_appa_real_layout_joins_the_two_csvs_in_gt_order(tmp_path):
    testset = read_labels(write_files(tmp_path / "appa", appa_files()))
    assert testset.ids == ("005613.jpg", "005614.jpg", "005615.jpg")
    assert testset.age.tolist() == [25.5, 61.75, 8.0]
    assert testset.gender.tolist() == ["male", "female", "female"]
    assert testset.ethnicity.tolist() == ["caucasian", "afroamerican", "asian"]
    assert testset.expression.tolist() == ["happy", "slightlyhappy", "other"]
    assert testset.real_age is not None
    assert testset.real_age.tolist() == [27.0, 60.0, 9.0]
    assert testset.extras["makeup"].tolist() == ["makeup", "notclear", "nomakeup"]
    assert testset.extras["time"].tolist() == ["modernphoto", "oldphoto", "modernphoto"]
    assert testset.extras["num_ratings"].tolist() == ["38", "40", "36"]
    assert testset.extras["apparent_age_std"].tolist() == ["3.2", "5.1", "1.9"]


def test_appa_real_category_file_may_name_the_face_crops(tmp_path):
    rows = [(f"{row[0]}_face.jpg", *row[1:]) for row in APPA_CATEGORY_ROWS]
    plain = read_labels(write_files(tmp_path / "plain", appa_files()))
    faces = read_labels(write_files(tmp_path / "faces", appa_files(category_rows=rows)))
    assert faces.ids == plain.ids
    assert faces.fingerprint() == plain.fingerprint()


def test_appa_real_zip_of_the_release_folder_and_a_csv_path_read_the_same(tmp_path):
    folder = write_files(tmp_path / "appa", appa_files())
    from_zip = read_labels(write_zip(tmp_path / "appa.zip", appa_files(), root="appa-real/"))
    from_csv = read_labels(folder / "allcategories_test.csv")
    assert from_zip.fingerprint() == from_csv.fingerprint() == read_labels(folder).fingerprint()


def test_appa_validation_split_is_read_from_either_of_its_csv_files(tmp_path):
    def release(name: str, gt_rows) -> Path:
        files = appa_files(gt_rows=gt_rows)
        return write_files(
            tmp_path / name,
            {
                "gt_avg_valid.csv": files["gt_avg_test.csv"],
                "allcategories_valid.csv": files["allcategories_test.csv"],
            },
        )

    folder = release("complete", APPA_GT_ROWS)
    from_gt = read_labels(folder / "gt_avg_valid.csv")
    assert from_gt.ids == ("005613.jpg", "005614.jpg", "005615.jpg")
    assert from_gt.fingerprint() == read_labels(folder / "allcategories_valid.csv").fingerprint()
    partial = release("partial", APPA_GT_ROWS[:2])
    raises_problems(
        lambda: read_labels(partial / "gt_avg_valid.csv"),
        "allcategories_valid.csv",
        [APPA_UNMATCHED.format(row=1, column="file", value="005615.jpg", other="gt_avg_valid.csv")],
    )


@pytest.mark.parametrize("as_zip", [False, True])
def test_array_layout_reads_the_labels_next_to_images_npy(tmp_path, as_zip):
    files = array_files()
    source = (
        write_zip(tmp_path / "set.zip", files) if as_zip else write_files(tmp_path / "set", files)
    )
    assert read_labels(source).ids == tuple(row[0] for row in ROWS)


def test_a_source_without_a_known_layout_is_rejected(tmp_path):
    source = write_files(tmp_path / "set", {"a/labels.csv": "x", "b/readme.txt": "y"})
    raises_single(lambda: read_labels(source), UNKNOWN_LAYOUT.format(source="set"))
    archive = write_zip(tmp_path / "set.zip", {"notes.txt": "nothing here"})
    raises_single(lambda: read_labels(archive), UNKNOWN_LAYOUT.format(source="set.zip"))


def test_a_missing_or_unsupported_source_is_rejected(tmp_path):
    raises_single(
        lambda: read_labels(tmp_path / "nope"), SOURCE_NOT_FOUND.format(path=tmp_path / "nope")
    )
    other = tmp_path / "labels.txt"
    other.write_text("hello")
    raises_single(lambda: read_labels(other), UNSUPPORTED_SOURCE.format(path=other))


# --- Label validation ---------------------------------------------------------------------------


def test_testset_error_is_a_scoring_error():
    assert issubclass(TestSetError, ScoringError)
    assert issubclass(TestSetError, ValueError)


def test_unknown_category_value_names_row_column_and_value(tmp_path):
    rows = with_cell(3, "gender", "unknown")
    raises_problems(
        lambda: read_labels(labels_file(tmp_path, rows)),
        "labels.csv",
        [UNKNOWN_VALUE.format(row=4, column="gender", value="unknown", expected=GENDER)],
    )


def test_unknown_value_message_reads_as_the_spec_example(tmp_path):
    rows = with_cell(3, "gender", "unknown")
    with pytest.raises(TestSetError) as caught:
        read_labels(labels_file(tmp_path, rows))
    assert str(caught.value) == (
        "1 problem in labels.csv: row 4, column 'gender': unknown value 'unknown' "
        "(expected female or male)"
    )


def test_every_problem_is_collected_in_row_order(tmp_path):
    rows = with_cell(4, "ethnicity", "martian", with_cell(1, "age", "old"))
    rows = with_cell(1, "expression", "Grumpy", rows)
    raises_problems(
        lambda: read_labels(labels_file(tmp_path, rows)),
        "labels.csv",
        [
            NOT_A_NUMBER.format(row=2, column="age", value="old"),
            UNKNOWN_VALUE.format(row=2, column="expression", value="Grumpy", expected=EXPRESSION),
            UNKNOWN_VALUE.format(row=5, column="ethnicity", value="martian", expected=ETHNICITY),
        ],
    )


def test_message_lists_the_first_five_problems_and_counts_the_rest(tmp_path):
    rows = [(f"{index}.png", "-1", "male", "asian", "happy", "") for index in range(7)]
    problems = [NEGATIVE_NUMBER.format(row=row, column="age", value="-1") for row in range(1, 8)]
    raises_problems(lambda: read_labels(labels_file(tmp_path, rows)), "labels.csv", problems)
    with pytest.raises(TestSetError) as caught:
        read_labels(labels_file(tmp_path, rows))
    assert str(caught.value).startswith("7 problems in labels.csv: row 1, column 'age': ")
    assert str(caught.value).endswith("; and 2 more")


@pytest.mark.parametrize(
    ("value", "template"),
    [
        ("abc", NOT_A_NUMBER),
        ("", NOT_A_NUMBER),
        ("nan", NOT_FINITE),
        ("inf", NOT_FINITE),
        ("-0.5", NEGATIVE_NUMBER),
        ("3_0", NOT_A_NUMBER),
        ("٣٠", NOT_A_NUMBER),
        ("10000.5", TOO_LARGE),
        ("1e999", TOO_LARGE),
    ],
)
def test_age_must_be_a_plain_finite_non_negative_number_up_to_10000(tmp_path, value, template):
    raises_problems(
        lambda: read_labels(labels_file(tmp_path, with_cell(2, "age", value))),
        "labels.csv",
        [template.format(row=3, column="age", value=value)],
    )


def test_a_huge_age_cell_is_quoted_as_an_excerpt(tmp_path):
    raises_problems(
        lambda: read_labels(labels_file(tmp_path, with_cell(0, "age", "9" * 100_000))),
        "labels.csv",
        [TOO_LARGE.format(row=1, column="age", value="9" * 37 + "...")],
    )


def test_a_test_set_built_in_code_refuses_ages_over_10000():
    with pytest.raises(TestSetError) as caught:
        TestSet(
            ids=("a",), age=[20_000.0], gender=["male"], ethnicity=["asian"], expression=["happy"]
        )
    assert caught.value.problems == [TOO_LARGE.format(row=1, column="age", value="20000.0")]


def test_real_age_may_be_empty_but_not_malformed(tmp_path):
    raises_problems(
        lambda: read_labels(labels_file(tmp_path, with_cell(0, "real_age", "twelve"))),
        "labels.csv",
        [NOT_A_NUMBER.format(row=1, column="real_age", value="twelve")],
    )


def test_duplicate_id_names_both_rows(tmp_path):
    rows = with_cell(4, "id", "000002.png")
    raises_problems(
        lambda: read_labels(labels_file(tmp_path, rows)),
        "labels.csv",
        [DUPLICATE_ID.format(row=5, column="id", value="000002.png", first=2)],
    )


def test_empty_id_is_rejected(tmp_path):
    raises_problems(
        lambda: read_labels(labels_file(tmp_path, with_cell(1, "id", "  "))),
        "labels.csv",
        [EMPTY_ID.format(row=2, column="id")],
    )


def test_missing_required_column_is_named(tmp_path):
    header = ("id", "age", "ethnicity", "expression")
    rows = [(row[0], row[1], row[3], row[4]) for row in ROWS]
    raises_problems(
        lambda: read_labels(labels_file(tmp_path, rows, header)),
        "labels.csv",
        [MISSING_COLUMN.format(column="gender", found="id, age, ethnicity, expression")],
    )


def test_duplicate_header_column_is_rejected(tmp_path):
    header = (*HEADER[:5], "Gender")
    rows = [(*row[:5], "male") for row in ROWS]
    raises_problems(
        lambda: read_labels(labels_file(tmp_path, rows, header)),
        "labels.csv",
        [DUPLICATE_COLUMN.format(column="gender")],
    )


def test_row_with_the_wrong_number_of_fields_is_rejected(tmp_path):
    rows = [*ROWS[:2], (*ROWS[2], "extra"), *ROWS[3:]]
    raises_problems(
        lambda: read_labels(labels_file(tmp_path, rows)),
        "labels.csv",
        [WRONG_FIELD_COUNT.format(row=3, found=7, expected=6)],
    )


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf  \r\n"])
def test_empty_labels_file_is_rejected(tmp_path, content):
    (tmp_path / "labels.csv").write_bytes(content)
    raises_single(
        lambda: read_labels(tmp_path / "labels.csv"), EMPTY_FILE.format(file="labels.csv")
    )


def test_labels_file_with_only_a_header_is_rejected(tmp_path):
    raises_single(
        lambda: read_labels(labels_file(tmp_path, [])), NO_DATA_ROWS.format(file="labels.csv")
    )


def test_labels_file_that_is_not_utf8_is_rejected(tmp_path):
    (tmp_path / "labels.csv").write_bytes(csv_text(HEADER, ROWS).encode() + b"\xff\n")
    raises_single(
        lambda: read_labels(tmp_path / "labels.csv"),
        NOT_UTF8.format(file="labels.csv", reason="invalid start byte"),
    )


def test_appa_file_in_one_csv_but_not_the_other_is_named_in_both(tmp_path):
    gt = [*APPA_GT_ROWS[:2], ("009999.jpg", "30", "40.0", "2.0", "41")]
    source = write_files(tmp_path / "appa", appa_files(gt_rows=gt))
    raises_problems(
        lambda: read_labels(source),
        "gt_avg_test.csv and allcategories_test.csv",
        [
            in_file(
                "gt_avg_test.csv",
                APPA_UNMATCHED.format(
                    row=3, column="file_name", value="009999.jpg", other="allcategories_test.csv"
                ),
            ),
            in_file(
                "allcategories_test.csv",
                APPA_UNMATCHED.format(
                    row=1, column="file", value="005615.jpg", other="gt_avg_test.csv"
                ),
            ),
        ],
    )


def test_appa_category_problems_name_the_release_columns(tmp_path):
    rows = [
        APPA_CATEGORY_ROWS[0],
        ("005613.jpg", "male", "martian", "x", "y", "sad"),
        APPA_CATEGORY_ROWS[2],
    ]
    raises_problems(
        lambda: read_labels(write_files(tmp_path / "appa", appa_files(category_rows=rows))),
        "allcategories_test.csv",
        [
            UNKNOWN_VALUE.format(row=2, column="race", value="martian", expected=ETHNICITY),
            UNKNOWN_VALUE.format(row=2, column="happiness", value="sad", expected=EXPRESSION),
        ],
    )


def test_appa_missing_column_names_its_file(tmp_path):
    files = appa_files()
    header = ",".join(name for name in APPA_GT_HEADER if name != "apparent_age_avg")
    files["gt_avg_test.csv"] = header + "\n005613.jpg,38,3.2,27\n"
    raises_problems(
        lambda: read_labels(write_files(tmp_path / "appa", files)),
        "gt_avg_test.csv",
        [MISSING_COLUMN.format(column="apparent_age_avg", found=header.replace(",", ", "))],
    )


def test_appa_duplicate_file_counts_face_and_plain_names_as_one(tmp_path):
    rows = [*APPA_CATEGORY_ROWS, ("005613.jpg_face.jpg", *APPA_CATEGORY_ROWS[1][1:])]
    raises_problems(
        lambda: read_labels(write_files(tmp_path / "appa", appa_files(category_rows=rows))),
        "allcategories_test.csv",
        [DUPLICATE_ID.format(row=4, column="file", value="005613.jpg_face.jpg", first=2)],
    )
    assert APPA_CATEGORY_HEADER[0] == "file"


# --- Zip safety ---------------------------------------------------------------------------------


def test_zip_entry_with_dotdot_is_rejected(tmp_path):
    archive = write_zip(tmp_path / "set.zip", {**generic_files(), "../evil.txt": "x"})
    raises_problems(
        lambda: read_labels(archive), "set.zip", [ZIP_UNSAFE_PATH.format(name="../evil.txt")]
    )
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("name", ["/etc/evil.txt", "C:/evil.txt", "images/..\\..\\evil.txt"])
def test_zip_entry_with_an_absolute_path_is_rejected(tmp_path, name):
    archive = write_zip(tmp_path / "set.zip", {**generic_files(), name: "x"})
    raises_problems(lambda: read_labels(archive), "set.zip", [ZIP_UNSAFE_PATH.format(name=name)])


def test_zip_symlink_entry_is_rejected(tmp_path):
    archive = write_zip(tmp_path / "set.zip", generic_files())
    write_symlink_entry(archive, "images/link.png", "/etc/passwd")
    raises_problems(
        lambda: read_labels(archive), "set.zip", [ZIP_SYMLINK.format(name="images/link.png")]
    )


def test_zip_bomb_by_compression_ratio_is_rejected(tmp_path):
    archive = write_zip(tmp_path / "set.zip", {**generic_files(), "pad.bin": bytes(4 * 2**20)})
    info = zipfile.ZipFile(archive).getinfo("pad.bin")
    raises_problems(
        lambda: read_labels(archive),
        "set.zip",
        [
            ZIP_BOMB_RATIO.format(
                name="pad.bin",
                ratio=info.file_size / info.compress_size,
                size=info.file_size,
                compressed=info.compress_size,
                limit=MAX_COMPRESSION_RATIO,
            )
        ],
    )


def test_zip_over_the_uncompressed_total_is_rejected(tmp_path):
    files = generic_files()
    archive = write_zip(tmp_path / "set.zip", files)
    total = sum(info.file_size for info in zipfile.ZipFile(archive).infolist())
    raises_problems(
        lambda: read_labels(archive, max_total_bytes=total - 1),
        "set.zip",
        [ZIP_TOO_LARGE.format(total=total, limit=total - 1)],
    )
    raises_problems(
        lambda: import_testset(archive, tmp_path / "dest", max_total_bytes=1000),
        "set.zip",
        [ZIP_TOO_LARGE.format(total=total, limit=1000)],
    )
    assert len(read_labels(archive, max_total_bytes=total)) == len(ROWS)
    assert not (tmp_path / "dest").exists()


def test_zip_with_a_duplicated_entry_is_rejected(tmp_path):
    archive = write_zip(tmp_path / "set.zip", generic_files())
    with (
        pytest.warns(UserWarning, match="Duplicate name"),
        zipfile.ZipFile(archive, "a") as appended,
    ):
        appended.writestr("labels.csv", "id\n")
    raises_problems(
        lambda: read_labels(archive), "set.zip", [ZIP_DUPLICATE_ENTRY.format(name="labels.csv")]
    )


def test_truncated_zip_is_rejected(tmp_path):
    data = write_zip(tmp_path / "full.zip", generic_files()).read_bytes()
    (tmp_path / "set.zip").write_bytes(data[: len(data) // 2])
    raises_single(
        lambda: read_labels(tmp_path / "set.zip"),
        ZIP_CORRUPT.format(file="set.zip", reason="File is not a zip file"),
    )


def test_zip_entry_with_a_bad_crc_is_rejected(tmp_path):
    files = generic_files()
    data = write_zip(tmp_path / "full.zip", files, compression=zipfile.ZIP_STORED).read_bytes()
    labels = str(files["labels.csv"]).encode()
    corrupt = data.replace(labels, labels.replace(b"12.5", b"13.5"), 1)
    assert corrupt != data
    (tmp_path / "set.zip").write_bytes(corrupt)
    raises_single(
        lambda: read_labels(tmp_path / "set.zip"),
        ZIP_ENTRY_CORRUPT.format(
            file="set.zip", name="labels.csv", reason="Bad CRC-32 for file 'labels.csv'"
        ),
    )


# --- Import -------------------------------------------------------------------------------------


def test_import_stores_labels_images_and_report(tmp_path):
    source = write_files(tmp_path / "src", generic_files(image_size=(6, 4)))
    calls: list[tuple[int, int]] = []
    report = import_testset(
        source,
        tmp_path / "ts",
        image_size=(5, 7),
        progress=lambda done, total: calls.append((done, total)),
    )

    images = np.load(tmp_path / "ts" / "images.npy", mmap_mode="r")
    assert isinstance(images, np.memmap)
    assert images.dtype == np.uint8 and images.shape == (5, 5, 7, 3)
    assert sorted(p.name for p in (tmp_path / "ts").iterdir()) == [
        "images.npy",
        "labels.csv",
        "report.json",
    ]
    stored = read_labels(tmp_path / "ts" / "labels.csv")
    assert stored.fingerprint() == read_labels(source).fingerprint() == report.fingerprint
    assert report == ImportReport(
        layout="generic",
        n_items=5,
        fingerprint=report.fingerprint,
        group_sizes=stored.group_sizes(),
        image_size=(5, 7),
        source_image_sizes={"6x4": 5},
        synthetic=False,
    )
    saved = json.loads((tmp_path / "ts" / "report.json").read_text())
    assert saved == report.to_dict()
    assert ImportReport.from_dict(saved) == report
    assert calls[-1] == (5, 5)


def test_import_decodes_to_rgb_and_resizes_every_format(tmp_path):
    rows = [(f"{index}.img", "30", "male", "asian", "happy", "") for index in range(4)]
    files = {
        "labels.csv": csv_text(HEADER, rows),
        "images/0.img": image_bytes((16, 8), color=(255, 0, 0), fmt="PNG"),
        "images/1.img": image_bytes((9, 9), color=(0, 255, 0), fmt="JPEG"),
        "images/2.img": image_bytes((3, 5), color=(77, 0, 0), fmt="PNG", mode="L"),
        "images/3.img": image_bytes((16, 8), color=(0, 0, 255), fmt="PNG", mode="RGB"),
    }
    report = import_testset(
        write_files(tmp_path / "src", files), tmp_path / "ts", image_size=(4, 4)
    )
    images = np.load(tmp_path / "ts" / "images.npy")
    assert images[0].reshape(-1, 3).tolist() == [[255, 0, 0]] * 16
    assert np.abs(images[1].astype(int) - [0, 255, 0]).max() <= 3  # JPEG is lossy
    assert images[2].reshape(-1, 3).tolist() == [[77, 77, 77]] * 16
    assert report.source_image_sizes == {"16x8": 2, "3x5": 1, "9x9": 1}


@pytest.mark.parametrize("as_zip", [False, True])
def test_array_layout_is_copied_exactly_when_sizes_match(tmp_path, as_zip):
    files = array_files()
    source = (
        write_zip(tmp_path / "set.zip", files, root="course/")
        if as_zip
        else write_files(tmp_path / "set", files)
    )
    report = import_testset(source, tmp_path / "ts", image_size=(4, 6))
    np.testing.assert_array_equal(np.load(tmp_path / "ts" / "images.npy"), array_images(5))
    assert report.layout == "array"
    assert report.source_image_sizes == {"6x4": 5}


def test_array_layout_is_resized_when_sizes_differ(tmp_path):
    source = write_files(tmp_path / "set", array_files())
    import_testset(source, tmp_path / "ts", image_size=(2, 3))
    images = np.load(tmp_path / "ts" / "images.npy")
    assert images.shape == (5, 2, 3, 3)
    # Constant images stay constant under any resampling.
    np.testing.assert_array_equal(images[:, 0, 0], array_images(5)[:, 0, 0])


def test_an_imported_set_can_be_imported_again_unchanged(tmp_path):
    import_testset(
        write_files(tmp_path / "src", generic_files()), tmp_path / "a", image_size=(4, 4)
    )
    report = import_testset(tmp_path / "a", tmp_path / "b", image_size=(4, 4))
    assert report.layout == "array"
    labels_a, labels_b = (tmp_path / "a" / "labels.csv"), (tmp_path / "b" / "labels.csv")
    assert labels_a.read_text() == labels_b.read_text()
    np.testing.assert_array_equal(
        np.load(tmp_path / "a" / "images.npy"), np.load(tmp_path / "b" / "images.npy")
    )


def test_appa_import_uses_face_crops_when_every_item_has_one(tmp_path):
    report = import_testset(
        write_zip(tmp_path / "appa.zip", appa_files()), tmp_path / "ts", image_size=(4, 4)
    )
    assert report.layout == "appa-real"
    assert report.source_image_sizes == {"8x8": 3}
    stored = read_labels(tmp_path / "ts")
    assert stored.extras["makeup"].tolist() == ["makeup", "notclear", "nomakeup"]
    assert stored.fingerprint() == report.fingerprint


def test_appa_import_falls_back_to_full_photos_without_face_crops(tmp_path):
    files = appa_files()
    del files["test/005614.jpg_face.jpg"]
    report = import_testset(
        write_files(tmp_path / "appa", files), tmp_path / "ts", image_size=(4, 4)
    )
    assert report.source_image_sizes == {"12x10": 3}


def test_missing_images_are_all_listed(tmp_path):
    files = generic_files()
    del files["images/000002.png"], files["images/000005.jpg"]
    raises_problems(
        lambda: import_testset(write_files(tmp_path / "src", files), tmp_path / "ts"),
        "images/",
        [
            MISSING_IMAGE.format(row=2, id="000002.png", path="images/000002.png"),
            MISSING_IMAGE.format(row=5, id="000005.jpg", path="images/000005.jpg"),
        ],
    )
    assert not (tmp_path / "ts").exists()


def test_missing_appa_images_name_the_full_photo(tmp_path):
    files = appa_files(faces=False)
    del files["test/005615.jpg"]
    raises_problems(
        lambda: import_testset(write_files(tmp_path / "appa", files), tmp_path / "ts"),
        "test/",
        [MISSING_IMAGE.format(row=3, id="005615.jpg", path="test/005615.jpg")],
    )


def test_an_id_that_escapes_the_image_folder_is_rejected(tmp_path):
    rows = with_cell(0, "id", "../../secret.png")
    files = {**generic_files(rows), "secret.png": image_bytes()}
    raises_problems(
        lambda: import_testset(write_files(tmp_path / "src", files), tmp_path / "ts"),
        "images/",
        [UNSAFE_IMAGE_NAME.format(row=1, id="../../secret.png")],
    )


def test_undecodable_image_fails_the_import_and_leaves_nothing_behind(tmp_path):
    files = generic_files()
    files["images/000003.jpg"] = b"this is not a jpeg"
    truncated = image_bytes((64, 64), fmt="PNG")
    files["images/000004.png"] = truncated[: len(truncated) // 2]
    before = sorted(tmp_path.iterdir())
    with pytest.raises(TestSetError) as caught:
        import_testset(write_files(tmp_path / "src", files), tmp_path / "ts")
    assert caught.value.problems[0] == UNDECODABLE_IMAGE.format(
        row=3, id="000003.jpg", path="images/000003.jpg", reason=UNRECOGNISED_IMAGE
    )
    assert caught.value.problems[1].startswith(
        "row 4, id '000004.png': 'images/000004.png' cannot be decoded ("
    )
    assert str(caught.value).startswith("2 problems in images/: ")
    assert sorted(tmp_path.iterdir()) == [*before, tmp_path / "src"]


def test_failed_import_from_a_zip_leaves_nothing_behind(tmp_path):
    files = generic_files()
    files["images/000001.jpg"] = b"\x89PNG broken"
    archive = write_zip(tmp_path / "set.zip", files)
    with pytest.raises(TestSetError):
        import_testset(archive, tmp_path / "out" / "ts")
    assert list((tmp_path / "out").iterdir()) == []


def test_import_never_writes_into_an_existing_destination(tmp_path):
    (tmp_path / "ts").mkdir()
    source = write_files(tmp_path / "src", generic_files())
    raises_single(
        lambda: import_testset(source, tmp_path / "ts"), DEST_EXISTS.format(dest=tmp_path / "ts")
    )
    assert list((tmp_path / "ts").iterdir()) == []


@pytest.mark.parametrize("size", [(0, 4), (4,), (4.0, 4), "224", (True, 4)])
def test_import_rejects_a_bad_image_size(tmp_path, size):
    source = write_files(tmp_path / "src", generic_files())
    raises_single(
        lambda: import_testset(source, tmp_path / "ts", image_size=size),
        BAD_IMAGE_SIZE.format(value=size),
    )


def test_import_needs_images_not_a_bare_labels_file(tmp_path):
    path = labels_file(tmp_path, ROWS)
    raises_single(
        lambda: import_testset(path, tmp_path / "ts"), IMPORT_NEEDS_IMAGES.format(path=path)
    )


def test_images_npy_of_the_wrong_dtype_is_rejected(tmp_path):
    files = array_files(images=array_images(5).astype(np.float32))
    raises_single(
        lambda: import_testset(write_files(tmp_path / "s", files), tmp_path / "ts"),
        NPY_BAD_DTYPE.format(dtype="float32"),
    )
    assert not (tmp_path / "ts").exists()


@pytest.mark.parametrize("shape", [(5, 4, 6), (5, 4, 6, 1), (5, 3, 4, 6)])
def test_images_npy_of_the_wrong_shape_is_rejected(tmp_path, shape):
    files = array_files(images=np.zeros(shape, dtype=np.uint8))
    raises_single(
        lambda: import_testset(write_files(tmp_path / "s", files), tmp_path / "ts"),
        NPY_BAD_SHAPE.format(shape=shape),
    )


def test_images_npy_with_another_row_count_than_the_labels_is_rejected(tmp_path):
    files = array_files(images=array_images(4))
    raises_single(
        lambda: import_testset(write_files(tmp_path / "s", files), tmp_path / "ts"),
        NPY_ROW_MISMATCH.format(n_images=4, labels="labels.csv", n_labels=5),
    )


def test_truncated_images_npy_is_rejected(tmp_path):
    files = array_files()
    files["images.npy"] = files["images.npy"][:-10]
    expected = 5 * 4 * 6 * 3
    raises_single(
        lambda: import_testset(write_zip(tmp_path / "s.zip", files), tmp_path / "ts"),
        NPY_TRUNCATED.format(found=expected - 10, expected=expected, shape=(5, 4, 6, 3)),
    )
    assert not (tmp_path / "ts").exists()


def test_images_npy_that_is_not_npy_is_rejected(tmp_path):
    files = array_files()
    files["images.npy"] = b"PK\x03\x04 definitely not numpy"
    with pytest.raises(TestSetError) as caught:
        import_testset(write_files(tmp_path / "s", files), tmp_path / "ts")
    assert str(caught.value).startswith(NPY_UNREADABLE.format(reason="")[:-1])


# --- TestSet ------------------------------------------------------------------------------------


def small_testset(**changes) -> TestSet:
    columns = {
        "ids": ("a.jpg", "b.jpg", "c.jpg", "d.jpg"),
        "age": [5.0, 25.5, 45.0, 71.25],
        "gender": ["female", "male", "male", "female"],
        "ethnicity": ["asian", "caucasian", "afroamerican", "caucasian"],
        "expression": ["happy", "neutral", "other", "slightlyhappy"],
        "real_age": [6.0, 24.0, np.nan, 70.0],
        "extras": {"makeup": ["x", "y", "z", "w"]},
    }
    columns.update(changes)
    return TestSet(**columns)


def test_fingerprint_is_a_fixed_sha256_of_the_canonical_labels():
    # A literal: stored fingerprints must stay valid across runs, platforms and refactorings.
    assert small_testset().fingerprint() == (
        "sha256:be7a56f73735ac986392c5ed54823bb34c816fa1b69630defb7a0db1942dff1f"
    )
    canonical = json.dumps(
        {
            "format": "fairboard-testset-labels-v1",
            "id": ["a.jpg", "b.jpg", "c.jpg", "d.jpg"],
            "age": [5.0, 25.5, 45.0, 71.25],
            "gender": ["female", "male", "male", "female"],
            "ethnicity": ["asian", "caucasian", "afroamerican", "caucasian"],
            "expression": ["happy", "neutral", "other", "slightlyhappy"],
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    assert (
        small_testset().fingerprint()
        == "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()
    )


@pytest.mark.parametrize(
    "change",
    [
        {"age": [5.0, 25.5, 45.0, 71.0]},
        {"gender": ["male", "male", "male", "female"]},
        {"ids": ("a.jpg", "b.jpg", "c.jpg", "e.jpg")},
        {"expression": ["happy", "neutral", "other", "happy"]},
        {"ethnicity": ["asian", "caucasian", "caucasian", "caucasian"]},
    ],
)
def test_fingerprint_changes_when_a_label_changes(change):
    assert small_testset(**change).fingerprint() != small_testset().fingerprint()


def test_fingerprint_ignores_real_age_extras_and_letter_case():
    base = small_testset().fingerprint()
    assert small_testset(real_age=None, extras={}).fingerprint() == base
    assert small_testset(gender=["FEMALE", "Male", "male", "female"]).fingerprint() == base
    assert small_testset(age=[5, 25.5, 45, 71.25]).fingerprint() == base


def test_fingerprint_depends_on_the_order_of_items():
    testset = small_testset()
    assert testset.subset([1, 0, 2, 3]).fingerprint() != testset.fingerprint()
    assert testset.subset([0, 1, 2, 3]).fingerprint() == testset.fingerprint()


def test_group_sizes_count_every_group_including_empty_ones():
    assert small_testset().group_sizes() == {
        "age": {"0-19": 1, "20-39": 1, "40-59": 1, "60+": 1},
        "gender": {"female": 2, "male": 2},
        "ethnicity": {"asian": 1, "afroamerican": 1, "caucasian": 2},
        "expression": {"happy": 1, "slightlyhappy": 1, "neutral": 1, "other": 1},
    }


def test_group_codes_index_the_attribute_groups_and_are_read_only():
    testset = small_testset()
    assert testset.group_codes("ethnicity").tolist() == [0, 2, 1, 2]
    assert testset.group_codes("age").tolist() == [0, 1, 2, 3]
    assert testset.group_codes("age") is testset.group_codes("age")
    for attribute in ATTRIBUTES:
        codes = testset.group_codes(attribute.name)
        assert codes.dtype == np.intp and not codes.flags.writeable
    with pytest.raises(KeyError):
        testset.group_codes("hair")


def test_columns_are_normalised_and_read_only():
    testset = small_testset(gender=[" Female", "MALE", "male", "female"])
    assert testset.gender.tolist() == ["female", "male", "male", "female"]
    assert testset.age.dtype == np.float64 and not testset.age.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        testset.age[0] = 1.0


def test_construction_validates_every_column():
    raises_problems(
        lambda: small_testset(
            ids=("a", "b", "a", ""),
            gender=["f", "male", "male", "female"],
            age=[1.0, -2.0, np.nan, 3.0],
        ),
        "the test set",
        [
            UNKNOWN_VALUE.format(row=1, column="gender", value="f", expected=GENDER),
            NEGATIVE_NUMBER.format(row=2, column="age", value="-2.0"),
            DUPLICATE_ID.format(row=3, column="id", value="a", first=1),
            NOT_FINITE.format(row=3, column="age", value="nan"),
            EMPTY_ID.format(row=4, column="id"),
        ],
    )


def test_construction_rejects_columns_of_another_length():
    with pytest.raises(TestSetError, match="column 'age' has 3 values but 'id' has 4"):
        small_testset(age=[1.0, 2.0, 3.0])


def test_subset_takes_positions_or_a_mask_with_every_column():
    testset = small_testset()
    part = testset.subset(np.array([3, 1]))
    assert part.ids == ("d.jpg", "b.jpg")
    assert part.age.tolist() == [71.25, 25.5]
    assert part.extras["makeup"].tolist() == ["w", "y"]
    assert part.real_age is not None and part.real_age.tolist() == [70.0, 24.0]
    assert part.group_codes("gender").tolist() == [0, 1]
    masked = testset.subset(np.array([True, False, True, False]))
    assert masked.ids == ("a.jpg", "c.jpg")
    assert len(testset.subset([])) == 0


def test_labels_csv_round_trip_keeps_real_age_and_extras(tmp_path):
    testset = small_testset()
    testset.to_labels_csv(tmp_path / "labels.csv")
    assert (tmp_path / "labels.csv").read_text().splitlines()[:2] == [
        "id,age,gender,ethnicity,expression,real_age,makeup",
        "a.jpg,5.0,female,asian,happy,6,x",
    ]
    again = read_labels(tmp_path / "labels.csv")
    assert again.fingerprint() == testset.fingerprint()
    assert again.real_age is not None
    np.testing.assert_array_equal(again.real_age, testset.real_age)
    assert again.extras["makeup"].tolist() == testset.extras["makeup"].tolist()


ages = st.floats(min_value=0.0, max_value=130.0, allow_nan=False, allow_infinity=False)
labels = st.lists(
    st.tuples(
        ages,
        st.sampled_from(["female", "male"]),
        st.sampled_from(["asian", "afroamerican", "caucasian"]),
        st.sampled_from(["happy", "slightlyhappy", "neutral", "other"]),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(
    items=labels,
    id_text=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=8).filter(
        str.strip
    ),
)
def test_any_test_set_survives_the_labels_csv_round_trip(tmp_path_factory, items, id_text):
    folder = tmp_path_factory.mktemp("roundtrip")
    testset = TestSet(
        ids=tuple(f"{id_text.strip()}{index}" for index in range(len(items))),
        age=[item[0] for item in items],
        gender=[item[1] for item in items],
        ethnicity=[item[2] for item in items],
        expression=[item[3] for item in items],
    )
    testset.to_labels_csv(folder / "labels.csv")
    again = read_labels(folder / "labels.csv")
    assert again.ids == testset.ids
    np.testing.assert_array_equal(again.age, testset.age)
    assert again.fingerprint() == testset.fingerprint()
