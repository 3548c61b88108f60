"""The audit log reads as sentences: no Python reprs, no snake_case, any stored record shown."""

from __future__ import annotations

from app.audit_text import describe, words


def test_a_setting_change_reads_from_and_to_in_words() -> None:
    line = describe(
        "phase.update",
        "lecturer",
        "phase 3",
        {
            "changes": {
                "testset_id": {"from": 1, "to": 2},
                "leaderboard_public": {"from": True, "to": False},
            }
        },
    )

    assert line.sentence == "lecturer changed the settings of phase 3"
    assert line.details == ("test set from 1 to 2", "leaderboard public from yes to no")


def test_a_disqualification_names_the_participant_and_the_reason() -> None:
    line = describe("participant.disqualify", "lecturer", "user bob", {"reason": "shared labels"})

    assert line.sentence == "lecturer disqualified bob"
    assert line.details == ("reason: shared labels",)


def test_values_are_words_never_reprs() -> None:
    assert [words(True), words(None), words(["a", 2]), words({"x_y": False})] == [
        "yes",
        "none",
        "a, 2",
        "x y no",
    ]


def test_an_unknown_action_and_a_deleted_actor_still_render() -> None:
    line = describe("future.thing", None, "phase 9", {"odd": {"nested": None}})

    assert line.sentence == "a deleted user did future.thing on phase 9"
    assert line.details == ("odd: nested none",)
