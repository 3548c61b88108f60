"""Examples for the routes organizers, moderators and teams script (``/docs``); each is a
valid instance of its schema (a test validates them)."""

from __future__ import annotations

from typing import Any

from app.schema_examples import EXAMPLE_PHASE, SCORES, WHEN

EXAMPLE_PASSWORD_CHANGE: dict[str, Any] = {
    "current_password": "a long passphrase of your own",
    "new_password": "another long passphrase, unused elsewhere",
}
EXAMPLE_COMPETITION_IN: dict[str, Any] = {
    "title": "Fair apparent-age estimation",
    "description": "Estimate apparent age, fairly across groups.",
}
EXAMPLE_COMPETITION_PATCH: dict[str, Any] = {
    "team_mode": "optional",
    "max_team_size": 4,
    "terms": "Use the test images for this competition only.",
}
EXAMPLE_PHASE_SETTINGS: dict[str, Any] = {
    "name": "Development",
    "description": "Predict the apparent age of every test image.",
    "testset_id": 1,
    "opens_at": "2026-12-01T00:00:00Z",
    "closes_at": "2027-01-31T23:59:59Z",
    "daily_limit": 5,
    "public_fraction": 0.5,
}
EXAMPLE_ORGANIZER_PHASE: dict[str, Any] = {
    **{key: value for key, value in EXAMPLE_PHASE.items() if key != "quota"},
    "quota": None,
    "competition_id": 1,
    "primary_column": "ranking",
    "split_seed": 1234,
    "private_revealed_at": None,
    "execution_provider": "cpu",
    "model_time_limit_seconds": 600,
    "model_memory_limit_mb": 2048,
    "model_input_size": [224, 224],
    "testset_fingerprint": "sha256:" + "0" * 64,
}
EXAMPLE_TESTSET: dict[str, Any] = {
    "id": 1,
    "name": "FairFace apparent age, test",
    "fingerprint": "sha256:" + "0" * 64,
    "layout": "labels-csv",
    "n_items": 1978,
    "image_size": [224, 224],
    "group_sizes": {"gender": {"female": 989, "male": 989}},
    "source_image_sizes": {"224x224": 1978},
    "is_synthetic": False,
    "created_at": WHEN,
}
EXAMPLE_USERNAME: dict[str, Any] = {"username": "grace"}
EXAMPLE_ORGANIZER: dict[str, Any] = {"username": "grace", "role": "organizer", "added_at": WHEN}
EXAMPLE_AUDIT_ENTRY: dict[str, Any] = {
    "id": 88,
    "created_at": WHEN,
    "actor": "grace",
    "action": "submission.hidden",
    "target": "submission:42",
    "details": {"reason": "submitted twice by mistake"},
}
EXAMPLE_RESCORE_IN: dict[str, Any] = {"testset_id": 2, "include_failed": False}
EXAMPLE_RESCORE: dict[str, Any] = {
    "id": 5,
    "phase_id": 1,
    "created_at": WHEN,
    "actor": "grace",
    "from_testset_id": 1,
    "to_testset_id": 2,
    "from_fingerprint": "sha256:" + "0" * 64,
    "to_fingerprint": "sha256:" + "1" * 64,
    "complete": True,
    "counts": {"rescored": 12, "failed": 0},
    "changes": [{"submission_id": 42, "mae": [5.1234, 5.0981]}],
}
EXAMPLE_KIT: dict[str, Any] = {
    "kind": "starting_kit",
    "filename": "starting-kit.zip",
    "size_bytes": 18342,
    "created_at": WHEN,
    "url": "/api/v1/phases/1/files/starting_kit",
}
EXAMPLE_REASON: dict[str, Any] = {"reason": "submitted twice by mistake"}
EXAMPLE_PARTICIPANT: dict[str, Any] = {
    "username": "ada",
    "joined_at": WHEN,
    "submissions": 9,
    "disqualified": False,
    "disqualified_at": None,
    "disqualified_reason": None,
}
EXAMPLE_MODERATION_SUBMISSION: dict[str, Any] = {
    "id": 42,
    "phase_id": 1,
    "participant": "ada",
    "user_id": 3,
    "kind": "predictions",
    "status": "finished",
    "error": None,
    "description": "resnet50, epoch 12",
    "filename": "predictions.csv",
    "has_file": True,
    "size_bytes": 40213,
    "sha256": "0" * 64,
    "created_at": WHEN,
    "finished_at": WHEN,
    "attempts": 1,
    "is_hidden": False,
    "is_baseline": False,
    "is_chosen": False,
    "disqualified": False,
    "testset_fingerprint": "sha256:" + "0" * 64,
    "execution_provider": None,
    "scores": SCORES,
    "private_scores": SCORES,
}
EXAMPLE_TEAM_IN: dict[str, Any] = {"name": "Group 7"}
EXAMPLE_JOIN_IN: dict[str, Any] = {"accept_terms": True}
EXAMPLE_INVITE: dict[str, Any] = {"invite_code": "k3J9-p2Qx-7LmA"}
EXAMPLE_TEAM: dict[str, Any] = {
    "id": 7,
    "competition_id": 1,
    "name": "Group 7",
    "invite_code": "k3J9-p2Qx-7LmA",
    "members": ["ada", "grace"],
    "captain": "ada",
    "created_at": WHEN,
    "frozen": False,
}
EXAMPLE_SUBMISSION_PATCH: dict[str, Any] = {
    "metadata": {"model": "resnet50", "augmentation": "age", "loss": "weighted-l1"}
}
EXAMPLE_JOINED: dict[str, Any] = {
    "competition_id": 1,
    "joined_at": WHEN,
    "terms_accepted_at": WHEN,
}
