"""Examples shown in the OpenAPI reference (``/docs``) for the routes participants script.

Each is a valid instance of its schema (a test validates them), so what the reference shows
is what a client receives.
"""

from __future__ import annotations

from typing import Any

WHEN = "2026-12-02T14:03:11Z"
SCORES = {
    "mae": 5.1234,
    "age_bias": 0.8123,
    "gender_bias": 0.21,
    "ethnicity_bias": 0.54,
    "expression_bias": 0.33,
}

EXAMPLE_REGISTER: dict[str, Any] = {
    "username": "ada",
    "password": "a long passphrase of your own",
    "email": "ada@example.org",
}
EXAMPLE_TOKEN_IN: dict[str, Any] = {
    "username": "ada",
    "password": "a long passphrase of your own",
    "name": "laptop",
}
EXAMPLE_TOKEN: dict[str, Any] = {"token": "fb_" + "x" * 43, "id": 7, "name": "laptop"}
EXAMPLE_TOKEN_INFO: dict[str, Any] = {
    "id": 7,
    "name": "laptop",
    "prefix": "fb_xxxxxxx",
    "created_at": WHEN,
    "last_used_at": None,
    "revoked_at": None,
}
EXAMPLE_USER: dict[str, Any] = {
    "id": 3,
    "username": "ada",
    "role": "participant",
    "created_at": WHEN,
    "is_active": True,
}
EXAMPLE_PHASE: dict[str, Any] = {
    "id": 1,
    "name": "Development",
    "description": "Predict the apparent age of every test image.",
    "opens_at": "2026-12-01T00:00:00Z",
    "closes_at": "2027-01-31T23:59:59Z",
    "is_open": True,
    "daily_limit": 5,
    "total_limit": None,
    "inputs_public": True,
    "leaderboard_public": True,
    "public_fraction": 0.5,
    "private_revealed": False,
    "entry_selection": "best",
    "tie_policy": "dense",
    "submission_kinds": ["predictions", "model"],
    "testset_id": 1,
    "n_items": 1978,
    "input_size": [224, 224],
    "quota": {
        "daily_limit": 5,
        "used_today": 2,
        "remaining_today": 3,
        "total_limit": None,
        "used_total": 9,
        "remaining_total": None,
        "resets_at": "2026-12-03T00:00:00Z",
    },
    "inputs": {
        "archive": {
            "url": "/api/v1/phases/1/inputs",
            "format": "zip",
            "ready": True,
            "bytes": 65_321_408,
            "sha256": "9f2c" + "0" * 56 + "7a1e",
        },
        "array": {
            "url": "/api/v1/phases/1/inputs/array",
            "format": "npz",
            "ready": False,
            "bytes": None,
            "sha256": None,
        },
    },
}
EXAMPLE_COMPETITION: dict[str, Any] = {
    "id": 1,
    "title": "Fair apparent-age estimation",
    "description": "Estimate apparent age, fairly across groups.",
    "created_at": WHEN,
    "joined": True,
    "is_organizer": False,
    "phases": [EXAMPLE_PHASE],
}
EXAMPLE_SUBMISSION: dict[str, Any] = {
    "id": 42,
    "phase_id": 1,
    "participant": None,
    "kind": "predictions",
    "status": "finished",
    "error": None,
    "description": "resnet50, epoch 12",
    "filename": "predictions.csv",
    "created_at": WHEN,
    "started_at": WHEN,
    "finished_at": WHEN,
    "scores": SCORES,
    "groups": {"gender": [{"group": "female", "size": 989, "mae": 5.02}]},
    "split": "public",
    "scorer_version": "1",
    "testset_fingerprint": "sha256:" + "0" * 64,
    "is_chosen": False,
    "preset": "raw",
    "output_scale": 1.0,
}
EXAMPLE_LEADERBOARD_ROW: dict[str, Any] = {
    "position": 1,
    "participant": "ada",
    "entries": 4,
    "last_entry_at": WHEN,
    "ranking": 1.8,
    "submission_id": 42,
    "is_baseline": False,
    **SCORES,
    **{f"{name}_rank": 1.0 for name in SCORES},
}
EXAMPLE_WEBHOOK: dict[str, Any] = {
    "id": 3,
    "url": "https://ci.example.org/fairboard",
    "events": ["submission.finished", "submission.failed"],
    "created_at": WHEN,
}
EXAMPLE_DELIVERY: dict[str, Any] = {
    "id": 12,
    "message_id": "msg_4f1c2a9b8e7d6c5b4a39281f",
    "event_type": "submission.finished",
    "status": "delivered",
    "attempts": 1,
    "next_attempt_at": None,
    "last_response_status": 204,
    "last_error": None,
    "created_at": WHEN,
    "delivered_at": WHEN,
}
