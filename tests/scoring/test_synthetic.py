"""scoring.synthetic: SPEC §2's proportions, determinism, and a recoverable, biased age signal."""

from __future__ import annotations

import inspect
import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from scoring.groups import AGE_BOUNDS, ATTRIBUTES
from scoring.synthetic import (
    AGE_SIGNAL_OFFSET,
    AGE_SIGNAL_SLOPE,
    SPEC_GROUP_COUNTS,
    baseline_predictions,
    largest_remainder,
    make_labels,
    make_testset,
)
from scoring.testset import SYNTHETIC_MARKER, import_testset, read_labels


@pytest.fixture(scope="module")
def synthetic_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 items of 20x20 pixels, seed 0."""
    return make_testset(
        tmp_path_factory.mktemp("synthetic") / "set", n=300, seed=0, image_size=(20, 20)
    )


def decoded(folder: Path) -> np.ndarray:
    labels = read_labels(folder)
    return np.stack([np.asarray(Image.open(folder / "images" / item)) for item in labels.ids])


def mean_pairwise_gap(values: list[float]) -> float:
    pairs = list(itertools.combinations(values, 2))
    return sum(abs(a - b) for a, b in pairs) / len(pairs)


# --- Labels -------------------------------------------------------------------------------------


def test_spec_counts_are_the_course_validation_split():
    assert {name: sum(groups.values()) for name, groups in SPEC_GROUP_COUNTS.items()} == {
        "age": 1482,
        "gender": 1482,
        "ethnicity": 1482,
        "expression": 1482,
    }
    for attribute in ATTRIBUTES:
        assert tuple(SPEC_GROUP_COUNTS[attribute.name]) == attribute.groups


def test_1482_items_have_exactly_the_spec_group_sizes():
    sizes = make_labels(n=1482).group_sizes()
    assert sizes == {name: dict(groups) for name, groups in SPEC_GROUP_COUNTS.items()}


def test_default_size_is_the_course_hidden_test_set_of_1978_items():
    # make_testset writes make_labels' labels (tested below), so its default is checked
    # without writing 1,978 images.
    assert inspect.signature(make_testset).parameters["n"].default == 1978
    assert len(make_labels()) == 1978


@pytest.mark.parametrize("n", [1978, 500, 37, 1])
def test_group_sizes_are_the_spec_proportions_scaled_to_n(n):
    sizes = make_labels(n=n).group_sizes()
    for name, spec in SPEC_GROUP_COUNTS.items():
        assert sum(sizes[name].values()) == n
        for group, count in spec.items():
            assert abs(sizes[name][group] - count * n / 1482) < 1


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.integers(0, 5000), min_size=1, max_size=8).filter(any),
    n=st.integers(0, 10_000),
)
def test_largest_remainder_splits_n_exactly_within_one_of_each_quota(weights, n):
    parts = largest_remainder(weights, n)
    assert sum(parts) == n
    total = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert weight * n / total - 1 < part <= weight * n / total + 1
        assert part >= 0


def test_ids_are_image_file_names_and_ages_lie_in_their_group():
    labels = make_labels(n=400, seed=5)
    assert labels.ids[:3] == ("000001.png", "000002.png", "000003.png")
    assert labels.ids[-1] == "000400.png"
    assert labels.age.min() >= 1.0 and labels.age.max() < 95.0
    np.testing.assert_allclose(np.round(labels.age * 100), labels.age * 100, atol=1e-9)
    assert labels.real_age is not None
    assert np.all(np.abs(labels.real_age - labels.age) <= 4.5)
    assert np.all(labels.real_age == np.round(labels.real_age))
    # Every age group is populated, including the sparse 60+.
    assert min(labels.group_sizes()["age"].values()) > 0
    assert AGE_BOUNDS == (20.0, 40.0, 60.0)


def test_same_seed_gives_the_same_labels_and_another_seed_others():
    assert make_labels(n=100, seed=3).fingerprint() == make_labels(n=100, seed=3).fingerprint()
    assert make_labels(n=100, seed=3).fingerprint() != make_labels(n=100, seed=4).fingerprint()


# --- Files --------------------------------------------------------------------------------------


def test_writes_the_generic_layout_marked_synthetic(synthetic_set):
    assert sorted(path.name for path in synthetic_set.iterdir()) == [
        SYNTHETIC_MARKER,
        "images",
        "labels.csv",
    ]
    assert (synthetic_set / "labels.csv").read_text().splitlines()[0] == (
        "id,age,gender,ethnicity,expression,real_age"
    )
    assert "SYNTHETIC" in (synthetic_set / SYNTHETIC_MARKER).read_text()
    assert "never faces" in (synthetic_set / SYNTHETIC_MARKER).read_text()
    labels = read_labels(synthetic_set)
    assert labels.fingerprint() == make_labels(n=300, seed=0).fingerprint()
    with Image.open(synthetic_set / "images" / labels.ids[0]) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGB", (20, 20))


def test_files_are_deterministic_from_the_seed(tmp_path):
    first = make_testset(tmp_path / "a", n=12, seed=7, image_size=(9, 11))
    second = make_testset(tmp_path / "b", n=12, seed=7, image_size=(9, 11))
    other = make_testset(tmp_path / "c", n=12, seed=8, image_size=(9, 11))
    for name in ["labels.csv", *(f"images/{item}" for item in read_labels(first).ids)]:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert (first / "labels.csv").read_bytes() != (other / "labels.csv").read_bytes()
    assert not np.array_equal(decoded(first), decoded(other))


def test_images_are_patterns_with_an_unclipped_red_channel(synthetic_set):
    images = decoded(synthetic_set)
    assert images.shape == (300, 20, 20, 3) and images.dtype == np.uint8
    red = images[..., 0].reshape(300, -1)
    assert red.min() > 0 and red.max() < 255
    assert np.all(red.std(axis=1) > 2.0)  # a texture, not a flat colour
    assert np.all(images[..., 1].reshape(300, -1).std(axis=1) > 2.0)


def test_output_must_be_new_or_an_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert make_testset(tmp_path / "empty", n=2, image_size=(4, 4)) == tmp_path / "empty"
    with pytest.raises(FileExistsError):
        make_testset(tmp_path / "empty", n=2, image_size=(4, 4))


@pytest.mark.parametrize("arguments", [{"n": 0}, {"n": 3, "image_size": (0, 4)}])
def test_invalid_size_is_rejected(tmp_path, arguments):
    with pytest.raises(ValueError):
        make_testset(tmp_path / "set", **arguments)
    assert not (tmp_path / "set").exists()


# --- The age signal -----------------------------------------------------------------------------


def test_red_mean_is_offset_plus_slope_times_age_plus_unbiased_noise(synthetic_set):
    labels = read_labels(synthetic_set)
    red_mean = decoded(synthetic_set)[..., 0].mean(axis=(1, 2))
    noise_years = (red_mean - AGE_SIGNAL_OFFSET) / AGE_SIGNAL_SLOPE - labels.age
    assert abs(noise_years.mean()) < 0.5
    assert 1.0 < noise_years.std() < 5.0
    assert np.corrcoef(red_mean, labels.age)[0, 1] > 0.98


def test_baseline_recovers_ages_with_a_small_but_nonzero_error(synthetic_set):
    labels = read_labels(synthetic_set)
    errors = np.abs(baseline_predictions(decoded(synthetic_set)) - labels.age)
    assert 0.5 < errors.mean() < 4.0


def test_baseline_errors_differ_between_groups(synthetic_set):
    labels = read_labels(synthetic_set)
    errors = np.abs(baseline_predictions(decoded(synthetic_set)) - labels.age)
    gaps = {}
    for attribute in ATTRIBUTES:
        codes = labels.group_codes(attribute.name)
        gaps[attribute.name] = mean_pairwise_gap(
            [float(errors[codes == code].mean()) for code in np.unique(codes)]
        )
    assert all(gap > 0.0 for gap in gaps.values())
    assert gaps["age"] > 0.5 and gaps["ethnicity"] > 0.5


def test_signal_survives_import_and_resizing(synthetic_set, tmp_path):
    report = import_testset(synthetic_set, tmp_path / "ts", image_size=(7, 13))
    images = np.load(tmp_path / "ts" / "images.npy", mmap_mode="r")
    resized = baseline_predictions(images)
    original = baseline_predictions(decoded(synthetic_set))
    assert np.abs(resized - original).max() < 1.0
    assert report.synthetic and (tmp_path / "ts" / SYNTHETIC_MARKER).is_file()
    assert report.group_sizes == make_labels(n=300, seed=0).group_sizes()


def test_baseline_predictions_reads_the_red_mean_of_each_image():
    images = np.zeros((3, 2, 2, 3), dtype=np.uint8)
    images[..., 0] = np.array([30, 90, 220], dtype=np.uint8)[:, None, None]
    images[..., 1:] = 255
    assert baseline_predictions(images).tolist() == [0.0, 30.0, 95.0]
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        baseline_predictions(images[0])
