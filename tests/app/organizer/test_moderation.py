"""Moderation through the API: listing and filtering, downloading, hiding entries, disqualifying
participants, organizer baselines, and the audit log that records it all."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.services import competitions, moderation
from app.services.submissions import DISQUALIFIED
from tests.app.conftest import World, prediction_csv
from tests.app.organizer.conftest import submit

WORLD_DAILY_LIMIT = 5
"""The daily limit of the world's phase."""


def rows(client: TestClient, world: World) -> list[dict[str, Any]]:
    return list(client.get(f"/api/v1/phases/{world.phase_id}/leaderboard").json())


@pytest.fixture
def crowd(client: TestClient, world: World) -> dict[str, Any]:
    """alice: one failed and one scored submission; bob: one scored submission."""
    alice, bob = world.user("alice"), world.user("bob")
    truth = world.truth()
    failed = client.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("predictions.csv", b"garbage", "text/csv")},
        headers=world.headers(alice),
    )
    assert failed.status_code == 422
    scored = submit(client, world, world.headers(alice), truth.age + 1.0).json()
    bobs = submit(client, world, world.headers(bob), truth.age + 2.0).json()
    return {
        "alice": alice,
        "bob": bob,
        "alice_id": scored["id"],
        "bob_id": bobs["id"],
        "failed_id": failed.json()["details"]["submission_id"],
    }


def test_organizers_list_and_filter_every_submission(
    client: TestClient, world: World, organizer_headers: dict[str, str], crowd: dict[str, Any]
) -> None:
    url = f"/api/v1/phases/{world.phase_id}/submissions"
    everything = client.get(url, headers=organizer_headers)
    assert everything.status_code == 200
    assert [s["id"] for s in everything.json()] == [
        crowd["bob_id"],
        crowd["alice_id"],
        crowd["failed_id"],
    ]
    assert everything.json()[0]["scores"]["mae"] == pytest.approx(2.0)
    by_alice = client.get(url, params={"participant": "Alice"}, headers=organizer_headers).json()
    assert {s["participant"] for s in by_alice} == {"alice"}
    assert len(by_alice) == 2
    failed = client.get(url, params={"status": "failed"}, headers=organizer_headers).json()
    assert [s["id"] for s in failed] == [crowd["failed_id"]]
    assert failed[0]["has_file"] is False
    models = client.get(url, params={"kind": "model"}, headers=organizer_headers).json()
    assert models == []
    wrong = client.get(url, params={"status": "lost"}, headers=organizer_headers)
    assert wrong.status_code == 422
    assert wrong.json()["message"] == moderation.UNKNOWN_FILTER.format(
        field="status", choices="queued, running, finished, failed", value="lost"
    )
    refused = client.get(url, headers=world.headers(crowd["alice"]))
    assert refused.status_code == 403
    assert refused.json()["message"] == competitions.NOT_ORGANIZER


def test_organizers_download_any_submission(
    client: TestClient, world: World, organizer_headers: dict[str, str], crowd: dict[str, Any]
) -> None:
    expected = prediction_csv(world.truth().ids, world.truth().age + 1.0)
    response = client.get(
        f"/api/v1/submissions/{crowd['alice_id']}/file", headers=organizer_headers
    )
    assert response.status_code == 200
    assert response.content == expected
    other = client.get(
        f"/api/v1/submissions/{crowd['alice_id']}/file", headers=world.headers(crowd["bob"])
    )
    assert other.status_code == 404


