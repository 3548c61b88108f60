"""What the public leaderboard reveals: the Ladder threshold and rounding (issue 13)."""

from __future__ import annotations

import math

import pytest

from scoring.ladder import (
    BAD_DECIMALS,
    BAD_SCORE,
    BAD_THRESHOLD,
    LadderError,
    PublicScorePolicy,
    Revealed,
)


def test_the_first_submission_is_always_revealed() -> None:
    assert PublicScorePolicy(threshold=5.0).reveal(None, 7.25) == Revealed(7.25, True)


def test_the_default_policy_is_the_plain_leaderboard_the_minimum_of_all_scores() -> None:
    policy, best = PublicScorePolicy(), None
    for value in [5.0, 5.2, 4.9, 4.9, 4.95, 4.1]:
        best = policy.reveal(best, value).best
    assert best == 4.1


def test_a_score_is_revealed_only_when_it_beats_the_best_by_more_than_the_threshold() -> None:
    ladder = PublicScorePolicy(threshold=0.1)
    assert ladder.reveal(5.0, 4.95) == Revealed(5.0, False)
    assert ladder.reveal(5.0, 4.9 - 1e-9) == Revealed(4.9 - 1e-9, True)
    assert ladder.reveal(5.0, 5.5) == Revealed(5.0, False)


def test_the_public_best_never_rises_and_is_always_a_score_actually_reached() -> None:
    ladder, best = PublicScorePolicy(threshold=0.05, decimals=2), None
    scores = [4.0 + 0.3 * math.sin(step) - 0.01 * step for step in range(60)]
    shown = []
    for value in scores:
        best = ladder.reveal(best, value).best
        shown.append(best)
    assert shown == sorted(shown, reverse=True)
    assert set(shown) <= {round(value, 2) for value in scores}


def test_rounding_hides_an_improvement_that_does_not_change_the_rounded_score() -> None:
    rounded = PublicScorePolicy(decimals=1)
    assert rounded.reveal(4.0, 3.97) == Revealed(4.0, False)
    assert rounded.reveal(4.0, 3.94) == Revealed(3.9, True)
    assert rounded.shown(3.94) == 3.9


def test_each_score_of_a_row_is_its_own_ladder_and_an_undefined_one_reveals_nothing() -> None:
    policy = PublicScorePolicy(threshold=0.5)
    revealed = policy.reveal_scores(
        {"mae": 5.0, "age_bias": 2.0, "gender_bias": None},
        {"mae": 4.6, "age_bias": 1.0, "gender_bias": None, "ethnicity_bias": 0.7},
    )
    assert revealed == {
        "mae": Revealed(5.0, False),
        "age_bias": Revealed(1.0, True),
        "gender_bias": None,
        "ethnicity_bias": Revealed(0.7, True),
    }
    assert policy.reveal_scores(None, {"mae": None}) == {"mae": None}
    assert policy.reveal_scores({"mae": 3.0}, {"mae": None}) == {"mae": Revealed(3.0, False)}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": -0.1}, BAD_THRESHOLD.format(value="-0.1")),
        ({"threshold": math.inf}, BAD_THRESHOLD.format(value="inf")),
        ({"threshold": True}, BAD_THRESHOLD.format(value="True")),
        ({"decimals": -1}, BAD_DECIMALS.format(value="-1")),
        ({"decimals": 13}, BAD_DECIMALS.format(value="13")),
        ({"decimals": 1.5}, BAD_DECIMALS.format(value="1.5")),
    ],
)
def test_a_bad_policy_is_refused_with_its_message(options: dict[str, object], message: str) -> None:
    with pytest.raises(LadderError) as caught:
        PublicScorePolicy(**options)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("previous", "score", "message"),
    [
        (None, math.nan, BAD_SCORE.format(name="score", value="nan")),
        (4.0, "4.0", BAD_SCORE.format(name="score", value="'4.0'")),
        (math.inf, 4.0, BAD_SCORE.format(name="previous_best", value="inf")),
    ],
)
def test_a_score_that_is_not_a_finite_number_is_refused(
    previous: float | None, score: object, message: str
) -> None:
    with pytest.raises(LadderError) as caught:
        PublicScorePolicy().reveal(previous, score)  # type: ignore[arg-type]
    assert str(caught.value) == message