def test_a_hidden_entry_leaves_the_leaderboard_with_its_reason_logged(
    client: TestClient, world: World, organizer_headers: dict[str, str], crowd: dict[str, Any]
) -> None:
    hide = f"/api/v1/submissions/{crowd['alice_id']}/hide"
    no_reason = client.post(hide, json={"reason": " "}, headers=organizer_headers)
    assert no_reason.status_code == 422
    assert no_reason.json()["message"] == moderation.REASON_REQUIRED
    hidden = client.post(hide, json={"reason": "copied bob's file"}, headers=organizer_headers)
    assert hidden.status_code == 200
    assert hidden.json()["is_hidden"] is True
    assert [r["participant"] for r in rows(client, world)] == ["bob"]
    unhidden = client.post(
        f"/api/v1/submissions/{crowd['alice_id']}/unhide", headers=organizer_headers
    )
    assert unhidden.json()["is_hidden"] is False
    assert [r["participant"] for r in rows(client, world)] == ["alice", "bob"]
    log = client.get(
        f"/api/v1/competitions/{world.competition_id}/audit", headers=organizer_headers
    ).json()
    assert [e["action"] for e in log[:2]] == ["submission.unhide", "submission.hide"]
    assert log[1]["details"]["reason"] == "copied bob's file"
    assert log[1]["actor"] == "lecturer"
    assert log[1]["target"] == f"submission {crowd['alice_id']}"
    assert (
        client.post(hide, json={"reason": "x"}, headers=world.headers(crowd["bob"])).status_code
        == 403
    )


def test_a_disqualified_participant_leaves_every_leaderboard_and_cannot_submit(
    client: TestClient, world: World, organizer_headers: dict[str, str], crowd: dict[str, Any]
) -> None:
    base = f"/api/v1/competitions/{world.competition_id}/participants"
    no_reason = client.post(f"{base}/bob/disqualify", json={}, headers=organizer_headers)
    assert no_reason.status_code == 422
    response = client.post(
        f"{base}/bob/disqualify", json={"reason": "shared test labels"}, headers=organizer_headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["disqualified"] is True
    assert response.json()["disqualified_reason"] == "shared test labels"
    assert [r["participant"] for r in rows(client, world)] == ["alice"]
    refused = submit(client, world, world.headers(crowd["bob"]), world.truth().age)
    assert refused.status_code == 403
    assert refused.json()["message"] == DISQUALIFIED.format(reason="shared test labels")
    again = client.post(
        f"{base}/bob/disqualify", json={"reason": "twice"}, headers=organizer_headers
    )
    assert again.status_code == 409
    listing = {p["username"]: p for p in client.get(base, headers=organizer_headers).json()}
    assert listing["bob"]["disqualified"] is True
    assert listing["alice"]["submissions"] == 2
    requalified = client.post(f"{base}/bob/requalify", headers=organizer_headers)
    assert requalified.json()["disqualified"] is False
    assert [r["participant"] for r in rows(client, world)] == ["alice", "bob"]
    log = client.get(
        f"/api/v1/competitions/{world.competition_id}/audit",
        params={"action": "participant.disqualify"},
        headers=organizer_headers,
    ).json()
    assert [(e["target"], e["details"]["reason"]) for e in log] == [
        ("user bob", "shared test labels")
    ]
    unknown = client.post(
        f"{base}/nobody/disqualify", json={"reason": "x"}, headers=organizer_headers
    )
    assert unknown.status_code == 404
    assert unknown.json()["message"] == moderation.NOT_A_PARTICIPANT.format(username="nobody")


def test_organizer_baselines_are_shown_as_such_and_count_in_no_quota(
    client: TestClient, world: World, organizer_headers: dict[str, str], crowd: dict[str, Any]
) -> None:
    truth = world.truth()
    url = f"/api/v1/phases/{world.phase_id}/baselines"
    content = prediction_csv(truth.ids, [float(truth.age.mean())] * len(truth))
    for _ in range(WORLD_DAILY_LIMIT + 1):
        response = client.post(
            url,
            files={"file": ("mean.csv", content, "text/csv")},
            data={"description": "predict the mean age"},
            headers=organizer_headers,
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "finished"
    board = rows(client, world)
    baselines = [r for r in board if r["is_baseline"]]
    assert {r["participant"] for r in baselines} == {"Baseline: predict the mean age"}
    assert len(baselines) == WORLD_DAILY_LIMIT + 1
    assert {r["participant"] for r in board if not r["is_baseline"]} == {"alice", "bob"}
    missing = client.post(
        url,
        files={"file": ("mean.csv", content, "text/csv")},
        data={"description": " "},
        headers=organizer_headers,
    )
    assert missing.status_code == 422
    assert missing.json()["message"] == moderation.BASELINE_NEEDS_DESCRIPTION
    refused = client.post(
        url,
        files={"file": ("mean.csv", content, "text/csv")},
        data={"description": "mine"},
        headers=world.headers(crowd["alice"]),
    )
    assert refused.status_code == 403
    quota = client.get(f"/api/v1/phases/{world.phase_id}", headers=world.headers(crowd["alice"]))
    assert quota.json()["quota"]["used_today"] == 1
    listed = client.get(
        f"/api/v1/phases/{world.phase_id}/submissions",
        params={"baseline": "true"},
        headers=organizer_headers,
    ).json()
    assert len(listed) == WORLD_DAILY_LIMIT + 1


def test_a_rejected_baseline_keeps_its_failed_record_and_its_audit_row(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    response = client.post(
        f"/api/v1/phases/{world.phase_id}/baselines",
        files={"file": ("mean.csv", b"id,age\nnobody,30\n", "text/csv")},
        data={"description": "a broken baseline"},
        headers=organizer_headers,
    )
    assert response.status_code == 422
    submission_id = response.json()["details"]["submission_id"]
    log = client.get(
        f"/api/v1/competitions/{world.competition_id}/audit", headers=organizer_headers
    ).json()
    assert [(e["action"], e["target"]) for e in log] == [
        ("baseline.add", f"submission {submission_id}")
    ]


def test_the_audit_log_is_for_organizers_only(
    client: TestClient, world: World, crowd: dict[str, Any]
) -> None:
    response = client.get(
        f"/api/v1/competitions/{world.competition_id}/audit", headers=world.headers(crowd["alice"])
    )
    assert response.status_code == 403


def test_every_organizer_action_is_in_the_audit_log(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    competition = client.post(
        "/api/v1/competitions", json={"title": "Audit me"}, headers=organizer_headers
    ).json()
    cid = competition["id"]
    client.patch(
        f"/api/v1/competitions/{cid}", json={"title": "Audited"}, headers=organizer_headers
    )
    phase = client.post(
        f"/api/v1/competitions/{cid}/phases",
        json={"name": "P", "testset_id": world.testset_id, "public_fraction": 0.3},
        headers=organizer_headers,
    ).json()
    client.patch(
        f"/api/v1/phases/{phase['id']}", json={"daily_limit": 2}, headers=organizer_headers
    )
    world.user("assistant", join=False)
    client.post(
        f"/api/v1/competitions/{cid}/organizers",
        json={"username": "assistant"},
        headers=organizer_headers,
    )
    client.put(
        f"/api/v1/phases/{phase['id']}/files/starting_kit",
        files={"file": ("kit.zip", b"kit", "application/zip")},
        headers=organizer_headers,
    )
    client.post(f"/api/v1/phases/{phase['id']}/reveal", headers=organizer_headers)
    log = client.get(f"/api/v1/competitions/{cid}/audit", headers=organizer_headers).json()
    assert [e["action"] for e in reversed(log)] == [
        "competition.create",
        "competition.update",
        "phase.create",
        "phase.update",
        "organizer.add",
        "kit.upload",
        "phase.reveal",
    ]
    assert {e["actor"] for e in log} == {"lecturer"}
    assert log[-1]["details"] == {"title": "Audit me"}
    update = next(e for e in log if e["action"] == "phase.update")
    assert update["details"]["changes"] == {"daily_limit": {"from": 5, "to": 2}}
    assert all(e["created_at"] for e in log)
